"""The ONNX Runtime embedder against sentence-transformers, length batching, and query micro-batching."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from indexer.embedders.batching import BatchingEmbedder
from indexer.embedders.onnx_backend import OnnxEmbedder, ensure_export, length_batches
from indexer.embedders.torch_backend import SentenceTransformerEmbedder
from tests.conftest import MODEL, REPORTS, FakeEmbedder

TEXTS = [
    "东阿县如何开展双随机检查",
    "學習貫徹《條例》",
    "全面推行“双随机、一公开”监管，随机抽取检查对象，随机选派执法检查人员，抽查情况及查处结果及时向社会公开。",
    "x",
    "",
]


@pytest.fixture(scope="module")
def torch_vectors() -> np.ndarray:
    return SentenceTransformerEmbedder(str(MODEL)).embed_documents(TEXTS + _report_lines())


def _report_lines() -> list[str]:
    lines = [line.strip() for path in sorted(REPORTS.glob("*.txt")) for line in path.read_text().splitlines()]
    return [line for line in lines if line][:40]


@pytest.mark.parametrize(("int8", "floor"), [(False, 0.9999), (True, 0.98)])
def test_onnx_vectors_match_sentence_transformers(torch_vectors, int8, floor):
    vectors = OnnxEmbedder(str(MODEL), int8=int8, token_budget=256).embed_documents(TEXTS + _report_lines())
    assert vectors.shape == torch_vectors.shape and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert (vectors * torch_vectors).sum(axis=1).min() >= floor


def test_float32_vectors_do_not_depend_on_the_batch_and_int8_says_so():
    embedder = OnnxEmbedder(str(MODEL), int8=False)
    batch = embedder.embed_documents(TEXTS)
    for text, vector in zip(TEXTS, batch, strict=True):
        assert np.allclose(embedder.embed_query(text), vector, atol=1e-5)  # padding must not leak into pooling
    assert embedder.batch_invariant and not OnnxEmbedder(str(MODEL), int8=True).batch_invariant
    with pytest.raises(ValueError, match="depend on the batch"):
        BatchingEmbedder(OnnxEmbedder(str(MODEL), int8=True))


def test_export_is_reused_not_redone():
    first = ensure_export(str(MODEL), int8=True)
    modified = first.stat().st_mtime_ns
    assert ensure_export(str(MODEL), int8=True) == first and first.stat().st_mtime_ns == modified
    assert (first.parent / "tokenizer.json").is_file() and (first.parent / "model.onnx").is_file()


def test_length_batches_cover_every_index_once_within_budget():
    lengths = [5, 300, 40, 40, 1000, 3, 120, 7, 64, 64, 64]
    batches = length_batches(lengths, max_size=4, token_budget=256)
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) <= 4
        # A batch pads to its longest text; only a lone over-long text may exceed the budget.
        assert len(batch) == 1 or len(batch) * (max(lengths[i] for i in batch) + 2) <= 256
    assert [lengths[b[0]] for b in batches] == sorted(lengths[b[0]] for b in batches)


class _CountingEmbedder(FakeEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[int] = []
        self.gate = threading.Event()

    def embed_documents(self, texts):
        self.gate.wait(5)  # hold the first batch so the others queue up behind it
        self.calls.append(len(texts))
        if "boom" in texts:
            raise RuntimeError("model failed")
        return super().embed_documents(texts)


def test_concurrent_queries_are_embedded_in_batches_with_the_right_vectors():
    inner = _CountingEmbedder()
    batching = BatchingEmbedder(inner, max_batch=8)
    questions = [f"问题{i}东阿县" for i in range(24)]
    with ThreadPoolExecutor(24) as pool:
        futures = [pool.submit(batching.embed_query, q) for q in questions]
        threading.Timer(0.2, inner.gate.set).start()
        vectors = [f.result(timeout=10) for f in futures]
    expected = FakeEmbedder().embed_documents(questions)
    assert np.allclose(np.stack(vectors), expected)
    assert sum(inner.calls) == 24 and len(inner.calls) < 24 and max(inner.calls) <= 8


def test_a_failed_batch_fails_its_requests_and_the_batcher_keeps_working():
    inner = _CountingEmbedder()
    inner.gate.set()
    batching = BatchingEmbedder(inner)
    with pytest.raises(RuntimeError, match="model failed"):
        batching.embed_query("boom")
    assert np.allclose(batching.embed_query("东阿县"), FakeEmbedder().embed_query("东阿县"))
