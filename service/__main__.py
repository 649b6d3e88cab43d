"""python -m service: bring the index up to date with the corpus, then serve with uvicorn."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any

import uvicorn

from indexer.build import build_index, corpus_files
from indexer.documents import seed_corpus
from indexer.embedders.factory import make_embedder
from indexer.manifest import incompatibilities
from indexer.store import IndexNotFound, read_manifest
from qa import cross_encoder
from qa.corpus import CorpusFiles
from qa.cross_encoder import CrossEncoderUnavailable
from service.app import create_app
from service.config import Settings
from service.workers import check_port_free, serve_workers

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
    try:  # a model that cannot load is said before a build that may take minutes, and once, not per worker
        cross_encoder.from_settings(settings)
        cross_encoder.sentence_model_from_settings(settings)
    except CrossEncoderUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if seeded := seed_corpus(settings.corpus_dir, settings.seed_folder):
        logger.info("corpus %s created from %d files of %s", settings.corpus_dir, seeded, settings.corpus_seed)
    leftovers = CorpusFiles(settings.corpus_dir).clean_incoming()
    if leftovers:
        logger.warning("removed %d partial upload(s) left by an interrupted process", leftovers)
    embedder = None
    stale = stale_reasons(settings) if settings.build_on_start and not args.no_build else []
    if stale:
        logger.info("building the index: %s", "; ".join(stale))
        embedder = built = make_embedder(settings)
        try:
            logger.info("%s", build_index(settings, lambda: built, progress=sys.stderr.isatty()).summary())
        except Exception as exc:  # a full disk as much as an empty corpus: serve the last good index if any
            if not _has_index(settings):
                print(f"error: {exc}", file=sys.stderr)
                return 2
            logger.error("the index build failed (%s); serving the previous index", exc)
            settings = settings.model_copy(update={"build_failure": f"the start-up build failed: {exc}"})
            os.environ["RAGQA_BUILD_FAILURE"] = settings.build_failure or ""  # worker processes read it
    options: dict[str, Any] = {"log_level": "info", "access_log": settings.access_log, "proxy_headers": True,
               "forwarded_allow_ips": settings.forwarded_allow_ips}  # fmt: skip
    if settings.workers > 1:
        # Each worker process builds its own app from the same RAGQA_* settings, command-line ones included.
        os.environ.update(RAGQA_HOST=settings.host, RAGQA_PORT=str(settings.port))
        try:
            check_port_free(settings.host, settings.port)
        except OSError as exc:
            print(f"error: cannot listen on {settings.host}:{settings.port}: {exc}", file=sys.stderr)
            return 2
        serve_workers(settings.workers, settings.host, settings.port, options)
    else:
        uvicorn.run(create_app(settings, embedder=embedder), host=settings.host, port=settings.port, **options)
    return 0


def _has_index(settings: Settings) -> bool:
    try:
        read_manifest(settings.index_dir)
    except IndexNotFound:
        return False
    return True


def stale_reasons(settings: Settings) -> list[str]:
    """Why the index must be built before serving: missing, built otherwise than the settings ask, or
    from other corpus files (empty: serve it as it is)."""
    try:
        manifest = read_manifest(settings.index_dir)
    except IndexNotFound as exc:
        return [str(exc)]
    files = corpus_files(settings.corpus_dir) if settings.corpus_dir.is_dir() else None
    return incompatibilities(manifest, settings, corpus_files=files)


if __name__ == "__main__":
    raise SystemExit(main())
