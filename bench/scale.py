"""Scale benchmark on law_corpus_scale (148k article passages): ANN recall, search latency, server memory.

Needs the index that `bench/build_index.py --law-documents 0 --variants onnx-int8 --keep DIR` builds
(its build time and peak memory are that script's figures). Measures the HNSW index's recall@10
against exact search for passage-derived queries, `/v1/search` latency at each concurrency over HTTP,
and the server's resident memory after the load; --json writes the figures.

    .venv/bin/python bench/scale.py --index var/bench/scale-index --json docs/bench/scale.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import sys
import time
from pathlib import Path

import faiss
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.http_latency import load_level  # noqa: E402
from bench.law_corpus import PASSAGES  # noqa: E402
from indexer.dense import DenseIndex  # noqa: E402
from indexer.embedders.factory import make_embedder  # noqa: E402
from indexer.settings import IndexSettings  # noqa: E402
from indexer.store import current_version_dir  # noqa: E402
from tests.server import start_service  # noqa: E402

_ARTICLE = re.compile(r"^第[一二三四五六七八九十百千零〇]+条\s*")


def sample_queries(count: int, seed: int = 7) -> list[str]:
    """Questions-like strings from random articles: their first clause, without the article number."""
    rows = PASSAGES.read_text(encoding="utf-8").splitlines()
    picked = random.Random(seed).sample(rows, count)
    queries = []
    for row in picked:
        text = _ARTICLE.sub("", json.loads(row)["text"])
        queries.append(re.split(r"[，。；：]", text)[0][:40] or text[:40])
    return queries


def ann_recall(index_dir: Path, queries: list[str], k: int = 10) -> dict:
    """recall@k of the served (HNSW) index against exact inner-product search over the same vectors."""
    dense = DenseIndex.load(current_version_dir(index_dir) / "dense.faiss")
    vectors = dense.vectors()
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    embedder = make_embedder(IndexSettings(embedding_model=str(ROOT / "models" / "m3e-small")))
    query_vectors = np.stack([embedder.embed_query(q) for q in queries])
    started = time.perf_counter()
    approximate = [set(dense.search(v, k)[1].tolist()) for v in query_vectors]
    ann_ms = (time.perf_counter() - started) * 1000 / len(queries)
    _, truth = exact.search(query_vectors, k)
    recall = float(np.mean([len(a & set(t.tolist())) / k for a, t in zip(approximate, truth, strict=True)]))
    return {"kind": dense.kind, "vectors": int(vectors.shape[0]), "queries": len(queries),
            f"recall_at_{k}": round(recall, 4), "ann_search_ms": round(ann_ms, 3)}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    queries = sample_queries(args.queries)
    recall = ann_recall(args.index, queries)
    print(json.dumps(recall), flush=True)
    size_mb = sum(f.stat().st_size for f in current_version_dir(args.index).rglob("*") if f.is_file()) / 2**20
    env = {"RAGQA_INDEX_DIR": str(args.index), "RAGQA_EMBEDDING_MODEL": str(ROOT / "models" / "m3e-small"),
           "RAGQA_QUERY_CACHE": "0", "RAGQA_RELOAD_INTERVAL": "0"}  # fmt: skip
    process, url = start_service(env, Path("/tmp/bench-scale-service.log"), timeout=600)
    try:
        rss_ready = memory_mb(process.pid)
        rows = []
        for concurrency in [int(c) for c in args.concurrency.split(",")]:
            row = asyncio.run(load_level(url, "/v1/search", queries, concurrency, args.requests, 300.0))
            rows.append(row)
            print(json.dumps(row), flush=True)
        memory = {"after_start": rss_ready, "after_load": memory_mb(process.pid)}
    finally:
        process.terminate()
        process.wait(timeout=30)
    report = {"index": str(args.index), "index_size_mb": round(size_mb, 1), "ann": recall, "search": rows,
              "server_memory_mb": memory}  # fmt: skip
    print(json.dumps({"index_size_mb": report["index_size_mb"], "server_memory_mb": memory}))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


def memory_mb(pid: int) -> dict[str, int]:
    """VmRSS (resident now, the memory-mapped vectors' pages included), VmHWM (peak) and RssAnon (private)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            fields[name] = int(value.split()[0]) // 1024
    return fields


if __name__ == "__main__":
    raise SystemExit(main())
