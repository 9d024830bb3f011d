#!/usr/bin/python3
"""FAISS (flat, HNSW) and hnswlib on the vectors `sleuth bench dense --export DIR` wrote.

Reads DIR/base.f32, DIR/queries.f32 and DIR/meta.json; ground truth is FAISS
IndexFlatIP (exact inner product). Query timings are single-threaded; builds
use every core. For each graph index it reports recall@k and queries/s at
every efSearch of the sweep, and the smallest efSearch reaching the target
recall. Memory is the growth of this process's resident set while the index
is built and held (Linux).

Debian: apt-get install python3-faiss python3-hnswlib python3-numpy
Usage:  python3 bench/dense/peers.py DIR [--target 0.95] [--json]
"""
import argparse
import json
import os
import time

import numpy as np


def rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def recall(gt, got, k):
    hit = 0
    for g, r in zip(gt, got):
        hit += len(set(g[:k]) & set(r[:k]))
    return hit / (k * len(gt))


def drop_self(ids, k, self_excluded):
    if not self_excluded:
        return [list(r[:k]) for r in ids]
    return [[d for d in r if d != i][:k] for i, r in enumerate(ids)]


def timed(fn, n):
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, n / (time.perf_counter() - w0), n / (time.process_time() - c0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--target", type=float, default=0.95)
    ap.add_argument("--efs", default="10,16,24,32,48,64,96,128,192,256,384,512")
    ap.add_argument("--engines", default="flat,faiss-hnsw,hnswlib")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    meta = json.load(open(os.path.join(a.dir, "meta.json")))
    d, k, self_ex = meta["dim"], meta["k"], meta["self_excluded"]
    xb = np.fromfile(os.path.join(a.dir, "base.f32"), dtype="<f4").reshape(-1, d)
    xq = np.fromfile(os.path.join(a.dir, "queries.f32"), dtype="<f4").reshape(-1, d)
    kq = k + 1 if self_ex else k
    efs = [int(x) for x in a.efs.split(",")]
    engines = a.engines.split(",")
    import faiss

    report = {"vectors": len(xb), "dim": d, "queries": len(xq), "k": k, "faiss": faiss.__version__, "engines": {}}
    flat_bytes = xb.nbytes

    faiss.omp_set_num_threads(1)
    r0 = rss()
    flat = faiss.IndexFlatIP(d)
    flat.add(xb)
    mem = rss() - r0
    (_, ids), qps, qps_cpu = timed(lambda: flat.search(xq, kq), len(xq))
    gt = drop_self(ids.tolist(), k, self_ex)
    report["engines"]["faiss-flat"] = {"qps": qps, "qps_cpu": qps_cpu, "recall": 1.0, "rss_growth_bytes": mem, "flat_bytes": flat_bytes}
    del flat

    def sweep(name, build, search, set_ef):
        r0 = rss()
        t0 = time.perf_counter()
        idx = build()
        bt = time.perf_counter() - t0
        mem = rss() - r0
        runs = []
        for ef in efs:
            if ef < kq:
                continue
            set_ef(idx, ef)
            search(idx)  # warm
            ids, qps, qps_cpu = timed(lambda: search(idx), len(xq))
            runs.append({"ef": ef, "recall": recall(gt, drop_self(ids, k, self_ex), k), "qps": qps, "qps_cpu": qps_cpu})
        at = next((r for r in runs if r["recall"] >= a.target), None)
        report["engines"][name] = {"build_seconds": bt, "rss_growth_bytes": mem, "runs": runs, "at_target": at}

    if "faiss-hnsw" in engines:
        def build_fh():
            faiss.omp_set_num_threads(os.cpu_count())
            idx = faiss.IndexHNSWFlat(d, 32, faiss.METRIC_INNER_PRODUCT)
            idx.add(xb)
            faiss.omp_set_num_threads(1)
            return idx

        def set_fh(idx, ef):
            idx.hnsw.efSearch = ef

        sweep("faiss-hnsw (M=32)", build_fh, lambda idx: idx.search(xq, kq)[1].tolist(), set_fh)
    if "hnswlib" in engines:
        import hnswlib

        def build_hl():
            idx = hnswlib.Index(space="ip", dim=d)
            idx.init_index(max_elements=len(xb))  # defaults: M=16, ef_construction=200
            idx.add_items(xb, num_threads=os.cpu_count())
            return idx

        def set_hl(idx, ef):
            idx.set_ef(ef)

        sweep("hnswlib (M=16, efc=200)", build_hl, lambda idx: idx.knn_query(xq, k=kq, num_threads=1)[0].tolist(), set_hl)

    if a.json:
        print(json.dumps(report))
        return
    print(f"{report['vectors']} vectors x {d}, {len(xq)} queries, top-{k}, faiss {report['faiss']}; target recall {a.target}")
    f = report["engines"]["faiss-flat"]
    print(f"faiss flat (exact)      {f['qps']:.1f} q/s single thread ({f['qps_cpu']:.1f} q/s of CPU), RSS +{f['rss_growth_bytes']/1e6:.1f} MB")
    for name, e in report["engines"].items():
        if name == "faiss-flat":
            continue
        print(f"{name}: built in {e['build_seconds']:.1f} s, RSS +{e['rss_growth_bytes']/1e6:.1f} MB")
        for r in e["runs"]:
            print(f"   ef {r['ef']:<4} recall@{k} {r['recall']:.4f}  {r['qps']:.0f} q/s ({r['qps_cpu']:.0f} q/s of CPU)")
        at = e["at_target"]
        print(f"   at recall >= {a.target}: " + (f"ef {at['ef']}, {at['qps']:.0f} q/s" if at else "not reached"))


if __name__ == "__main__":
    main()
