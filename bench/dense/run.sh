#!/bin/sh
# Runs sleuth's dense index and its peers (FAISS flat/HNSW, hnswlib) on the
# same vectors and queries, one after the other.
#   bench/dense/run.sh [N] [QUERIES]      (from the repository root)
# Needs: apt-get install python3-faiss python3-hnswlib python3-numpy
set -eu
n=${1:-100000}
q=${2:-200}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go run ./cmd/sleuth bench dense --set synthetic --n "$n" --queries "$q" --probes 4,8,16 --rescores 100,200,500 --export "$dir/vecs"
/usr/bin/python3 bench/dense/peers.py "$dir/vecs"
