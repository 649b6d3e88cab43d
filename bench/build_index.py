"""Index build benchmark: wall time, characters/s, chunks/s, peak memory and size on disk, per embedder.

Builds a fresh index of a corpus folder once per embedding variant, each in its own child process
(so peak RSS is that build's own), and prints the figures with each variant's speed-up over the
sentence-transformers float32 baseline of the same run; --json writes them.

    .venv/bin/python bench/build_index.py --corpus data/reports --json docs/bench/build-reports.json
    .venv/bin/python bench/build_index.py --law-documents 150 --json docs/bench/build-laws150.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.law_corpus import materialize  # noqa: E402

VARIANTS = {
    "torch-float32": {"RAGQA_EMBEDDING_BACKEND": "torch"},
    "onnx-float32": {"RAGQA_EMBEDDING_BACKEND": "onnx", "RAGQA_EMBEDDING_INT8": "false"},
    "onnx-int8": {"RAGQA_EMBEDDING_BACKEND": "onnx", "RAGQA_EMBEDDING_INT8": "true"},
}


def measure_build(corpus: Path, index: Path, env: dict[str, str], model: str) -> dict:
    """Build `index` from `corpus` in a child process; its figures, peak RSS included."""
    command = [sys.executable, "-m", "indexer", "build", "--corpus", str(corpus), "--index", str(index),
               "--model", model, "--quiet"]  # fmt: skip
    with tempfile.TemporaryFile("w+") as output:
        started = time.perf_counter()
        child = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=output)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage, not all children's
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            raise RuntimeError(f"build failed with exit code {child.returncode}")
        output.seek(0)
        report = json.loads(output.read().strip().splitlines()[-1])
    size_mb = sum(f.stat().st_size for f in (index / "current").resolve().rglob("*") if f.is_file()) / 2**20
    return {
        "documents": len(report["added"]),
        "chunks": report["chunks_embedded"],
        "characters_embedded": report["characters_embedded"],
        "wall_seconds": round(seconds, 1),
        "characters_per_second": round(report["characters_embedded"] / seconds),
        "chunks_per_second": round(report["chunks_embedded"] / seconds, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
        "index_size_mb": round(size_mb, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--corpus", type=Path, help="a corpus folder")
    source.add_argument("--law-documents", type=int, help="the first N laws of law_corpus_scale (0: all)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"any of {', '.join(VARIANTS)}")
    parser.add_argument("--model", default=str(ROOT / "models" / "m3e-small"))
    parser.add_argument("--keep", type=Path, help="build the last variant's index here and keep it")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        corpus = args.corpus
        if corpus is None:
            corpus = materialize(ROOT / "var" / "bench" / f"laws-{args.law_documents or 'all'}",
                                 max_documents=args.law_documents or None)  # fmt: skip
        rows = {}
        names = args.variants.split(",")
        for name in names:
            index = args.keep if args.keep and name == names[-1] else Path(scratch) / name
            rows[name] = measure_build(corpus, index, VARIANTS[name], args.model)
            baseline = rows.get("torch-float32")
            if baseline:
                rows[name]["speedup_vs_torch_float32"] = round(baseline["wall_seconds"] / rows[name]["wall_seconds"], 2)
            print(name, json.dumps(rows[name]), flush=True)
    report = {"corpus": str(corpus), "machine": _machine(), "variants": rows}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


def _machine() -> dict:
    return {"python": platform.python_version(), "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count()}  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
