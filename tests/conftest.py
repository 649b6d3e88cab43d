"""Shared fixtures: the real reports, a hashing fake embedder, the real model, built indexes."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from indexer.build import build_index
from indexer.embedders.base import Embedder
from indexer.embedders.factory import make_embedder
from indexer.settings import IndexSettings
from indexer.text import segment
from service.app import create_app
from service.config import Settings
from tests.server import running_service

ROOT = Path(__file__).resolve().parents[1]
REPORTS = ROOT / "data" / "reports"
MODEL = ROOT / "models" / "m3e-small"
TRADITIONAL_REPORT = "000_e8aad2deade5b0b5.txt"
DONGE_REPORT = "001_5545cfdd99bf609a.txt"
# Open WebUI end to end needs its own install (`make e2e`); `make test` leaves it out.
collect_ignore = [] if os.environ.get("RAGQA_OPEN_WEBUI") else ["e2e"]


class FakeEmbedder:
    """Hashes jieba tokens into a small normalised vector: deterministic, no model, no network."""

    name = "fake-hash-64"
    dimension = 64
    batch_invariant = True

    def __init__(self) -> None:
        self.embedded = 0  # how many texts were embedded, to check incremental builds

    def embed_documents(self, texts) -> np.ndarray:
        self.embedded += len(texts)
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in segment(text) or [text]:
                bucket = int(hashlib.md5(token.encode()).hexdigest(), 16) % self.dimension
                vectors[row, bucket] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1, norms)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


@pytest.fixture(scope="session")
def real_embedder() -> Embedder:
    if not (MODEL / "config.json").is_file():
        pytest.fail("models/m3e-small is missing: run `make install` (it provisions the model)")
    return make_embedder(IndexSettings(embedding_model=str(MODEL)))  # the default: ONNX Runtime, int8


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A writable copy of the five reports."""
    target = tmp_path / "corpus"
    shutil.copytree(REPORTS, target)
    return target


def settings_for(corpus: Path, index: Path, model: str = FakeEmbedder.name, **extra) -> IndexSettings:
    return IndexSettings(corpus_dir=corpus, index_dir=index, embedding_model=model, **extra)


@pytest.fixture
def fake_index(corpus: Path, tmp_path: Path) -> tuple[IndexSettings, FakeEmbedder]:
    settings = settings_for(corpus, tmp_path / "index")
    embedder = FakeEmbedder()
    build_index(settings, lambda: embedder)
    return settings, embedder


@pytest.fixture(scope="session")
def real_index(tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder) -> IndexSettings:
    """The five reports indexed with m3e-small, once per test session."""
    settings = settings_for(REPORTS, tmp_path_factory.mktemp("real") / "index", model=str(MODEL))
    build_index(settings, lambda: real_embedder)
    return settings


@pytest.fixture(scope="session")
def live_url(real_index: IndexSettings, tmp_path_factory: pytest.TempPathFactory) -> str:
    """`python -m service` on a free loopback port over the real index, once per test session."""
    env = {
        "RAGQA_INDEX_DIR": str(real_index.index_dir),
        "RAGQA_CORPUS_DIR": str(real_index.corpus_dir),
        "RAGQA_EMBEDDING_MODEL": str(MODEL),
    }
    with running_service(env, tmp_path_factory.mktemp("live") / "service.log") as url:
        yield url


@pytest.fixture
def writable_client(fake_index):
    """The app over the fake index, writes open (as on loopback), uploads up to 64 KiB."""
    index_settings, embedder = fake_index
    settings = Settings(
        **index_settings.model_dump(), build_on_start=False, max_upload_bytes=64 * 1024, open_writes=True
    )
    with TestClient(create_app(settings, embedder=embedder)) as test_client:
        yield test_client
