#!/usr/bin/python3
"""FAISS (flat, HNSW) and hnswlib on the vectors `sleuth bench dense --export DIR` wrote.

Reads DIR/base.f32 (memory-mapped), DIR/queries.f32 and DIR/meta.json. The
ground truth is exact inner product, computed once in chunks of the base
(so it never holds a second copy of it) and cached in DIR/gt.npy. Query
timings are single-threaded; builds use --threads. For each graph index it
reports recall@k and queries/s at every efSearch of the sweep, and the
smallest efSearch reaching the target recall.

Memory is the growth of this process's anonymous resident set while the
index is built or loaded and held (Linux RssAnon): the base vectors are a
file mapping, so their pages are not counted.

At 1M vectors run each engine in its own process (--engines flat, then
--engines hnswlib, ...) so that only one index is in memory at a time. A
graph build is checkpointed every --chunk vectors to DIR/<engine>.index
(plus a .json beside it with the vectors added and the seconds spent), so
a crash or a kill costs at most one chunk; a finished index is loaded, not
rebuilt. FAISS flat is timed on the first --flat-queries queries (its
recall is 1 by definition), which keeps it to minutes at 1M.

Debian: apt-get install python3-faiss python3-hnswlib python3-numpy
Usage:  python3 bench/dense/peers.py DIR [--engines flat,hnswlib,faiss-hnsw]
        [--target 0.95] [--threads 2] [--flat-queries N] [--json]
"""
import argparse
import json
import os
import time

import numpy as np


def proc_status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def rss_anon():
    return proc_status("RssAnon")


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


def ground_truth(faiss, path, xb, xq, kq, threads):
    """Exact top-kq ids by inner product, cached at path."""
    if os.path.exists(path):
        gt = np.load(path)
        if gt.shape == (len(xq), kq):
            return gt
    faiss.omp_set_num_threads(threads)
    d = xb.shape[1]
    best_s = np.full((len(xq), kq), -np.inf, dtype=np.float32)
    best_i = np.full((len(xq), kq), -1, dtype=np.int64)
    chunk = 100_000
    for start in range(0, len(xb), chunk):
        part = faiss.IndexFlatIP(d)
        part.add(np.ascontiguousarray(xb[start : start + chunk]))
        s, i = part.search(xq, kq)
        s_all = np.concatenate([best_s, s], axis=1)
        i_all = np.concatenate([best_i, i + start], axis=1)
        # Stable sort on -score keeps the lower id first on ties, as exact
        # search does.
        order = np.argsort(-s_all, axis=1, kind="stable")[:, :kq]
        best_s = np.take_along_axis(s_all, order, axis=1)
        best_i = np.take_along_axis(i_all, order, axis=1)
    np.save(path, best_i)
    return best_i


