#!/usr/bin/python3
"""Writes a small random BERT (config.json, model.safetensors, vocab.txt) and
reference outputs of an independent forward in PyTorch (reference.json):
the last hidden states, mean-pooled and CLS-pooled vectors for a few
token-id sequences. Debian: apt-get install python3-torch.

    /usr/bin/python3 search/dense/bert/testdata/gen_reference.py search/dense/bert/testdata/tiny
"""
import json
import math
import os
import struct
import sys

import torch

out = sys.argv[1] if len(sys.argv) > 1 else "tiny"
os.makedirs(out, exist_ok=True)
torch.manual_seed(21)
cfg = dict(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
           intermediate_size=48, max_position_embeddings=40, type_vocab_size=2,
           layer_norm_eps=1e-12, hidden_act="gelu", model_type="bert")
V, H, L, NH, I, P = (cfg[k] for k in ["vocab_size", "hidden_size", "num_hidden_layers",
                                      "num_attention_heads", "intermediate_size", "max_position_embeddings"])
W = {}


def rnd(*shape, scale=0.3):
    return torch.randn(*shape) * scale


W["embeddings.word_embeddings.weight"] = rnd(V, H, scale=1.0)
W["embeddings.position_embeddings.weight"] = rnd(P, H, scale=0.5)
W["embeddings.token_type_embeddings.weight"] = rnd(2, H, scale=0.5)
W["embeddings.LayerNorm.weight"] = 1 + rnd(H, scale=0.2)
W["embeddings.LayerNorm.bias"] = rnd(H, scale=0.1)
for l in range(L):
    p = f"encoder.layer.{l}."
    for n in ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"]:
        W[p + n + ".weight"] = rnd(H, H, scale=1 / math.sqrt(H))
        W[p + n + ".bias"] = rnd(H, scale=0.1)
    W[p + "intermediate.dense.weight"] = rnd(I, H, scale=1 / math.sqrt(H))
    W[p + "intermediate.dense.bias"] = rnd(I, scale=0.1)
    W[p + "output.dense.weight"] = rnd(H, I, scale=1 / math.sqrt(I))
    W[p + "output.dense.bias"] = rnd(H, scale=0.1)
    for n in ["attention.output.LayerNorm", "output.LayerNorm"]:
        W[p + n + ".weight"] = 1 + rnd(H, scale=0.2)
        W[p + n + ".bias"] = rnd(H, scale=0.1)


def save_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        b = tensors[name].contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def forward(ids):
    """BertModel's forward, written out: post-LN blocks, erf GELU."""
    ids = torch.tensor(ids)
    T = len(ids)
    ln = lambda x, n: torch.nn.functional.layer_norm(x, (H,), W[n + ".weight"], W[n + ".bias"], eps=cfg["layer_norm_eps"])
    lin = lambda x, n: x @ W[n + ".weight"].T + W[n + ".bias"]
    x = W["embeddings.word_embeddings.weight"][ids] + W["embeddings.position_embeddings.weight"][:T] + W["embeddings.token_type_embeddings.weight"][0]
    x = ln(x, "embeddings.LayerNorm")
    hd = H // NH
    for l in range(L):
        p = f"encoder.layer.{l}."
        q = lin(x, p + "attention.self.query").view(T, NH, hd).transpose(0, 1)
        k = lin(x, p + "attention.self.key").view(T, NH, hd).transpose(0, 1)
        v = lin(x, p + "attention.self.value").view(T, NH, hd).transpose(0, 1)
        a = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(hd), dim=-1) @ v
        a = a.transpose(0, 1).reshape(T, H)
        x = ln(x + lin(a, p + "attention.output.dense"), p + "attention.output.LayerNorm")
        u = torch.nn.functional.gelu(lin(x, p + "intermediate.dense"))
        x = ln(x + lin(u, p + "output.dense"), p + "output.LayerNorm")
    return x


specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
words = ["query", ":", "passage", "the", "capital", "of", "france", "is", "paris", "who", "wrote", "hamlet",
         "##s", "##ing", "play", "un", "##aff", "##able", "a", ".", ",", "?", "é", "cafe", "berlin"]
vocab = specials + words + [f"[unused{i}]" for i in range(V - len(specials) - len(words))]
with open(os.path.join(out, "vocab.txt"), "w") as f:
    f.write("\n".join(vocab) + "\n")
with open(os.path.join(out, "config.json"), "w") as f:
    json.dump(cfg, f, indent=2)
save_safetensors(os.path.join(out, "model.safetensors"), W)

seqs = [[2, 3], [2, 5, 6, 7, 8, 9, 10, 11, 12, 3], [2] + list(range(5, 5 + 30)) + [3], [2, 1, 1, 63, 0, 3]]
ref = []
with torch.no_grad():
    for s in seqs:
        hs = forward(s)
        ref.append({"ids": s, "hidden": hs.flatten().tolist(), "mean": hs.mean(0).tolist(), "cls": hs[0].tolist()})
with open(os.path.join(out, "reference.json"), "w") as f:
    json.dump({"torch": torch.__version__, "sequences": ref}, f)
print("wrote", out)
