"""verl's custom reward: the preset's reward, computed by sleuth's
environment server with every component.

verl config::

    reward.custom_reward_function.path=<this file>
    reward.custom_reward_function.name=compute_score

The preset comes from ``extra_info["sleuth"]["preset"]`` (``sleuth export
verl`` writes it), else from a ``sleuth/PRESET`` data_source. When the
rollout's session is known (``extra_info`` or ``kwargs`` holding
``sleuth_session``, as the tools leave it in the agent loop's extra
fields) that session is scored, retrieval components included; otherwise
the solution is scored alone, which gives the same answer and format
components.
"""

from sleuth_verl.client import EnvClient  # verl loads this file by path: no relative import

_client = None


def _env():
    global _client
    if _client is None:
        _client = EnvClient()
    return _client


def _preset(data_source, extra_info):
    s = (extra_info or {}).get("sleuth") or {}
    if s.get("preset"):
        return s["preset"]
    if isinstance(data_source, str) and data_source.startswith("sleuth/"):
        return data_source.split("/", 1)[1]
    return "searchr1"


def compute_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    """Returns {"score": total, <component>: value, ...} (verl logs the
    extra keys)."""
    extra_info = extra_info or {}
    answers = ground_truth.get("target", []) if isinstance(ground_truth, dict) else list(ground_truth or [])
    if not isinstance(answers, (list, tuple)):
        answers = list(answers)  # numpy arrays out of Parquet
    question = (extra_info.get("sleuth") or {}).get("question", "")
    session = kwargs.get("sleuth_session") or extra_info.get("sleuth_session")
    if session:
        out = _env().score(session_id=session, solution=solution_str)
    else:
        out = _env().score(solution=solution_str, preset=_preset(data_source, extra_info), question=question,
                           answers=[str(a) for a in answers])
    result = {"score": out["total"]}
    for c in out.get("components") or []:
        result[c["name"]] = c["value"]
    result["format_errors"] = out.get("format_errors", 0)
    return result
