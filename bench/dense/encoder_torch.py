#!/usr/bin/python3
"""PyTorch CPU forward of a BERT-base-shaped encoder (12 layers, H=768,
I=3072, 12 heads; random weights) on 8 sequences of 128 tokens and on 64
of 16 (query-sized), the shapes `go test -bench BERTBase
./search/dense/bert` times. Prints tokens/s on one thread and on every
core, by wall time and per second of this process's CPU time (the steadier
figure on a shared machine). Debian: apt-get install python3-torch.
Usage: encoder_torch.py [--shapes 8x128,64x16] [--repeats 3]
"""
import argparse
import math
import time

import torch

torch.manual_seed(0)
H, I, NH, L = 768, 3072, 12, 12
r = lambda *s: torch.randn(*s) * 0.02
emb = r(30522, H)
pos = r(512, H)
layers = [dict(q=(r(H, H), r(H)), k=(r(H, H), r(H)), v=(r(H, H), r(H)), o=(r(H, H), r(H)),
               ln1=(1 + r(H), r(H)), up=(r(I, H), r(I)), down=(r(H, I), r(H)), ln2=(1 + r(H), r(H))) for _ in range(L)]
lin = lambda x, wb: torch.nn.functional.linear(x, wb[0], wb[1])
ln = lambda x, wb: torch.nn.functional.layer_norm(x, (H,), wb[0], wb[1], eps=1e-12)


def forward(ids):
    B, T = ids.shape
    x = emb[ids] + pos[:T]
    hd = H // NH
    for p in layers:
        q, k, v = (lin(x, p[n]).view(B, T, NH, hd).transpose(1, 2) for n in "qkv")
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd), dim=-1) @ v
        x = ln(x + lin(a.transpose(1, 2).reshape(B, T, H), p["o"]), p["ln1"])
        x = ln(x + lin(torch.nn.functional.gelu(lin(x, p["up"])), p["down"]), p["ln2"])
    return x


ap = argparse.ArgumentParser()
ap.add_argument("--shapes", default="8x128,64x16")
ap.add_argument("--repeats", type=int, default=3)
a = ap.parse_args()
import os

for shape in a.shapes.split(","):
    B, T = (int(x) for x in shape.split("x"))
    ids = (torch.arange(T) + 1000).repeat(B, 1)
    for threads in [1, os.cpu_count()]:
        torch.set_num_threads(threads)
        with torch.no_grad():
            forward(ids)
            best, best_cpu = float("inf"), float("inf")
            for _ in range(a.repeats):
                t0, c0 = time.perf_counter(), time.process_time()
                forward(ids)
                best = min(best, time.perf_counter() - t0)
                best_cpu = min(best_cpu, time.process_time() - c0)
        print(f"torch {torch.__version__}, batch {B}x{T}, {threads} thread(s): {B * T / best:.0f} tokens/s, "
              f"{B * T / best_cpu:.0f} tokens per CPU second (best of {a.repeats})", flush=True)
