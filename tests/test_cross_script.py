"""A Simplified query finds a Traditional passage and the reverse, through each index alone."""

import pytest

from indexer.store import IndexStore
from qa.query import analyze
from qa.retriever import Retriever
from tests.conftest import DONGE_REPORT, TRADITIONAL_REPORT

CASES = [
    # (query, source that must be at rank 1, a phrase of the passage as normalised)
    ("肥东县委编办出台了哪些机构编制基本工作制度", TRADITIONAL_REPORT, "工作规则"),
    ("肥东县落实了国防动员体制改革吗", TRADITIONAL_REPORT, "行政复议体制改革"),
    ("東阿縣開展雙隨機抽查了多少個部門", DONGE_REPORT, "抽查部门45个"),
]


@pytest.fixture(scope="module")
def retriever(real_index, real_embedder) -> Retriever:
    return Retriever(IndexStore.load(real_index.index_dir), real_embedder, dense_weight=0.4, candidates=100)


@pytest.mark.parametrize("mode", ["lexical", "dense", "hybrid"])
@pytest.mark.parametrize(("query", "source", "phrase"), CASES)
def test_query_in_one_script_finds_the_passage_in_the_other(retriever, mode, query, source, phrase) -> None:
    hits = retriever.search(analyze(query, retriever.query_vector), top_k=3, mode=mode)
    assert hits[0].chunk.source == source
    assert any(phrase in hit.chunk.normalized for hit in hits), [h.chunk.normalized[:40] for h in hits]
