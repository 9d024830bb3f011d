"""Stand-in for verl.tools.schemas: the two classes sleuth_verl uses, with
verl's field names, as plain classes instead of pydantic models."""


class _Node:
    def __init__(self, d):
        self._d = d
        for k, v in d.items():
            setattr(self, k, _Node(v) if isinstance(v, dict) else v)

    def model_dump(self, exclude_unset=False, exclude_none=False):
        return self._d


class OpenAIFunctionToolSchema(_Node):
    """{"type": "function", "function": {"name", "description", "parameters"}}."""

    @classmethod
    def model_validate(cls, d):
        if d.get("type") != "function" or not isinstance(d.get("function"), dict) or not d["function"].get("name"):
            raise ValueError(f"not an OpenAI function tool schema: {d!r}")
        if "description" not in d["function"]:
            raise ValueError("function.description is required")
        return cls(d)


class ToolResponse:
    """text, image and video, as verl's ToolResponse (images must be lists)."""

    def __init__(self, text=None, image=None, video=None):
        if image is not None and not isinstance(image, list):
            raise ValueError("Image must be a list")
        if video is not None and not isinstance(video, list):
            raise ValueError("Video must be a list")
        self.text, self.image, self.video = text, image, video
