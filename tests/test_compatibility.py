"""Whether an index can be served as configured: one check, each reason, and the bugs it ended.

The regression tests go through public entry points only (build_index, create_app, python -m
service), so they ran unchanged against the code before the compatibility check: each failed there.
"""

import time
from dataclasses import replace

import httpx
import pytest
from fastapi.testclient import TestClient

from indexer.build import build_index
from indexer.manifest import NORMALIZATION, Manifest, incompatibilities
from indexer.store import IndexStore
from qa.manager import IndexManager
from qa.settings import QASettings
from service.app import create_app
from service.config import Settings
from tests.conftest import MODEL, FakeEmbedder, settings_for
from tests.server import running_service


class OtherFake(FakeEmbedder):
    """Another model of the same dimension (its vectors live in another space)."""

    name = "other-hash-64"


class NarrowFake(FakeEmbedder):
    """The same model name, but 32-d vectors (a model folder replaced under the same path)."""

    dimension = 32


# --- one test per reason -------------------------------------------------------------------------


@pytest.fixture
def manifest(fake_index):
    settings, _ = fake_index
    return IndexStore.load(settings.index_dir).manifest, settings


def test_an_index_built_as_configured_has_no_reason_against_it(manifest) -> None:
    manifest, settings = manifest
    assert incompatibilities(manifest, settings, dimension=64, corpus_files=dict(manifest.files)) == []


def test_another_model(manifest) -> None:
    manifest, settings = manifest
    [reason] = incompatibilities(manifest, settings.model_copy(update={"embedding_model": "other-hash-64"}))
    assert "fake-hash-64" in reason and "other-hash-64" in reason


def test_another_embedder_variant(manifest) -> None:
    manifest, settings = manifest
    [reason] = incompatibilities(manifest, settings.model_copy(update={"embedding_int8": False}))
    assert "onnx-int8" in reason and "onnx-float32" in reason


def test_another_dimension(manifest) -> None:
    manifest, settings = manifest
    [reason] = incompatibilities(manifest, settings, dimension=32)
    assert "64-d" in reason and "32-d" in reason


def test_other_chunking(manifest) -> None:
    manifest, settings = manifest
    [reason] = incompatibilities(manifest, settings.model_copy(update={"chunk_size": 300}))
    assert "200/40" in reason and "300/40" in reason


def test_another_chunker_version(manifest) -> None:
    manifest, settings = manifest
    older = replace(manifest, chunking=replace(manifest.chunking, version=manifest.chunking.version - 1))
    [reason] = incompatibilities(older, settings)
    assert "chunker version" in reason


def test_a_manifest_written_before_chunker_versions_reads_as_version_1(manifest) -> None:
    manifest, _ = manifest
    data = manifest.to_dict()
    del data["chunking"]["version"]
    assert Manifest.from_dict(data).chunking.version == 1


def test_another_normalisation_version(manifest, monkeypatch) -> None:
    manifest, settings = manifest
    monkeypatch.setitem(NORMALIZATION, "v", NORMALIZATION["v"] + 1)
    [reason] = incompatibilities(manifest, settings)
    assert "normalis" in reason


def test_changed_corpus_files(manifest) -> None:
    manifest, settings = manifest
    files = dict(manifest.files)
    files["new.txt"] = "0" * 64
    [reason] = incompatibilities(manifest, settings, corpus_files=files)
    assert "new.txt" in reason


# --- bug 1: a reload accepted an index of another model with the same dimension -------------------


def test_a_reload_refuses_an_index_of_another_model_of_the_same_dimension(fake_index) -> None:
    settings, embedder = fake_index
    app_settings = Settings(**settings.model_dump(), build_on_start=False, reload_interval=0.1, open_writes=True)
    with TestClient(create_app(app_settings, embedder=embedder)) as client:
        served = client.get("/readyz").json()["index_version"]
        other = settings.model_copy(update={"embedding_model": OtherFake.name})
        (settings.corpus_dir / "extra.txt").write_text("某县新设了编制周转池。", encoding="utf-8")
        build_index(other, OtherFake)  # the CLI building with another model into the served folder
        time.sleep(1.0)  # ten watcher rounds
        assert client.get("/readyz").json()["index_version"] == served
        assert client.post("/v1/search", json={"query": "东阿县如何开展双随机检查"}).status_code == 200


def test_a_fresh_start_refuses_the_same_index_with_the_reason(fake_index) -> None:
    settings, _ = fake_index
    other = settings.model_copy(update={"embedding_model": OtherFake.name})
    build_index(other, OtherFake)
    app_settings = Settings(**settings.model_dump(), build_on_start=False, reload_interval=0, open_writes=True)
    with TestClient(create_app(app_settings, embedder=FakeEmbedder())) as client:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert "other-hash-64" in response.json()["error"]["message"]


