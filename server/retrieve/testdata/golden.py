# Writes the golden /retrieve bodies exactly as Search-R1's FastAPI server
# would send them: starlette's JSONResponse.render is
# json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None,
# separators=(",", ":")).encode("utf-8").
# Run from this directory: python3 golden.py. The hits mirror goldenHits in
# server_test.go.
import json

def contents(title, text):
    return '"' + title + '"\n' + text if title else text

HITS = [
    [("1", "Paris", "Paris is the capital of France.", 12.345600128173828),
     ("wiki:2", 'Quote "inside" & <tags>', "Line1\nLine2\ttab \\ back\u00e9 \u4e2d\u6587 \u2028 \x01 \x7f \u00a0", 1e-05),
     ("3", "", "no title", 2.0)],
    [("4", "Big", "x", 1e16),
     ("5", "Neg", "y", -0.0001),
     ("6", "Zero", "z", 0.0)],
    [],
]

def render(obj):
    return json.dumps(obj, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode("utf-8")

docs = [[{"id": i, "contents": contents(t, x)} for (i, t, x, _) in q] for q in HITS]
scored = [[{"document": {"id": i, "contents": contents(t, x)}, "score": s} for (i, t, x, s) in q] for q in HITS]
open("golden_scores.json", "wb").write(render({"result": scored}))
open("golden_noscores.json", "wb").write(render({"result": docs}))
