"""Building, updating and loading the hybrid index safely."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from indexer import store as store_module
from indexer.build import build_index, indexed_text
from indexer.dense import _blocks
from indexer.documents import sha256_bytes
from indexer.store import IndexNotFound, IndexStore
from tests.conftest import DONGE_REPORT, MODEL, ROOT, FakeEmbedder, settings_for


def test_build_writes_a_manifest_with_model_chunking_files_and_counts(fake_index) -> None:
    settings, _ = fake_index
    store = IndexStore.load(settings.index_dir)
    manifest = store.manifest.to_dict()  # the JSON layout on disk
    assert manifest == json.loads(
        next((settings.index_dir / "versions").iterdir()).joinpath("manifest.json").read_text()
    )
    assert manifest["model"] == {"name": FakeEmbedder.name, "variant": "onnx-int8", "dimension": 64}
    assert manifest["chunking"] == {"size": settings.chunk_size, "overlap": settings.chunk_overlap, "version": 2}
    assert manifest["counts"] == {"documents": 5, "chunks": len(store.chunks)}
    assert set(manifest["files"]) == set(store.documents) and len(manifest["files"]) == 5
    assert manifest["dense"]["kind"] == "flat"
    assert store.dense.size == store.lexical.size == len(store.chunks) == len(store.tokens)


def test_rebuild_after_changing_one_file_re_embeds_only_its_chunks(fake_index) -> None:
    settings, _ = fake_index
    before = IndexStore.load(settings.index_dir)
    path = settings.corpus_dir / DONGE_REPORT
    path.write_text(
        path.read_text(encoding="utf-8") + "\n五、新增段落。东阿县今年新设立了编制专家库。\n", encoding="utf-8"
    )
    embedder = FakeEmbedder()
    report = build_index(settings, lambda: embedder)
    after = IndexStore.load(settings.index_dir)
    changed_chunks = [c for c in after.chunks if c.source == DONGE_REPORT]
    assert report.changed == [DONGE_REPORT] and report.added == [] and report.removed == []
    assert embedder.embedded == report.chunks_embedded == len(changed_chunks)
    assert report.chunks_reused == len(after.chunks) - len(changed_chunks)
    unchanged_before = [c for c in before.chunks if c.source != DONGE_REPORT]
    assert unchanged_before == [c for c in after.chunks if c.source != DONGE_REPORT]


def test_rebuild_with_nothing_changed_embeds_nothing_and_never_loads_a_model(fake_index) -> None:
    settings, _ = fake_index

    def no_model():
        raise AssertionError("the embedder must not be created when nothing changed")

    report = build_index(settings, no_model)
    assert report.chunks_embedded == 0 and len(report.unchanged) == 5


def test_added_and_deleted_files_are_indexed_and_dropped(fake_index) -> None:
    settings, _ = fake_index
    (settings.corpus_dir / "002_aec6c92409b370db.txt").unlink()
    (settings.corpus_dir / "sub").mkdir()
    (settings.corpus_dir / "sub" / "new.md").write_text("# 新报告\n某县推进事业单位改革。", encoding="utf-8")
    embedder = FakeEmbedder()
    report = build_index(settings, lambda: embedder)
    store = IndexStore.load(settings.index_dir)
    assert report.added == ["sub/new.md"] and report.removed == ["002_aec6c92409b370db.txt"]
    assert embedder.embedded == 1
    assert "002_aec6c92409b370db.txt" not in store.documents
    assert {c.source for c in store.chunks} == set(store.documents)


def test_changed_chunking_settings_rebuild_everything(fake_index) -> None:
    settings, _ = fake_index
    embedder = FakeEmbedder()
    report = build_index(settings.model_copy(update={"chunk_size": 300}), lambda: embedder)
    assert report.chunks_reused == 0 and embedder.embedded == report.chunks_embedded > 0


def test_a_failure_while_writing_leaves_the_previous_index_loadable(fake_index, monkeypatch) -> None:
    settings, _ = fake_index
    version = IndexStore.load(settings.index_dir).version
    (settings.corpus_dir / "extra.txt").write_text("新增的报告。", encoding="utf-8")

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed while writing the dense index")

    monkeypatch.setattr(store_module.DenseIndex, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        build_index(settings, FakeEmbedder)
    assert IndexStore.load(settings.index_dir).version == version


def test_a_build_killed_at_any_moment_leaves_the_old_index_loadable(tmp_path: Path) -> None:
    """SIGKILL real `python -m indexer build` processes at increasing delays."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    reports = sorted((ROOT / "data" / "reports").glob("*.txt"))
    for copy in range(6):  # enough text that a build takes a few seconds
        for report in reports:
            (corpus / f"{copy}_{report.name}").write_text(
                report.read_text(encoding="utf-8") + f"\n第{copy}份。", encoding="utf-8"
            )
    index = tmp_path / "index"
    command = [sys.executable, "-m", "indexer", "build", "--corpus", str(corpus), "--index", str(index),
               "--model", str(MODEL), "--quiet"]  # fmt: skip
    subprocess.run(command, check=True, cwd=ROOT, capture_output=True)
    version = IndexStore.load(index).version
    (corpus / "0_001_5545cfdd99bf609a.txt").write_text("已修改。东阿县的新内容。", encoding="utf-8")
    current_files = {p.name: sha256_bytes(p.read_bytes()) for p in corpus.iterdir()}
    for delay in (0.5, 1.5, 2.5, 3.5, 4.5):
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait()
        store = IndexStore.load(index)  # always a whole version: the old one, or a finished new one
        if store.version != version:  # the kill came after the atomic swap (or the build finished)
            assert store.manifest.files == current_files
        version = store.version
        assert len(store.chunks) == store.dense.size == store.lexical.size