# --- bug 2: changing the embedding dimension crashed the build with KeyError ----------------------


def test_a_new_dimension_rebuilds_every_vector(fake_index) -> None:
    settings, _ = fake_index
    (settings.corpus_dir / "extra.txt").write_text("某县新设了编制周转池。", encoding="utf-8")
    narrow = NarrowFake()
    report = build_index(settings, lambda: narrow)
    store = IndexStore.load(settings.index_dir)
    assert store.manifest.model.dimension == 32 and store.dense.vectors().shape == (len(store.chunks), 32)
    assert report.chunks_reused == 0 and narrow.embedded == len(store.chunks)


# --- bug 3: a new RAGQA_CHUNK_SIZE was ignored at start-up ----------------------------------------


def test_start_up_rebuilds_an_index_chunked_otherwise(corpus, tmp_path, real_embedder) -> None:
    settings = settings_for(corpus, tmp_path / "index", model=str(MODEL))
    build_index(settings, lambda: real_embedder)
    before = IndexStore.load(settings.index_dir)
    env = {
        "RAGQA_INDEX_DIR": str(settings.index_dir),
        "RAGQA_CORPUS_DIR": str(corpus),
        "RAGQA_EMBEDDING_MODEL": str(MODEL),
        "RAGQA_CHUNK_SIZE": "400",
        "RAGQA_CHUNK_OVERLAP": "80",
    }
    with running_service(env, tmp_path / "service.log", build=True) as url:
        ready = httpx.get(f"{url}/readyz").json()
    after = IndexStore.load(settings.index_dir)
    assert (after.manifest.chunking.size, after.manifest.chunking.overlap) == (400, 80)
    assert ready["index_version"] == after.version != before.version
    assert ready["chunks"] == len(after.chunks) < len(before.chunks)


# --- bug 4: every reload created an upstream HTTP client that was never closed --------------------


def test_reloads_share_one_upstream_client_closed_at_shutdown(fake_index, monkeypatch) -> None:
    opened: list[httpx.Client] = []
    original_init = httpx.Client.__init__

    def tracking_init(self, *args, **kwargs) -> None:
        original_init(self, *args, **kwargs)
        opened.append(self)

    monkeypatch.setattr(httpx.Client, "__init__", tracking_init)
    settings, embedder = fake_index
    app_settings = Settings(
        **settings.model_dump(),
        build_on_start=False,
        reload_interval=0,
        llm_base_url="http://127.0.0.1:9/v1",
        open_writes=True,
    )
    with TestClient(create_app(app_settings, embedder=embedder)) as client:
        for n in range(3):
            (settings.corpus_dir / f"extra{n}.txt").write_text(f"第{n}份新增报告。", encoding="utf-8")
            assert client.post("/v1/admin/reindex").status_code == 200
        upstream = [c for c in opened if str(c.base_url).startswith("http://127.0.0.1:9")]
        assert len(upstream) == 1
    assert all(c.is_closed for c in upstream)


def test_serving_minds_only_what_makes_answers_wrong(manifest) -> None:
    manifest, settings = manifest
    rechunked = settings.model_copy(update={"chunk_size": 300})
    assert incompatibilities(manifest, rechunked, serving=True) == []
    files = {**manifest.files, "new.txt": "0" * 64}
    assert incompatibilities(manifest, settings, corpus_files=files, serving=True) == []
    assert incompatibilities(manifest, settings.model_copy(update={"embedding_int8": False}), serving=True)


def test_a_stale_index_is_served_until_a_build_replaces_it(fake_index) -> None:
    settings, embedder = fake_index
    manager = IndexManager(QASettings(**{**settings.model_dump(), "chunk_size": 300, "chunk_overlap": 60}), embedder)
    manager.load()
    assert manager.current is not None and manager.current.store.manifest.chunking.size == 200
    manager.reindex()
    assert manager.current.store.manifest.chunking.size == 300


def test_a_reindex_after_a_dimension_change_re_embeds_an_unchanged_corpus(fake_index) -> None:
    settings, _ = fake_index
    manager = IndexManager(QASettings(**settings.model_dump()), NarrowFake())
    manager.load()
    assert manager.current is None and "64-d" in (manager.load_error or "")
    manager.reindex()
    assert manager.current is not None and manager.current.store.manifest.model.dimension == 32


def test_an_index_refused_once_is_not_read_again_every_round(fake_index, monkeypatch) -> None:
    settings, _ = fake_index
    manager = IndexManager(QASettings(**settings.model_dump()), OtherFake())
    manager.load()
    loads = []
    monkeypatch.setattr(IndexStore, "load", classmethod(lambda cls, path: loads.append(path)))
    assert manager.reload_if_replaced() is False and loads == []
