"""Drives whole episodes through sleuth_verl as verl's ToolAgentLoop does,
with a scripted policy in place of the model, against a live
`sleuth serve --env`. Standard library only.

    python3 drive_episodes.py --rows rows.jsonl --tools tools.json --out results.jsonl

rows.jsonl: verl rows (as `sleuth export verl` writes them, read back as
JSON); tools.json: the tool-config YAML as JSON. Each output line is one
episode: id, the policy's answer, compute_score's result, and checks.
"""

import argparse
import asyncio
import importlib
import json
import os
import re
import sys
from uuid import uuid4

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "standin"))
sys.path.insert(0, os.path.dirname(HERE))

from verl.tools.schemas import OpenAIFunctionToolSchema  # noqa: E402  (the stand-in)

from sleuth_verl.reward import compute_score  # noqa: E402

TOOL_CALL = re.compile(r"<tool_call>\s*(\{.*?\})\s*</tool_call>", re.S)
DOC_TITLE = re.compile(r"Doc (\d+)\(Title: ([^)]*)\)")


class AgentData:
    """The fields of verl's AgentData that tools read."""

    def __init__(self, messages, request_id, tools_kwargs):
        self.messages, self.request_id, self.tools_kwargs = messages, request_id, tools_kwargs
        self.extra_fields = {}


def load_tools(config):
    """verl's initialize_tools_from_config, for native tools."""
    tools = {}
    for t in config["tools"]:
        module, _, cls = t["class_name"].rpartition(".")
        klass = getattr(importlib.import_module(module), cls)
        schema = OpenAIFunctionToolSchema.model_validate(t["tool_schema"])
        tool = klass(config=t.get("config", {}), tool_schema=schema)
        tools[tool.name] = tool
    return tools


def policy(question, observations, tool_name, searches):
    """A scripted policy: searches `searches` times (the question, then the
    title of the last observation's first document), then answers with
    the title of the first document of the last observation."""
    if len(observations) < searches:
        q = question if not observations else DOC_TITLE.search(observations[-1]).group(2)
        call = json.dumps({"name": tool_name, "arguments": {"query": q}})
        return f"<think>I should search.</think>\n<tool_call>\n{call}\n</tool_call>"
    m = DOC_TITLE.search(observations[-1]) if observations else None
    answer = m.group(2) if m else "unknown"
    return f"<think>The first document names it.</think>\n<answer> {answer} </answer>"


async def call_tool(tools, name, args, agent_data):
    """ToolAgentLoop._call_tool: create, execute, release for every call."""
    tool = tools[name]
    kwargs = agent_data.tools_kwargs.get(name, {})
    instance_id = None
    try:
        instance_id, _ = await tool.create(create_kwargs=kwargs.get("create_kwargs", {}))
        resp, reward, _ = await tool.execute(instance_id, args, agent_data=agent_data)
        return resp.text, reward
    finally:
        if instance_id:
            await tool.release(instance_id)


async def episode(row, tools, tool_name, searches, by_session):
    extra = row["extra_info"]
    agent_data = AgentData(list(row["prompt"]), uuid4().hex, extra["tools_kwargs"])
    question = extra["question"]
    response, observations = "", []
    for _ in range(searches + 1):
        text = policy(question, observations, tool_name, searches)
        response += text + "<|im_end|>\n"
        agent_data.messages.append({"role": "assistant", "content": text})
        calls = TOOL_CALL.findall(text)
        if not calls:
            break
        for c in calls:
            call = json.loads(c)
            obs, _ = await call_tool(tools, call["name"], call["arguments"], agent_data)
            observations.append(obs)
            agent_data.messages.append({"role": "tool", "content": obs})
            # Qwen2.5's chat template renders a tool message so.
            response += f"<|im_start|>user\n<tool_response>\n{obs}\n</tool_response><|im_end|>\n<|im_start|>assistant\n"
    kw = {"sleuth_session": agent_data.extra_fields.get("sleuth_session")} if by_session else {}
    loop = asyncio.get_running_loop()
    score = await loop.run_in_executor(None, lambda: compute_score(
        row["data_source"], response, row["reward_model"]["ground_truth"], extra_info=extra, **kw))
    answer = re.findall(r"<answer>(.*?)</answer>", response, re.S)[-1].strip()
    numbers = [int(n) for o in observations for n, _ in DOC_TITLE.findall(o)]
    return {"id": row["id"], "answer": answer, "score": score, "searches": len(observations),
            "session": agent_data.extra_fields.get("sleuth_session"), "request_id": agent_data.request_id,
            "doc_numbers": numbers}


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", required=True)
    ap.add_argument("--tools", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--concurrency", type=int, default=16)
    a = ap.parse_args()
    with open(a.rows) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    with open(a.tools) as f:
        tools = load_tools(json.load(f))
    tool_name = next(iter(tools))
    sem = asyncio.Semaphore(a.concurrency)

    async def one(i, row):
        async with sem:
            return await episode(row, tools, tool_name, searches=1 + i % 2, by_session=i % 3 == 0)

    results = await asyncio.gather(*(one(i, r) for i, r in enumerate(rows)))
    with open(a.out, "w") as f:
        for r in results:
            f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
