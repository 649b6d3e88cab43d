"""A question asking for a list is answered by the whole list: its lead and every item, also when the
items run on into the next passage read, and also when the sentence scored best is one of the items."""

import numpy as np
import pytest

from indexer.datatypes import Chunk, Document, Hit
from indexer.normalize import normalize_query
from qa.answer import Answerer
from qa.query import analyze
from tests.answer_doubles import ClosestEmbedder, DocumentRetriever

LAW = (
    "第十四条 具备下列条件的失业人员，可以领取失业保险金：\n"
    "  (一)按照规定参加失业保险，缴费满1年的；\n"
    "  (二)非因本人意愿中断就业的；\n"
    "  (三)已办理失业登记，并有求职要求的。\n"
    "第十五条 失业保险金按月发放。"
)
SPLIT = LAW.index("  (二)")  # the first passage ends after item (一); the second holds the rest
ITEMS = ["具备下列条件的失业人员", "缴费满1年的", "非因本人意愿中断就业的", "已办理失业登记"]


def _chunk(position: int, start: int, end: int, law: str = LAW) -> Chunk:
    text = law[start:end]
    return Chunk(f"law.txt#{position}", "law.txt", position, "条例", "", start, end, text, normalize_query(text))


@pytest.mark.parametrize("closest", ["具备下列条件", "(一)"])  # the lead or an item scored best
def test_a_list_question_is_answered_by_the_lead_and_every_item(closest) -> None:
    documents = {"law.txt": Document("law.txt", "失业保险条例", LAW, "0")}
    answerer = Answerer(DocumentRetriever(), ClosestEmbedder(closest), documents, threshold=0.45, max_sentences=2)
    hits = [Hit(_chunk(0, 0, SPLIT), 2.0), Hit(_chunk(1, SPLIT, len(LAW)), 1.0)]
    query = analyze("领取失业保险金需要具备哪些条件？", lambda text: np.asarray([1.0, 0.0], dtype=np.float32))
    answer = answerer._extractive(query, hits)
    for part in ITEMS:
        assert part in answer.text
    assert "按月发放" not in answer.text  # the list ends where its items end
    assert all(LAW[c.start : c.end] == c.quote for c in answer.citations)


@pytest.mark.parametrize("question", ["领取失业保险金需要具备哪些条件？", "失业人员领取失业保险金的条件"])
@pytest.mark.parametrize("overlap", [SPLIT, LAW.index("  (一)")])  # the next passage after, or overlapping, item (一)
def test_a_lead_is_quoted_with_the_items_of_the_passage_after_the_ones_read(question, overlap) -> None:
    documents = {"law.txt": Document("law.txt", "失业保险条例", LAW, "0")}
    first, second = _chunk(0, 0, SPLIT), _chunk(1, overlap, len(LAW))
    corpus = DocumentRetriever([first, second])
    answerer = Answerer(corpus, ClosestEmbedder("具备下列条件"), documents, threshold=0.45, max_sentences=2)
    query = analyze(question, lambda text: np.asarray([1.0, 0.0], dtype=np.float32))
    answer = answerer._extractive(query, [Hit(first, 1.0)])  # only the lead's passage was read
    for part in ITEMS:
        assert answer.text.count(part) == 1
    assert "按月发放" not in answer.text
    assert len(answer.citations) == 1 and all(LAW[c.start : c.end] == c.quote for c in answer.citations)


def test_a_question_about_one_item_is_answered_by_that_item() -> None:
    documents = {"law.txt": Document("law.txt", "失业保险条例", LAW, "0")}
    answerer = Answerer(DocumentRetriever(), ClosestEmbedder("(二)"), documents, threshold=0.45, max_sentences=1)
    hits = [Hit(_chunk(0, 0, SPLIT), 2.0), Hit(_chunk(1, SPLIT, len(LAW)), 1.0)]
    query = analyze("非因本人意愿中断就业的能领失业保险金吗？", lambda text: np.asarray([1.0, 0.0], dtype=np.float32))
    answer = answerer._extractive(query, hits)
    assert "非因本人意愿中断就业的" in answer.text and "具备下列条件" not in answer.text


def test_an_item_chosen_before_its_lead_is_quoted_once() -> None:
    documents = {"law.txt": Document("law.txt", "失业保险条例", LAW, "0")}
    answerer = Answerer(DocumentRetriever(), ClosestEmbedder("(二)"), documents, threshold=0.45, max_sentences=2)
    hits = [Hit(_chunk(0, 0, SPLIT), 2.0), Hit(_chunk(1, SPLIT, len(LAW)), 1.0)]
    query = analyze(
        "非因本人意愿中断就业的失业人员能领取失业保险金吗？", lambda text: np.asarray([1.0, 0.0], dtype=np.float32)
    )
    answer = answerer._extractive(query, hits)
    assert answer.text.count("非因本人意愿中断就业的") == 1
    spans = [(c.start, c.end) for c in answer.citations]
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:], strict=False))


OTHER = (
    "第三条 申请登记应当提交下列材料：\n"
    "  (一)申请书；\n"
    "  (二)身份证明。\n"
    "第四条 登记机关应当当场登记。\n"
    "第五条 有下列情形之一的，不予登记：\n"
    "  (一)材料不全的；\n"
    "  (二)未成年的。\n"
    "二、附则\n"
    "本办法自公布之日起施行。"
)


