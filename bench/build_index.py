"""Index build benchmark: wall time, characters/s, chunks/s, peak memory and size on disk.

Builds a fresh index of a corpus folder in a child process (so peak RSS is the build's own) and
prints the figures; --json writes them.

    .venv/bin/python bench/build_index.py --corpus data/reports --json docs/bench/build-reports.json
    .venv/bin/python bench/build_index.py --corpus ../shared/extdata/gov_docs --json docs/bench/build-gov_docs.json
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--model", default=str(ROOT / "models" / "m3e-small"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        index = Path(scratch) / "index"
        command = [sys.executable, "-m", "indexer", "build", "--corpus", str(args.corpus), "--index", str(index),
                   "--model", args.model, "--quiet"]  # fmt: skip
        started = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
        seconds = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        report = json.loads(done.stdout.strip().splitlines()[-1])
        size_mb = sum(f.stat().st_size for f in (index / "current").resolve().rglob("*") if f.is_file()) / 2**20
    figures = {
        "corpus": str(args.corpus),
        "documents": len(report["added"]),
        "chunks": report["chunks_embedded"],
        "characters_embedded": report["characters_embedded"],
        "wall_seconds": round(seconds, 1),
        "characters_per_second": round(report["characters_embedded"] / seconds),
        "chunks_per_second": round(report["chunks_embedded"] / seconds, 1),
        "peak_rss_mb": round(peak_mb),
        "index_size_mb": round(size_mb, 1),
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
