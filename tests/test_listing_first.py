"""A question asking for a counted set is answered first by the passage that lists it, not the lead naming it."""

from indexer.datatypes import Chunk
from qa.query import analyze
from qa.retriever import _listing_first

LEAD = "崇川区委编办强化“三种意识”、突出“三个导向”、涵养“三种思维”，推动机构编制工作。"
LISTING = "一、强化“三种意识”，实现同频共振\n一是强化政治意识。机构编制工作是党的一项重要工作。"
OTHER = "二、突出“三个导向”，一是坚持目标导向。"


def _ranked(*texts: str, sources: tuple[str, ...] = ()) -> list[tuple[Chunk, float]]:
    """The texts as reranked candidates, best first, from r.txt unless `sources` names each one's document."""
    names = sources or ("r.txt",) * len(texts)
    pairs = enumerate(zip(texts, names, strict=True))
    chunks = [Chunk(f"{n}#{i}", n, i, "报告", "", 0, len(t), t, t) for i, (t, n) in pairs]
    return [(chunk, 3.0 - i) for i, chunk in enumerate(chunks)]


def _texts(ranked: list[tuple[Chunk, float]]) -> list[str]:
    return [chunk.text for chunk, _ in ranked]


def test_the_passage_listing_the_counted_set_goes_first_and_scores_still_fall() -> None:
    query = analyze("崇川区委编办强化的三种意识是什么？", lambda text: None)
    reordered = _listing_first(query, _ranked(LEAD, OTHER, LISTING))
    assert _texts(reordered) == [LISTING, LEAD, OTHER], "the other set's items list nothing asked"
    assert [score for _, score in reordered] == [3.0, 2.0, 1.0]


def test_the_order_stays_when_the_first_lists_the_set_or_none_in_reach_does() -> None:
    asked = analyze("崇川区委编办强化的三种意识是什么？", lambda text: None)
    assert _texts(_listing_first(asked, _ranked(LISTING, LEAD))) == [LISTING, LEAD]
    assert _texts(_listing_first(asked, _ranked(LEAD, OTHER, OTHER, LISTING))) == [LEAD, OTHER, OTHER, LISTING]
    no_item = "强化“三种意识”，思想统一是前提，2021.1、2022.3两次部署，投资,1.5万亿元。"  # no clause opens an item
    assert _texts(_listing_first(asked, _ranked(LEAD, no_item))) == [LEAD, no_item]
    far = "强化“三种意识”，" + "推动机构编制工作高质量发展，" * 5 + "二、突出“三个导向”，一是坚持目标导向。"
    assert _texts(_listing_first(asked, _ranked(LEAD, far))) == [LEAD, far], "the items must follow the name"
    other_report = _ranked(LEAD, LISTING, sources=("a.txt", "b.txt"))
    assert _texts(_listing_first(asked, other_report)) == [LEAD, LISTING], "another document's list is not lifted"
    not_counted = analyze("崇川区委编办如何强化政治意识？", lambda text: None)
    assert _texts(_listing_first(not_counted, _ranked(LEAD, LISTING))) == [LEAD, LISTING]
