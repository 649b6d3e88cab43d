"""Size sweep on law_corpus_scale in one run: build, search latency, throughput and memory at each size.

One index folder grows through the sizes (the first N laws, then more): each step's build embeds only
the laws it adds, runs in a child process and reports its stages (read, chunk, embed, tokenize,
dense, lexical, write), their seconds and the build's peak RSS. At each size the service (`python -m
service`, query cache off, every query new) is measured over HTTP at concurrency 1 and 8 with 1 and 2
worker processes, with its memory per process; HNSW recall@10 is measured against exact search.
The run fails (exit 1) when a median latency rises more than 1.5x from one size to the next, or when 8
concurrent clients on 2 workers get less than 1.6x the throughput of one.

    .venv/bin/python bench/sweep.py --laws 100,600,1500,0 --json docs/bench/sweep.json

Each size's index is kept as a snapshot under --work; `--measure-only` measures the snapshots again
(with their recorded build figures) without building.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.http_latency import load_level  # noqa: E402
from bench.law_corpus import materialize  # noqa: E402
from bench.scale import ann_recall, memory_mb, sample_queries  # noqa: E402
from tests.server import start_service, worker_pids  # noqa: E402

MODEL = ROOT / "models" / "m3e-small"
GROWTH_LIMIT = 1.5
CORE_USE = 1.6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--laws", default="70,600,1500,0", help="law counts, growing; 0 = all 3,471 laws")
    parser.add_argument("--work", type=Path, default=ROOT / "var" / "bench" / "sweep")
    parser.add_argument("--requests", type=int, default=300, help="per concurrency level")
    parser.add_argument("--queries", type=int, default=600, help="distinct queries (every request new)")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--measure-only", action="store_true", help="measure the kept snapshots, build nothing")
    args = parser.parse_args(argv)
    laws = materialize(ROOT / "var" / "bench" / "laws-all")
    files = sorted(laws.iterdir())
    corpus, index = args.work / "corpus", args.work / "index"
    corpus.mkdir(parents=True, exist_ok=True)
    queries = sample_queries(args.queries)
    sizes = []
    for count in [int(n) or len(files) for n in args.laws.split(",")]:
        snapshot = args.work / f"laws-{count}"
        if not args.measure_only:
            for path in files[:count]:  # the corpus grows: links to the first `count` laws
                link = corpus / path.name
                if not link.exists():
                    link.symlink_to(path)
            _keep(index, snapshot, _build(corpus, index))
        build = json.loads((snapshot / "build.json").read_text())
        size = {"laws": count, "chunks": _chunks(snapshot), "build": build, "ann": ann_recall(snapshot, queries[:200])}
        size["search"] = {f"workers_{w}": _serve_and_load(snapshot, queries, w, args.requests) for w in (1, 2)}
        print(json.dumps(_summary(size), ensure_ascii=False), flush=True)
        sizes.append(size)
    verdict = _verdict(sizes)
    report = {"sizes": sizes, "verdict": verdict, "machine": {"cpus": os.cpu_count()}}
    print(json.dumps(verdict, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return 0 if verdict["ok"] else 1


def _build(corpus: Path, index: Path) -> dict:
    """`python -m indexer build` in a child process; its report, with whole-build and embedder rates."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "indexer", "build", "--corpus", str(corpus), "--index", str(index),
         "--model", str(MODEL), "--quiet"],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    report = json.loads(done.stdout.strip().splitlines()[-1])
    wall = time.perf_counter() - started
    characters, embed = report["characters_embedded"], report["stage_seconds"].get("embed", 0.0)
    return {
        "wall_s": round(wall, 1),
        "chunks_embedded": report["chunks_embedded"],
        "characters_embedded": characters,
        "chars_per_s": round(characters / report["seconds"]) if report["seconds"] else None,
        "embedder_chars_per_s": round(characters / embed) if embed else None,
        "stage_seconds": report["stage_seconds"],
        "peak_rss_mb": max(report["peak_rss_mb"].values()),
        "peak_rss_mb_by_stage": report["peak_rss_mb"],
    }


def _keep(index: Path, snapshot: Path, build: dict) -> None:
    """The current version as an index folder of its own, with the build's figures beside it."""
    shutil.rmtree(snapshot, ignore_errors=True)
    version = (index / "current").resolve()
    shutil.copytree(version, snapshot / "versions" / version.name)
    (snapshot / "current").symlink_to(Path("versions") / version.name)
    (snapshot / "build.json").write_text(json.dumps(build, indent=2))


def _chunks(index: Path) -> int:
    return json.loads((index / "current" / "manifest.json").read_text())["counts"]["chunks"]


def _serve_and_load(index: Path, queries: list[str], workers: int, requests: int) -> dict:
    env = {"RAGQA_INDEX_DIR": str(index), "RAGQA_EMBEDDING_MODEL": str(MODEL), "RAGQA_QUERY_CACHE": "0",
           "RAGQA_RELOAD_INTERVAL": "0", "RAGQA_WORKERS": str(workers)}  # fmt: skip
    process, url = start_service(env, Path(f"/tmp/bench-sweep-{workers}.log"), timeout=900)
    try:
        levels = {}
        for concurrency in (1, 8):
            asyncio.run(load_level(url, "/v1/search", queries[-20:], concurrency, 20, 60.0))  # warm-up
            row = asyncio.run(load_level(url, "/v1/search", queries[:-20], concurrency, requests, 300.0))
            levels[f"c{concurrency}"] = row
        memory = [memory_mb(pid) for pid in ([process.pid] if workers == 1 else worker_pids(process.pid))]
    finally:
        process.terminate()
        process.wait(timeout=60)
    return {**levels, "memory_mb_per_process": memory}


def _summary(size: dict) -> dict:
    search = size["search"]
    return {
        "laws": size["laws"], "chunks": size["chunks"], "build_chars_per_s": size["build"]["chars_per_s"],
        "embedder_chars_per_s": size["build"]["embedder_chars_per_s"], "build_peak_mb": size["build"]["peak_rss_mb"],
        "recall@10": size["ann"]["recall_at_10"],
        **{f"{w}:{c}": (search[w][c]["p50_ms"], search[w][c]["p99_ms"], search[w][c]["throughput_rps"])
           for w in search for c in ("c1", "c8")},
    }  # fmt: skip


def _verdict(sizes: list[dict]) -> dict:
    """The sweep's rules: no latency step above 1.5x, both cores used at concurrency 8."""
    failures = []
    for before, after in zip(sizes, sizes[1:], strict=False):
        for workers in before["search"]:
            for level in ("c1", "c8"):
                for figure in ("p50_ms",):  # the median: a tail of a few requests is the machine's noise
                    a, b = before["search"][workers][level][figure], after["search"][workers][level][figure]
                    if b > GROWTH_LIMIT * a:
                        failures.append(f"{workers} {level} {figure}: {a} -> {b} ms from {before['chunks']} "
                                        f"to {after['chunks']} chunks")  # fmt: skip
    for size in sizes:
        two = size["search"]["workers_2"]
        ratio = two["c8"]["throughput_rps"] / two["c1"]["throughput_rps"]
        if ratio < CORE_USE:
            failures.append(f"{size['chunks']} chunks: 2 workers at c8 give {ratio:.2f}x the c1 throughput")
    return {"ok": not failures, "failures": failures}


if __name__ == "__main__":
    raise SystemExit(main())