def test_an_item_whose_own_lead_was_not_read_is_not_given_another_lists_lead() -> None:
    documents = {"rules.txt": Document("rules.txt", "登记办法", OTHER, "0")}
    items = OTHER.index("  (一)材料不全")
    first = Chunk("rules.txt#0", "rules.txt", 0, "办法", "", 0, OTHER.index("第四条"), "", "")
    second = Chunk("rules.txt#1", "rules.txt", 1, "办法", "", items, len(OTHER), "", "")
    hits = [Hit(_with_text(first), 2.0), Hit(_with_text(second), 1.0)]
    answerer = Answerer(DocumentRetriever(), ClosestEmbedder("未成年"), documents, threshold=0.45, max_sentences=1)
    query = analyze("哪些情形不予登记？", lambda text: np.asarray([1.0, 0.0], dtype=np.float32))
    answer = answerer._extractive(query, hits)
    assert "未成年的" in answer.text and "申请书" not in answer.text


def test_a_lists_answer_stops_at_the_next_section_heading() -> None:
    documents = {"rules.txt": Document("rules.txt", "登记办法", OTHER, "0")}
    lead = OTHER.index("第五条")
    chunk = Chunk("rules.txt#1", "rules.txt", 1, "办法", "", lead, len(OTHER), "", "")
    answerer = Answerer(DocumentRetriever(), ClosestEmbedder("不予登记"), documents, threshold=0.45, max_sentences=2)
    query = analyze("哪些情形不予登记？", lambda text: np.asarray([1.0, 0.0], dtype=np.float32))
    answer = answerer._extractive(query, [Hit(_with_text(chunk), 1.0)])
    assert "未成年的" in answer.text and "附则" not in answer.text
    assert len(answer.citations) == 1  # lead and indented items are one contiguous quote


def _with_text(chunk: Chunk) -> Chunk:
    text = OTHER[chunk.start : chunk.end]
    return Chunk(chunk.chunk_id, chunk.source, chunk.position, chunk.title, "", chunk.start, chunk.end, text,
                 normalize_query(text))  # fmt: skip


ARTICLE_GOES_ON = LAW.replace("\n第十五条", "\n失业人员领取失业保险金，一般应当先办理求职登记。\n第十五条")


@pytest.mark.parametrize("read", [1, 2])  # the sentence after the list read or in the passage after those read
def test_a_list_is_quoted_with_the_rest_of_its_article(read) -> None:
    """A statute often qualifies its list in the article's next sentence ("…一般应当…"): quoted as context."""
    documents = {"law.txt": Document("law.txt", "失业保险条例", ARTICLE_GOES_ON, "0")}
    split = ARTICLE_GOES_ON.index("失业人员领取")
    chunks = [_chunk(0, 0, split, ARTICLE_GOES_ON), _chunk(1, split, len(ARTICLE_GOES_ON), ARTICLE_GOES_ON)]
    answerer = Answerer(
        DocumentRetriever(chunks), ClosestEmbedder("具备下列条件"), documents, threshold=0.45, max_sentences=2
    )
    query = analyze("领取失业保险金需要具备哪些条件？", lambda text: np.asarray([1.0, 0.0], dtype=np.float32))
    answer = answerer._extractive(query, [Hit(c, 2.0 - i) for i, c in enumerate(chunks[:read])])
    for part in [*ITEMS, "一般应当先办理求职登记"]:
        assert answer.text.count(part) == 1
    assert "按月发放" not in answer.text  # the next article is no part of it
    assert len(answer.citations) == 1 and all(ARTICLE_GOES_ON[c.start : c.end] == c.quote for c in answer.citations)


SANCTIONS = (
    "第二十六条 有下列行为之一的，由机构编制管理机关给予通报批评，并责令限期改正；情节严重的，依法给予处分：\n"
    "(一)擅自设立、撤销行政机构的；\n"
    "(二)擅自超职数配备领导成员的。\n"
    "第二十七条 本条例自公布之日起施行。"
)


def test_an_item_is_quoted_with_the_paragraph_of_its_lead() -> None:
    """A statute's item says what is done; its lead says what follows from it ("由…给予通报批评")."""
    documents = {"law.txt": Document("law.txt", "编制管理条例", SANCTIONS, "0")}
    chunk = _chunk(0, 0, len(SANCTIONS), SANCTIONS)
    answerer = Answerer(DocumentRetriever([chunk]), ClosestEmbedder("(二)"), documents, threshold=0.45, max_sentences=2)
    query = analyze("擅自超职数配备领导成员的会受到什么处理？", lambda text: np.asarray([1.0, 0.0], dtype=np.float32))
    answer = answerer._extractive(query, [Hit(chunk, 1.0)])
    assert answer.text.index("有下列行为之一的") < answer.text.index("给予通报批评") < answer.text.index("擅自超职数")
    assert "擅自设立" not in answer.text  # the other items are no part of it
    assert [SANCTIONS[c.start : c.end] for c in answer.citations] == [c.quote for c in answer.citations]
    assert answer.citations[0].quote.startswith("第二十六条")


def test_the_lead_s_paragraph_does_not_reach_into_the_article_before() -> None:
    """Articles that run on without a line break: the paragraph stops where the lead's article starts."""
    law = "第二十五条 机构编制管理机关应当接受社会监督。" + SANCTIONS
    documents = {"law.txt": Document("law.txt", "编制管理条例", law, "0")}
    chunk = _chunk(0, 0, len(law), law)
    answerer = Answerer(DocumentRetriever([chunk]), ClosestEmbedder("(二)"), documents, threshold=0.45, max_sentences=2)
    query = analyze("擅自超职数配备领导成员的会受到什么处理？", lambda text: np.asarray([1.0, 0.0], dtype=np.float32))
    answer = answerer._extractive(query, [Hit(chunk, 1.0)])
    assert "给予通报批评" in answer.text and "第二十五条" not in answer.text
