"""verl tools that run in sleuth's environment server.

Each tool is a verl ``BaseTool``; its name (the tool schema's function
name) is what the policy calls and what the server runs, mapped by the
preset's ``tool_names`` (DeepResearcher's ``web_search`` is sleuth's
``search``).

verl's ToolAgentLoop calls create -> execute -> release for every tool
call, so nothing of an episode may live in the tool instance. The
episode lives in the server, keyed by the trajectory: verl's
``agent_data.request_id`` (one per rollout, not per dataset row, so the
n samples of one prompt are separate episodes), or ``session_id`` in the
row's ``create_kwargs`` when a caller pins one. The first call of a
trajectory opens the session from ``create_kwargs`` (preset, question,
gold answers, as ``sleuth export verl`` writes them); later creates with
the same id rejoin it. ``release`` forgets only the local instance: the
session ends when ``compute_score`` scores it, or after the server's TTL.
The session id is left in ``agent_data.extra_fields["sleuth_session"]``.
"""

import asyncio
import logging
from uuid import uuid4

from verl.tools.base_tool import BaseTool
from verl.tools.schemas import OpenAIFunctionToolSchema, ToolResponse

from .client import EnvClient, EnvError

logger = logging.getLogger(__name__)

SESSION_FIELD = "sleuth_session"


class SleuthTool(BaseTool):
    """A sleuth tool. Config keys (the tool-config YAML's ``config``):
    ``url`` (default $SLEUTH_ENV_URL), ``timeout`` (seconds, default 30),
    ``preset`` (default for rows whose create_kwargs name none)."""

    default_schema = None

    def __init__(self, config: dict, tool_schema: OpenAIFunctionToolSchema = None):
        config = dict(config or {})
        if tool_schema is None and self.default_schema is not None:
            tool_schema = OpenAIFunctionToolSchema.model_validate(self.default_schema)
        super().__init__(config, tool_schema)
        self.client = EnvClient(url=config.get("url"), timeout=float(config.get("timeout", 30)))
        self.preset = config.get("preset", "searchr1")
        self._instances = {}

    async def create(self, instance_id=None, **kwargs):
        if instance_id is None:
            instance_id = str(uuid4())
        # verl passes the row's tools_kwargs[name]["create_kwargs"] as the
        # keyword create_kwargs; accept them spread out as well.
        self._instances[instance_id] = dict(kwargs.get("create_kwargs") or kwargs)
        return instance_id, ToolResponse()

    def _session_id(self, instance_id, kw, agent_data):
        if kw.get("session_id"):
            return str(kw["session_id"])
        rid = getattr(agent_data, "request_id", None)
        return str(rid) if rid else instance_id

    async def execute(self, instance_id, parameters, **kwargs):
        kw = self._instances.get(instance_id, {})
        agent_data = kwargs.get("agent_data")
        sid = self._session_id(instance_id, kw, agent_data)
        gold = kw.get("ground_truth") or {}
        answers = gold.get("target", []) if isinstance(gold, dict) else list(gold)
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(None, lambda: self.client.create(
                kw.get("preset", self.preset), kw.get("question", ""), answers=answers, session_id=sid,
                question_id=kw.get("question_id")))
            out = await loop.run_in_executor(None, lambda: self.client.call(sid, self.name, arguments=dict(parameters or {})))
        except EnvError as e:
            # A spent budget or a malformed call is the policy's to read;
            # verl turns other exceptions into the same kind of message.
            if e.status in (400, 409):
                return ToolResponse(text=e.message), 0.0, {"error": e.type}
            raise
        if agent_data is not None and hasattr(agent_data, "extra_fields"):
            agent_data.extra_fields[SESSION_FIELD] = sid
        ledger = out.get("ledger", {})
        return ToolResponse(text=out["text"]), 0.0, {"searches": ledger.get("searches", 0), "tool_calls": ledger.get("tool_calls", 0)}

    async def calc_reward(self, instance_id, **kwargs):
        return 0.0

    async def release(self, instance_id, **kwargs):
        self._instances.pop(instance_id, None)


def _schema(name, description, properties, required):
    return {"type": "function", "function": {"name": name, "description": description,
            "parameters": {"type": "object", "properties": properties, "required": required}}}


class SearchTool(SleuthTool):
    """sleuth's search over the server's index (Search-R1's retriever)."""

    default_schema = _schema("search", "Searches the corpus and returns the top passages.",
                             {"query": {"type": "string", "description": "what to search for"}}, ["query"])


class BrowseTool(SleuthTool):
    """Reads web pages with sleuth's browsing sub-agent (DeepResearcher's
    browse_webpage); the server needs a browse tool for the preset."""

    default_schema = _schema("browse_webpage", "Reads web pages and returns notes on the goal.",
                             {"url_list": {"type": "array", "items": {"type": "string"}}, "goal": {"type": "string"}}, ["url_list"])


class CropTool(SleuthTool):
    """VRAG's crop of the last page shown, the box as "x1,y1,x2,y2"."""

    default_schema = _schema("crop", "Crops and zooms a region of the last page shown.",
                             {"query": {"type": "string", "description": "the box: left,top,right,bottom"}}, ["query"])
