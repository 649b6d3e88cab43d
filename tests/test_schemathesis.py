"""Schemathesis over the service's own /openapi.json: generated requests to every operation, no 5xx."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
)

from indexer.build import build_index
from service.app import create_app
from service.config import Settings
from tests.conftest import REPORTS, FakeEmbedder


def _app(scratch: Path):
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(REPORTS, scratch / "corpus")
    settings = Settings(corpus_dir=scratch / "corpus", index_dir=scratch / "index", embedding_model=FakeEmbedder.name,
                        build_on_start=False, reload_interval=0, open_writes=True)  # fmt: skip
    embedder = FakeEmbedder()
    build_index(settings, lambda: embedder)
    app = create_app(settings, embedder=embedder)
    app.state.manager.load()  # what the lifespan does: the index is loaded before the first case
    return app


_SCRATCH = Path(tempfile.mkdtemp(prefix="schemathesis-"))
atexit.register(shutil.rmtree, _SCRATCH, True)
schema = schemathesis.openapi.from_asgi("/openapi.json", _app(_SCRATCH))


@schema.parametrize()
# CI replays one fixed sequence of cases; local runs explore new ones each time.
@settings(
    max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=bool(os.environ.get("CI"))
)
def test_no_server_errors_and_responses_match_the_schema(case):
    case.call_and_validate(
        checks=[not_a_server_error, content_type_conformance, response_schema_conformance, negative_data_rejection]
    )