def checkpointed(path, n, make, load, add, save, chunk, log):
    """Builds a graph index in chunks of the base, saving after each, and
    resumes from the last save. Returns (index, build seconds)."""
    state_path = path + ".json"
    done, secs = 0, 0.0
    idx = None
    if os.path.exists(path) and os.path.exists(state_path):
        st = json.load(open(state_path))
        # A checkpoint of a longer build that holds exactly n vectors is a
        # finished index of this base when the base is that build's prefix
        # (`sleuth bench dense` draws a smaller --n as the prefix of a
        # larger one's stream).
        if st.get("n") == n or st.get("added") == n:
            idx = load(path)
            done, secs = st["added"], st["build_seconds"]
            log(f"{os.path.basename(path)}: resumed at {done} of {n} vectors ({secs:.0f} s of build so far)")
    if idx is None:
        idx = make()
    while done < n:
        end = min(n, done + chunk)
        t0 = time.perf_counter()
        add(idx, done, end)
        secs += time.perf_counter() - t0
        done = end
        save(idx, path + ".tmp")
        os.replace(path + ".tmp", path)
        with open(state_path + ".tmp", "w") as f:
            json.dump({"n": n, "added": done, "build_seconds": secs}, f)
        os.replace(state_path + ".tmp", state_path)
        log(f"{os.path.basename(path)}: {done} of {n} vectors, {secs:.0f} s of build")
    return idx, secs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--target", type=float, default=0.95)
    ap.add_argument("--efs", default="10,16,24,32,48,64,96,128,192,256,384,512")
    ap.add_argument("--engines", default="flat,faiss-hnsw,hnswlib")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for builds and the ground truth")
    ap.add_argument("--flat-queries", type=int, default=0, help="time FAISS flat on this many queries (0: all)")
    ap.add_argument("--queries", type=int, default=0, help="use only the first N queries (0: all)")
    ap.add_argument("--chunk", type=int, default=200_000, help="vectors added between checkpoints of a graph build")
    ap.add_argument("--build-only", action="store_true",
                    help="build (or finish) the graph indexes and stop: needs only base.f32 and --dim, so it can start before the export's queries exist")
    ap.add_argument("--dim", type=int, default=0, help="dimension when meta.json is not written yet (--build-only)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    log = lambda m: print(f"[{time.strftime('%H:%M:%S')}] {m}", flush=True) if not a.json else None
    if a.build_only and a.dim > 0:
        meta = {"dim": a.dim, "k": 10, "self_excluded": False}
    else:
        meta = json.load(open(os.path.join(a.dir, "meta.json")))
    d, k, self_ex = meta["dim"], meta["k"], meta["self_excluded"]
    xb = np.memmap(os.path.join(a.dir, "base.f32"), dtype="<f4", mode="r").reshape(-1, d)
    if a.build_only:
        xq = np.zeros((0, d), dtype=np.float32)
    else:
        xq = np.fromfile(os.path.join(a.dir, "queries.f32"), dtype="<f4").reshape(-1, d)
        if a.queries > 0:
            xq = xq[: a.queries]
    kq = k + 1 if self_ex else k
    efs = [int(x) for x in a.efs.split(",")]
    engines = a.engines.split(",")
    import faiss

    report = {"vectors": len(xb), "dim": d, "queries": len(xq), "k": k, "faiss": faiss.__version__, "engines": {}}
    if a.build_only:
        engines = [e for e in engines if e != "flat"]
        gt = []
    elif engines == ["flat"]:
        gt = None  # flat alone is exact: its recall is 1 by definition, no ground truth to compute
    else:
        t0 = time.perf_counter()
        gt_ids = ground_truth(faiss, os.path.join(a.dir, f"gt{kq}-{len(xq)}.npy"), xb, xq, kq, a.threads)
        log(f"ground truth ready ({time.perf_counter() - t0:.0f} s)")
        gt = drop_self(gt_ids.tolist(), k, self_ex)

    if "flat" in engines:
        faiss.omp_set_num_threads(1)
        r0 = rss_anon()
        flat = faiss.IndexFlatIP(d)
        for start in range(0, len(xb), 100_000):
            flat.add(np.ascontiguousarray(xb[start : start + 100_000]))
        mem = rss_anon() - r0
        fq = xq[: a.flat_queries] if a.flat_queries > 0 else xq
        (_, ids), qps, qps_cpu = timed(lambda: flat.search(fq, kq), len(fq))
        rec = 1.0 if gt is None else recall(gt[: len(fq)], drop_self(ids.tolist(), k, self_ex), k)
        report["engines"]["faiss-flat"] = {"qps": qps, "qps_cpu": qps_cpu, "recall": rec, "queries": len(fq),
                                           "rss_anon_growth_bytes": mem, "flat_bytes": xb.nbytes}
        del flat

    def sweep(name, idx, bt, mem, search, set_ef):
        if a.build_only:
            log(f"{name}: built in {bt:.0f} s, RssAnon +{mem/1e6:.1f} MB")
            return
        runs = []
        for ef in efs:
            if ef < kq:
                continue
            set_ef(idx, ef)
            search(idx)  # warm
            ids, qps, qps_cpu = timed(lambda: search(idx), len(xq))
            runs.append({"ef": ef, "recall": recall(gt, drop_self(ids, k, self_ex), k), "qps": qps, "qps_cpu": qps_cpu})
            log(f"{name} ef {ef}: recall {runs[-1]['recall']:.4f}, {qps_cpu:.0f} q/s of CPU")
        at = next((r for r in runs if r["recall"] >= a.target), None)
        report["engines"][name] = {"build_seconds": bt, "rss_anon_growth_bytes": mem, "runs": runs, "at_target": at}

    if "hnswlib" in engines:
        import hnswlib

        def make():
            idx = hnswlib.Index(space="ip", dim=d)
            idx.init_index(max_elements=len(xb), M=16, ef_construction=200, random_seed=100)  # hnswlib's defaults
            return idx

        def load(p):
            idx = hnswlib.Index(space="ip", dim=d)
            idx.load_index(p, max_elements=len(xb))
            return idx

        def add(idx, s, e):
            idx.add_items(np.ascontiguousarray(xb[s:e]), np.arange(s, e), num_threads=a.threads)

        r0 = rss_anon()
        idx, bt = checkpointed(os.path.join(a.dir, "hnswlib-M16-efc200.index"), len(xb), make, load, add,
                               lambda idx, p: idx.save_index(p), a.chunk, log)
        mem = rss_anon() - r0
        sweep("hnswlib (M=16, efc=200)", idx, bt, mem,
              lambda idx: idx.knn_query(xq, k=kq, num_threads=1)[0].tolist(), lambda idx, ef: idx.set_ef(ef))
        del idx

    if "faiss-hnsw" in engines:
        def make():
            return faiss.IndexHNSWFlat(d, 32, faiss.METRIC_INNER_PRODUCT)

        def add(idx, s, e):
            faiss.omp_set_num_threads(a.threads)
            idx.add(np.ascontiguousarray(xb[s:e]))

        def set_fh(idx, ef):
            idx.hnsw.efSearch = ef

        r0 = rss_anon()
        idx, bt = checkpointed(os.path.join(a.dir, "faiss-hnsw-M32.index"), len(xb), make, faiss.read_index, add,
                               faiss.write_index, a.chunk, log)
        mem = rss_anon() - r0
        faiss.omp_set_num_threads(1)
        sweep("faiss-hnsw (M=32)", idx, bt, mem, lambda idx: idx.search(xq, kq)[1].tolist(), set_fh)
        del idx

    if a.json:
        print(json.dumps(report))
        return
    print(f"{report['vectors']} vectors x {d}, {len(xq)} queries, top-{k}, faiss {report['faiss']}; target recall {a.target}")
    for name, e in report["engines"].items():
        if name == "faiss-flat":
            print(f"faiss flat (exact)      {e['qps']:.2f} q/s single thread ({e['qps_cpu']:.2f} q/s of CPU) on {e['queries']} queries, "
                  f"recall {e['recall']:.4f}, RssAnon +{e['rss_anon_growth_bytes']/1e6:.1f} MB")
            continue
        print(f"{name}: built in {e['build_seconds']:.1f} s, RssAnon +{e['rss_anon_growth_bytes']/1e6:.1f} MB")
        for r in e["runs"]:
            print(f"   ef {r['ef']:<4} recall@{k} {r['recall']:.4f}  {r['qps']:.0f} q/s ({r['qps_cpu']:.0f} q/s of CPU)")
        at = e["at_target"]
        print(f"   at recall >= {a.target}: " + (f"ef {at['ef']}, {at['qps']:.0f} q/s ({at['qps_cpu']:.0f} q/s of CPU)" if at else "not reached"))


if __name__ == "__main__":
    main()
