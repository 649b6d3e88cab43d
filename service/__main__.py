"""python -m service: bring the index up to date with the corpus, then serve with uvicorn."""

from __future__ import annotations

import argparse
import logging
import sys

import uvicorn

from indexer.build import build_index, same_model
from indexer.documents import iter_corpus_files, sha256_bytes
from indexer.embedding import make_embedder
from indexer.store import IndexNotFound, read_manifest
from service.app import create_app
from service.config import Settings
from service.corpus import CorpusFiles

logger = logging.getLogger("service")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m service", description=__doc__)
    parser.add_argument("--host", help="default RAGQA_HOST (127.0.0.1)")
    parser.add_argument("--port", type=int, help="default RAGQA_PORT (8000)")
    parser.add_argument("--no-build", action="store_true", help="serve whatever index exists")
    args = parser.parse_args(argv)
    overrides = {k: v for k, v in {"host": args.host, "port": args.port}.items() if v is not None}
    settings = Settings(**overrides)
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    leftovers = CorpusFiles(settings.corpus_dir).clean_incoming()
    if leftovers:
        logger.warning("removed %d partial upload(s) left by an interrupted process", leftovers)
    embedder = None
    if settings.build_on_start and not args.no_build and index_is_stale(settings):
        embedder = make_embedder(settings)
        try:
            report = build_index(settings, lambda: embedder, progress=sys.stderr.isatty())
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        logger.info("%s", report.summary())
    serving = {"host": settings.host, "port": settings.port, "log_level": "info", "access_log": settings.access_log}
    if settings.workers > 1:  # each worker process builds its own app from the same RAGQA_* settings
        uvicorn.run("service.app:create_app", factory=True, workers=settings.workers, **serving)
    else:
        uvicorn.run(create_app(settings, embedder=embedder), **serving)
    return 0


def index_is_stale(settings: Settings) -> bool:
    """True when the index is missing or the corpus files differ from those it was built from."""
    try:
        manifest = read_manifest(settings.index_dir)
    except IndexNotFound:
        return True
    if not settings.corpus_dir.is_dir():
        return False
    files = {source: sha256_bytes(path.read_bytes()) for path, source in iter_corpus_files(settings.corpus_dir)}
    return files != manifest["files"] or not same_model(manifest, settings)


if __name__ == "__main__":
    raise SystemExit(main())
