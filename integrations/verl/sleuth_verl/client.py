"""A small client of sleuth's environment server (server/env), stdlib only."""

import json
import os
import time
import urllib.error
import urllib.request

DEFAULT_URL = "http://127.0.0.1:8003"


class EnvError(Exception):
    """A request the server refused or failed: status, type and message as
    its JSON error body gives them."""

    def __init__(self, status, typ, message):
        super().__init__(f"{status} {typ}: {message}")
        self.status, self.type, self.message = status, typ, message


class EnvClient:
    """Calls one environment server. Safe to share between threads: every
    call opens its own connection. 503 and 429 answers are retried after
    the server's Retry-After (at most `retries` times), as SkyRL's search
    client retries its retriever."""

    def __init__(self, url=None, api_key=None, timeout=30.0, retries=10):
        self.url = (url or os.environ.get("SLEUTH_ENV_URL") or DEFAULT_URL).rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get("SLEUTH_ENV_KEY", "")
        self.timeout = timeout
        self.retries = retries

    def _request(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = "Bearer " + self.api_key
        for attempt in range(self.retries + 1):
            req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    raw = resp.read()
                    return json.loads(raw) if raw else None
            except urllib.error.HTTPError as e:
                raw = e.read()
                if e.code in (429, 503) and attempt < self.retries:
                    time.sleep(min(float(e.headers.get("Retry-After") or 1), 30.0))
                    continue
                try:
                    err = json.loads(raw)["error"]
                    raise EnvError(e.code, err.get("type", ""), err.get("message", "")) from None
                except (ValueError, KeyError, TypeError):
                    raise EnvError(e.code, "http_error", raw[:200].decode("utf-8", "replace")) from None
        raise EnvError(503, "overloaded", "retries exhausted")

    def create(self, preset, question, answers=None, session_id=None, supporting=None, question_id=None):
        """Opens (or, with the id of an open session, rejoins) an episode."""
        body = {"preset": preset, "question": question, "gold": {"question": question, "answers": list(answers or [])}}
        if supporting:
            body["gold"]["supporting"] = list(supporting)
        if session_id:
            body["id"] = session_id
        if question_id:
            body["question_id"] = question_id
        return self._request("POST", "/env/sessions", body)

    def call(self, session_id, tool, arguments=None, input=None):
        """Runs one tool call: JSON arguments as the policy wrote them, or a
        text input."""
        body = {"tool": tool}
        if arguments is not None:
            body["arguments"] = arguments
        else:
            body["input"] = input
        return self._request("POST", f"/env/sessions/{session_id}/call", body)

    def score(self, session_id=None, solution=None, answer=None, turns=None, preset=None, question=None, answers=None):
        """Scores an episode: a session's (which ends it) or, without one,
        the preset's reward on the solution and gold given."""
        body = {}
        for k, v in (("solution", solution), ("answer", answer), ("turns", turns)):
            if v is not None:
                body[k] = v
        if session_id:
            return self._request("POST", f"/env/sessions/{session_id}/score", body)
        body.update({"preset": preset, "question": question or "", "gold": {"question": question or "", "answers": list(answers or [])}})
        return self._request("POST", "/env/score", body)

    def delete(self, session_id):
        self._request("DELETE", f"/env/sessions/{session_id}")
