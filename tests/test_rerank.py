"""The shipped reranker: its file is the one its card describes, it loads, and it reorders only the top."""

import hashlib

import pytest

from qa.features import FEATURES
from qa.rerank import DEFAULT_MODEL, Reranker, model_card


def test_the_shipped_model_matches_its_card() -> None:
    card = model_card()
    assert hashlib.sha256(DEFAULT_MODEL.read_bytes()).hexdigest() == card["sha256"]
    assert card["features"] == list(FEATURES)
    assert card["command"].startswith("python -m training ranker") and isinstance(card["seed"], int)
    check = card["held_out_check"]
    assert check["held_out_hit_at_1_reranked"] > check["held_out_hit_at_1_retrieval"] + 0.05
    assert DEFAULT_MODEL.stat().st_size < 40 << 20


def test_a_model_of_other_features_is_refused(tmp_path) -> None:
    text = DEFAULT_MODEL.read_text(encoding="utf-8").replace("feature_names=fused ", "feature_names=other ", 1)
    other = tmp_path / "other.txt"
    other.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="other features"):
        Reranker(other)


def test_reranking_reorders_the_top_and_keeps_every_candidate(fake_index) -> None:
    from indexer.store import IndexStore
    from qa.loaded import open_index
    from qa.settings import QASettings

    settings, embedder = fake_index
    index = open_index(IndexStore.load(settings.index_dir), embedder, QASettings(**settings.model_dump()), None)
    query = index.analyze("东阿县开展了几次双随机抽查？")
    candidates = index.retriever.hybrid_candidates(query, 40)
    ranked = Reranker(depth=10).rerank(query, candidates, index.retriever)
    assert [c.chunk_id for c, _ in ranked[10:]] == [c.chunk.chunk_id for c in candidates[10:]]
    assert {c.chunk_id for c, _ in ranked[:10]} == {c.chunk.chunk_id for c in candidates[:10]}