def test_loading_a_missing_index_says_how_to_build_one(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFound, match="python -m indexer build"):
        IndexStore.load(tmp_path / "none")


def test_empty_corpus_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    with pytest.raises(ValueError, match="no readable"):
        build_index(settings_for(tmp_path / "corpus", tmp_path / "index"), FakeEmbedder)


def test_a_build_reports_the_time_and_peak_memory_of_each_stage(corpus: Path, tmp_path: Path) -> None:
    report = build_index(settings_for(corpus, tmp_path / "index"), FakeEmbedder)
    stages = ["read", "chunk", "tokenize", "embed", "dense", "lexical", "write"]
    assert list(report.stage_seconds) == stages and list(report.peak_rss_mb) == stages
    assert all(seconds >= 0 for seconds in report.stage_seconds.values())
    assert sum(report.stage_seconds.values()) <= report.seconds
    peaks = list(report.peak_rss_mb.values())
    assert peaks == sorted(peaks) and peaks[0] > 0  # a high-water mark only grows


def test_every_row_holds_its_own_chunks_vector_after_incremental_builds(corpus: Path, tmp_path: Path) -> None:
    """Reused and fresh vectors go into the index part by part, in row order, HNSW included."""
    embedder = FakeEmbedder()
    settings = settings_for(corpus, tmp_path / "index", hnsw_threshold=20)
    build_index(settings, lambda: embedder)
    (corpus / "000_e8aad2deade5b0b5.txt").write_text("东阿县开展双随机抽查。\n郓城县推进改革。", encoding="utf-8")
    (corpus / "new.txt").write_text("新增的报告：推行一枚印章管审批。", encoding="utf-8")
    report = build_index(settings, lambda: embedder)
    assert report.chunks_reused > 0 and report.chunks_embedded > 0
    store = IndexStore.load(settings.index_dir)
    assert store.manifest.dense_kind == "hnsw"
    expected = embedder.embed_documents([indexed_text(c) for c in store.chunks])
    np.testing.assert_allclose(store.dense.vectors(), expected, atol=1e-6)


def test_an_index_rebuilt_part_by_part_has_the_hnsw_graph_of_one_built_at_once(corpus: Path, tmp_path: Path) -> None:
    """HNSW's graph depends on how rows are added: reused and fresh vectors arrive in other parts than in a
    build from scratch, yet the same rows must give the same graph, so a rebuild ranks as before."""
    embedder = FakeEmbedder()
    at_once = settings_for(corpus, tmp_path / "at-once", hnsw_threshold=20)
    build_index(at_once, lambda: embedder)
    held_back = tmp_path / "held-back"
    held_back.mkdir()
    last = sorted(corpus.iterdir())[-1]
    last.rename(held_back / last.name)
    in_parts = settings_for(corpus, tmp_path / "in-parts", hnsw_threshold=20)
    build_index(in_parts, lambda: embedder)
    (held_back / last.name).rename(last)
    report = build_index(in_parts, lambda: embedder)
    assert report.chunks_reused > 0 and report.chunks_embedded > 0
    graphs = [(s.index_dir / "current" / "dense.faiss").read_bytes() for s in (at_once, in_parts)]
    assert IndexStore.load(in_parts.index_dir).manifest.dense_kind == "hnsw" and graphs[0] == graphs[1]


def test_rows_arriving_in_any_parts_are_added_in_the_same_blocks() -> None:
    rows = np.arange(17 * 2, dtype=np.float64).reshape(17, 2)
    parts = [rows[:0], rows[:7], rows[7:7], rows[7:8], rows[8:]]
    blocks = list(_blocks(iter(parts), 3))
    assert [len(b) for b in blocks] == [3, 3, 3, 3, 3, 2]
    assert all(b.dtype == np.float32 and b.flags.c_contiguous for b in blocks)
    np.testing.assert_array_equal(np.concatenate(blocks), rows)
    assert list(_blocks(iter([rows[:0]]), 3)) == []
