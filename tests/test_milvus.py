"""Milvus as the store (Milvus Lite, embedded or as a server): the same rankings as FAISS, incremental
and crash-safe builds, and several service processes against one Milvus serving one corpus."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from indexer import milvus
from indexer.build import build_index
from indexer.manifest import incompatibilities
from indexer.store import IndexStore
from qa.query import analyze
from qa.retriever import Retriever
from tests.conftest import MODEL, REPORTS, FakeEmbedder, settings_for
from tests.server import free_port, running_service

QUESTIONS = [json.loads(line)["question"] for line in (REPORTS.parents[1] / "eval/datasets/dev_reports.jsonl").open()]


def _milvus_settings(corpus: Path, tmp_path: Path, uri: str | None = None):
    return settings_for(corpus, tmp_path / "milvus-index", vector_store="milvus",
                        milvus_uri=uri or str(tmp_path / "milvus.db"), milvus_collection="test")  # fmt: skip


def _collections(uri: str) -> list[str]:
    return sorted(c for c in milvus.client(uri).list_collections() if c.startswith("test_"))


def test_milvus_ranks_every_dev_question_exactly_as_faiss_and_bm25s(corpus: Path, tmp_path: Path) -> None:
    embedder = FakeEmbedder()
    build_index(settings_for(corpus, tmp_path / "faiss-index"), lambda: embedder)
    build_index(_milvus_settings(corpus, tmp_path), lambda: embedder)
    faiss_store, milvus_store = IndexStore.load(tmp_path / "faiss-index"), IndexStore.load(tmp_path / "milvus-index")
    assert milvus_store.manifest.store == "milvus" and faiss_store.manifest.store == "faiss"
    on_faiss = Retriever(faiss_store, embedder, dense_weight=0.3, candidates=50)
    on_milvus = Retriever(milvus_store, embedder, dense_weight=0.3, candidates=50)
    for question in QUESTIONS:
        query = analyze(question, embedder.embed_query)
        for mode in ("lexical", "dense", "hybrid"):
            expected, got = on_faiss.search(query, 10, mode), on_milvus.search(query, 10, mode)
            assert [h.chunk.chunk_id for h in got] == [h.chunk.chunk_id for h in expected], (question, mode)
            np.testing.assert_allclose([h.score for h in got], [h.score for h in expected], rtol=1e-4, atol=1e-5)
    # restricted to some sources, too
    query = analyze(QUESTIONS[0], embedder.embed_query)
    sources = sorted(faiss_store.documents)[:2]
    restricted = on_milvus.search(query, 5, "hybrid", sources)
    assert restricted and {h.chunk.source for h in restricted} <= set(sources)
    expected = on_faiss.search(query, 5, "hybrid", sources)
    assert [h.chunk.chunk_id for h in restricted] == [h.chunk.chunk_id for h in expected]


def test_incremental_builds_keep_the_served_version_and_drop_older_ones(corpus: Path, tmp_path: Path) -> None:
    embedder = FakeEmbedder()
    settings = _milvus_settings(corpus, tmp_path)
    first = build_index(settings, lambda: embedder).index_version
    (corpus / "new.txt").write_text("测试县推行“一枚印章管审批”改革，2023年共办理审批事项1200件。", encoding="utf-8")
    embedder.embedded = 0
    second = build_index(settings, lambda: embedder)
    assert second.added == ["new.txt"] and embedder.embedded == 1  # only the new file's chunk was embedded
    (corpus / "new.txt").unlink()
    third = build_index(settings, lambda: embedder).index_version
    uri = settings.milvus_uri
    # the current version and the one before it (replicas may still serve it); the first is gone
    assert _collections(uri) == sorted(milvus.collection_name("test", v) for v in (second.index_version, third))
    assert milvus.client(uri).describe_alias("test")["collection_name"] == milvus.collection_name("test", third)
    assert milvus.collection_name("test", first) not in _collections(uri)
    store = IndexStore.load(settings.index_dir)
    assert "new.txt" not in store.documents and store.dense.size == len(store.chunks)


def test_a_build_killed_after_writing_its_collection_leaves_the_old_version_served(corpus, tmp_path) -> None:
    embedder = FakeEmbedder()
    settings = _milvus_settings(corpus, tmp_path)
    served = build_index(settings, lambda: embedder).index_version
    # a build that wrote its collection and died before its manifest
    vectors = np.eye(3, 64, dtype=np.float32)
    orphan = milvus.write_version(settings.milvus_uri, "test", "20990101T000000000000-orphan", [vectors], 64,
                                  [["a"], ["b"], []], ["x", "x", "y"], hnsw=False)  # fmt: skip
    assert IndexStore.load(settings.index_dir).version == served
    (corpus / "new.txt").write_text("新的报告。", encoding="utf-8")
    build_index(settings, lambda: embedder)
    assert orphan not in _collections(settings.milvus_uri)  # the next build dropped it


def test_changing_the_store_makes_the_index_stale_and_the_build_moves_its_vectors(corpus, tmp_path) -> None:
    embedder = FakeEmbedder()
    faiss_settings = settings_for(corpus, tmp_path / "milvus-index")
    milvus_settings = _milvus_settings(corpus, tmp_path)
    build_index(faiss_settings, lambda: embedder)
    manifest = IndexStore.load(faiss_settings.index_dir).manifest
    [reason] = incompatibilities(manifest, milvus_settings)  # stale: `python -m service` rebuilds it
    assert "faiss" in reason and "milvus" in reason
    before = IndexStore.load(faiss_settings.index_dir)
    embedder.embedded = 0
    report = build_index(milvus_settings, lambda: embedder)
    assert embedder.embedded == 0 and report.chunks_reused == len(before.chunks)  # moved, not embedded again
    after = IndexStore.load(milvus_settings.index_dir)
    assert after.manifest.store == "milvus" and incompatibilities(after.manifest, milvus_settings) == []
    np.testing.assert_allclose(after.dense.vectors(), before.dense.vectors(), atol=1e-6)


def test_two_services_on_one_milvus_serve_an_upload_and_a_deletion_through_either(corpus, tmp_path) -> None:
    port = free_port()
    server_log = (tmp_path / "milvus.log").open("w")
    milvus_server = subprocess.Popen(
        [str(Path(sys.executable).parent / "milvus-lite"), "server", "--data-dir", str(tmp_path / "milvus-data"),
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=server_log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    env = {
        "RAGQA_CORPUS_DIR": str(corpus),
        "RAGQA_INDEX_DIR": str(tmp_path / "index"),
        "RAGQA_EMBEDDING_MODEL": str(MODEL),
        "RAGQA_VECTOR_STORE": "milvus",
        "RAGQA_MILVUS_URI": f"http://127.0.0.1:{port}",
        "RAGQA_MILVUS_COLLECTION": "replicas",
        "RAGQA_ADMIN_API_KEYS": "admin-key",
        "RAGQA_RELOAD_INTERVAL": "0.5",
    }
    try:
        _wait_for_port(port)
        with (
            running_service(env, tmp_path / "a.log", build=True, timeout=180) as first,
            running_service(env, tmp_path / "b.log", timeout=180) as second,
        ):
            question = {"question": "测试县2023年办理审批事项多少件？"}
            before = httpx.post(f"{second}/v1/ask", json=question, timeout=60).json()
            assert not any(c["source"] == "new.txt" for c in before.get("citations", []))
            uploaded = httpx.post(
                f"{first}/v1/documents",
                files={"file": ("new.txt", "测试县推行“一枚印章管审批”改革，2023年共办理审批事项1200件。".encode())},
                headers={"Authorization": "Bearer admin-key"},
                timeout=120,
            )
            assert uploaded.status_code == 201, uploaded.text
            deadline = time.monotonic() + 2.0
            while True:
                answer = httpx.post(f"{second}/v1/ask", json=question, timeout=60).json()
                if answer["answerable"] and answer["citations"][0]["source"] == "new.txt":
                    break
                assert time.monotonic() < deadline, f"the other process did not serve the upload within 2 s: {answer}"
                time.sleep(0.1)
            assert "1200" in answer["answer"]
            assert httpx.get(f"{second}/readyz").json()["index_version"] == uploaded.json()["index_version"]
            deleted = httpx.delete(
                f"{first}/v1/documents/new.txt", headers={"Authorization": "Bearer admin-key"}, timeout=120
            )
            assert deleted.status_code == 200, deleted.text
            deadline = time.monotonic() + 2.0
            while httpx.get(f"{second}/readyz").json()["index_version"] != deleted.json()["index_version"]:
                assert time.monotonic() < deadline, "the other process did not serve the deletion within 2 s"
                time.sleep(0.1)
            after = httpx.post(f"{second}/v1/ask", json=question, timeout=60).json()
            assert not any(c["source"] == "new.txt" for c in after.get("citations", []))
            milvus_server.terminate()  # Milvus gone: a clear 503 within the query timeout, not a 500 or a hang
            milvus_server.wait(timeout=30)
            started = time.monotonic()
            gone = httpx.post(f"{second}/v1/search", json={"query": "审批事项"}, timeout=60)
            assert gone.status_code == 503 and gone.json()["error"]["code"] == "index_unavailable", gone.text
            assert "Milvus" not in gone.text and time.monotonic() - started < milvus.QUERY_TIMEOUT + 5
    finally:
        milvus_server.terminate()
        milvus_server.wait(timeout=30)
        server_log.close()


def _wait_for_port(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            milvus.client(f"http://127.0.0.1:{port}").list_collections()
            return
        except Exception:  # not listening yet
            time.sleep(0.3)
    raise AssertionError(f"milvus-lite server not up on {port}")


@pytest.fixture(autouse=True)
def _fresh_clients():
    """Each test's Milvus Lite files are new: forget clients of earlier tests' URIs."""
    yield
    milvus.forget_clients()
