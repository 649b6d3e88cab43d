"""Retriever behaviour that needs no real model: caching, filters, places."""

from indexer.build import build_index
from indexer.datatypes import Hit
from indexer.store import IndexStore
from qa.query import analyze
from qa.retriever import Retriever
from qa.settings import QASettings
from tests.conftest import DONGE_REPORT, FakeEmbedder, settings_for


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


def test_a_named_documents_passage_holding_its_rare_words_joins_the_reranked_candidates(tmp_path) -> None:
    """A question on when a law takes effect shares one word with a law's last article, while its other articles all
    repeat the law's name: neither search would bring that article."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    articles = [f"第{i}条 农民工工资支付依照本条例执行，第{i}项农民工工资由用人单位支付。" for i in range(1, 301)]
    (corpus / "wages.txt").write_text(
        "保障农民工工资支付条例\n\n" + "\n\n".join(articles) + "\n\n第301条 本条例自2020年5月1日起施行。\n",
        encoding="utf-8",
    )
    for n in range(150):  # every regulation's last article says "施行": a common word, as in a real corpus
        (corpus / f"rule{n}.txt").write_text(
            f"第{n}号办法\n\n第一条 为了规范第{n}类事项，制定本办法。\n\n第二条 本办法自2001年1月1日起施行。\n",
            encoding="utf-8",
        )
    settings = settings_for(corpus, tmp_path / "index")
    embedder = FakeEmbedder()
    build_index(settings, lambda: embedder)
    store = IndexStore.load(settings.index_dir)
    assert len(store.chunks) > 60, "more passages than the candidates"
    retriever = Retriever(store, embedder, dense_weight=0.3, candidates=10)
    query = analyze("《保障农民工工资支付条例》从什么时候开始施行？", retriever.query_vector)
    candidates = retriever.hybrid_candidates(query, 40)
    assert len({c.chunk.chunk_id for c in candidates}) == len(candidates)
    found = [i for i, c in enumerate(candidates) if "2020年5月1日起施行" in c.chunk.text]
    assert found and found[0] < QASettings().rerank_depth, "among the candidates the reranker reorders"
