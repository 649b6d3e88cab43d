"""Latency and throughput of /v1/search and /v1/ask over HTTP on loopback.

Starts `python -m service` on a free loopback port (or uses --url), sends a bounded number of
requests built from the dev-set questions at each concurrency level, and prints p50/p95/p99 and
throughput; --json writes the figures. The load generator stops by itself (request count and a
time limit), and only ever talks to 127.0.0.1.

    .venv/bin/python bench/http_latency.py --concurrency 1,8,32 --requests 400 --json docs/bench/http.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eval.dataset import load_cases  # noqa: E402
from eval.metrics import percentile  # noqa: E402
from tests.server import running_service  # noqa: E402


def _request(host: str, endpoint: str, body: dict) -> bytes:
    payload = json.dumps(body, ensure_ascii=False).encode()
    head = (f"POST {endpoint} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n")  # fmt: skip
    return head.encode() + payload


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """One keep-alive request and its whole response; returns the status code."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    lines = head.split(b"\r\n")
    length = next(int(line.split(b":", 1)[1]) for line in lines if line.lower().startswith(b"content-length"))
    await reader.readexactly(length)
    return status


async def load_level(
    url: str, endpoint: str, questions: list[str], concurrency: int, requests: int, limit_s: float, rerank: bool = False
) -> dict:
    """Closed-loop load: `concurrency` keep-alive connections, each sending its next request on a reply.

    Requests are pre-encoded and sent over raw asyncio streams: the generator shares the machine
    with the server, and an HTTP client library would spend more CPU per request than the search.
    """
    host, port = httpx.URL(url).host, httpx.URL(url).port
    key = "query" if endpoint == "/v1/search" else "question"
    extra = {"rerank": True} if rerank and endpoint == "/v1/search" else {}
    bodies = [_request(host, endpoint, {key: q, "top_k": 5, **extra}) for q in questions]
    latencies: list[float] = []
    errors = 0
    remaining = requests
    deadline = time.monotonic() + limit_s

    async def worker() -> None:
        nonlocal errors, remaining
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while remaining > 0 and time.monotonic() < deadline:
                remaining -= 1
                started = time.perf_counter()
                status = await _exchange(reader, writer, bodies[remaining % len(bodies)])
                latencies.append((time.perf_counter() - started) * 1000)
                errors += status != 200
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    return {
        "endpoint": endpoint,
        "concurrency": concurrency,
        "requests": len(latencies),
        "errors": errors,
        "p50_ms": round(percentile(latencies, 50), 2),
        "p95_ms": round(percentile(latencies, 95), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "throughput_rps": round(len(latencies) / wall, 1),
    }


def run(
    url: str, questions: list[str], levels: list[int], requests: int, limit_s: float, rerank: bool = False
) -> list[dict]:
    with httpx.Client(base_url=url, timeout=60) as client:  # warm the caches a real service has warm
        for q in questions[:20]:
            client.post("/v1/search", json={"query": q})
    rows = []
    for endpoint in ("/v1/search", "/v1/ask"):
        for concurrency in levels:
            row = asyncio.run(load_level(url, endpoint, questions, concurrency, requests, limit_s, rerank))
            rows.append(row)
            print(f"{endpoint:<11} c={concurrency:<3} n={row['requests']:<5} errors={row['errors']} "
                  f"p50={row['p50_ms']:7.1f} ms  p95={row['p95_ms']:7.1f} ms  p99={row['p99_ms']:7.1f} ms  "
                  f"{row['throughput_rps']:7.1f} req/s", flush=True)  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running service; default: start one on the index below")
    parser.add_argument("--index", type=Path, default=ROOT / "var" / "index")
    parser.add_argument("--corpus", type=Path, default=ROOT / "data" / "reports")
    parser.add_argument("--questions", type=Path, default=ROOT / "eval" / "datasets" / "dev_reports.jsonl")
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--requests", type=int, default=300, help="per endpoint and concurrency level")
    parser.add_argument("--time-limit", type=float, default=120.0, help="seconds per level, at most")
    parser.add_argument("--query-cache", type=int, help="RAGQA_QUERY_CACHE for the started service (0: off)")
    parser.add_argument("--rerank", action="store_true", help='search with "rerank": true')
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    questions = [c.question for c in load_cases(args.questions)]
    levels = [int(c) for c in args.concurrency.split(",")]
    if args.url:
        rows = run(args.url, questions, levels, args.requests, args.time_limit, args.rerank)
    else:
        env = {"RAGQA_INDEX_DIR": str(args.index), "RAGQA_CORPUS_DIR": str(args.corpus)}
        if args.query_cache is not None:
            env["RAGQA_QUERY_CACHE"] = str(args.query_cache)
        with running_service(env, Path("/tmp/bench-service.log")) as url:
            rows = run(url, questions, levels, args.requests, args.time_limit, args.rerank)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        machine = {"python": platform.python_version(), "cpu": platform.processor() or platform.machine()}
        report = {"machine": machine, "index": str(args.index), "query_cache": args.query_cache, "rerank": args.rerank,
                  "rows": rows}  # fmt: skip
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
