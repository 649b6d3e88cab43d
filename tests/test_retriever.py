"""Retriever behaviour that needs no real model: caching, filters, places."""

from indexer.datatypes import Hit
from indexer.store import IndexStore
from qa.query import analyze
from qa.retriever import Retriever
from tests.conftest import DONGE_REPORT, FakeEmbedder


def _retriever(settings, **options) -> tuple[Retriever, FakeEmbedder]:
    embedder = FakeEmbedder()
    store = IndexStore.load(settings.index_dir)
    return Retriever(store, embedder, dense_weight=0.3, candidates=100, **options), embedder


def _search(retriever: Retriever, text: str, top_k: int, mode: str = "hybrid") -> list[Hit]:
    return retriever.search(analyze(text, retriever.query_vector), top_k, mode)


def test_a_repeated_query_is_embedded_once_whatever_its_script(fake_index) -> None:
    retriever, embedder = _retriever(fake_index[0])
    first = _search(retriever, "东阿县如何开展双随机检查", 5)
    embedded = embedder.embedded
    again = _search(retriever, "東阿縣如何開展雙隨機檢查", 5)
    assert embedder.embedded == embedded, "the Traditional form normalises to the cached Simplified one"
    assert [h.chunk.chunk_id for h in again] == [h.chunk.chunk_id for h in first]


def test_a_zero_sized_cache_embeds_every_time(fake_index) -> None:
    retriever, embedder = _retriever(fake_index[0], query_cache=0)
    _search(retriever, "东阿县", 5)
    _search(retriever, "东阿县", 5)
    assert embedder.embedded == 2


def test_reports_naming_the_questions_place_rank_first(fake_index) -> None:
    retriever, _ = _retriever(fake_index[0])
    hits = _search(retriever, "东阿县如何学习贯彻条例", 5, mode="lexical")
    assert hits[0].chunk.source == DONGE_REPORT
