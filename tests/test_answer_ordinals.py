"""A question asking for a counted set ("三个导向是什么") is answered by the heading naming it and the first
sentence of each of its items told by ordinals ("一是…二是…"), read on past the passages read; the lead
paragraph naming every set, and another section's items, are not the answer."""

import numpy as np

from indexer.datatypes import Chunk, Document, Hit
from indexer.normalize import normalize_query
from qa.answer import Answerer
from qa.query import CountedSet, analyze
from tests.answer_doubles import ClosestEmbedder, DocumentRetriever

REPORT = (
    "崇川区委编办强化“三种意识”、突出“三个导向”，为全区发展提供坚强的机构编制保障。\n"
    "一、强化“三种意识”，实现机构编制与中心工作同频共振\n"
    "一是强化政治意识。坚持党管机构编制原则，严格执行请示报告制度。\n"
    "二是强化大局意识。围绕中心工作配置编制资源。\n"
    "三是强化法治意识。严格落实《条例》各项规定。\n"
    "二、突出“三个导向”，实现改革发展与自身建设并驾齐驱\n"
    "一是坚持目标导向。对照绩效评价指标研究部署。\n"
    "二是坚持问题导向。聚焦群众反映的难点问题。\n"
    "三是坚持高效导向。严控总量、盘活存量。\n"
    "三、下一步工作打算\n"
    "一是加强学习培训。\n"
)
LINES = REPORT.splitlines(keepends=True)


def _chunks(text: str = REPORT) -> list[Chunk]:
    """One passage a line, as a short-passage index would hold them."""
    chunks, start = [], 0
    for position, line in enumerate(text.splitlines(keepends=True)):
        end = start + len(line)
        chunks.append(Chunk(f"r.txt#{position}", "r.txt", position, "", "", start, end, line, normalize_query(line)))
        start = end
    return chunks


def _answer(question: str, closest: str, read: list[int], text: str = REPORT):
    chunks = _chunks(text)
    documents = {"r.txt": Document("r.txt", "崇川区委编办工作总结", text, "0")}
    answerer = Answerer(DocumentRetriever(chunks), ClosestEmbedder(closest), documents, threshold=0.45, max_sentences=2)
    query = analyze(question, lambda text: np.asarray([1.0, 0.0], dtype=np.float32))
    return answerer._extractive(query, [Hit(chunks[i], 1.0 / (1 + rank)) for rank, i in enumerate(read)])


def test_a_counted_set_is_answered_by_its_items_first_sentences() -> None:
    # the lead paragraph and the heading both name the set; only the heading's section enumerates it, and its
    # items lie in passages that were not read
    answer = _answer("崇川区突出的三个导向是什么？", closest="三个导向", read=[0, 5])
    for item in ("一是坚持目标导向", "二是坚持问题导向", "三是坚持高效导向"):
        assert item in answer.text
    assert "对照绩效" not in answer.text and "强化政治意识" not in answer.text and "加强学习培训" not in answer.text
    assert "为全区发展" not in answer.text  # the lead paragraph names the set but answers nothing
    assert len(answer.citations) == 3 and all(REPORT[c.start : c.end] == c.quote for c in answer.citations)


def test_a_sentence_naming_the_set_followed_by_a_section_heading_is_no_list_of_it() -> None:
    # only the lead paragraph was read: the next line heads a section ("一、"), so no items follow the lead; the
    # heading naming the set is in a passage not read and is not searched for (a limitation)
    answer = _answer("崇川区强化的三种意识是什么？", closest="三种意识", read=[0])
    assert answer.answerable and "为全区发展" in answer.text and "政治意识" not in answer.text


def _answer_over(text: str, question: str, closest: str):
    chunk = Chunk("t.txt#0", "t.txt", 0, "", "", 0, len(text), text, normalize_query(text))
    documents = {"t.txt": Document("t.txt", "工作总结", text, "0")}
    answerer = Answerer(
        DocumentRetriever([chunk]), ClosestEmbedder(closest), documents, threshold=0.45, max_sentences=2
    )
    query = analyze(question, lambda _: np.asarray([1.0, 0.0], dtype=np.float32))
    return answerer._extractive(query, [Hit(chunk, 1.0)])


def test_items_opening_later_than_right_after_the_sentence_naming_the_set_are_not_its_items() -> None:
    text = "突出“两个导向”。这是一项长期任务。各部门要高度重视。\n一是坚持目标导向。对照指标部署。\n二是坚持问题导向。"
    answer = _answer_over(text, "突出的两个导向是什么？", closest="两个导向")
    assert "坚持问题导向" not in answer.text


def test_a_lead_chosen_first_is_answered_by_its_ordinal_items_first_sentences() -> None:
    text = (
        "崇川区的主要做法如下：\n一是坚持目标导向。对照指标研究部署。\n二是坚持问题导向。聚焦难点问题。\n三、下一步打算"
    )
    answer = _answer_over(text, "崇川区的主要做法是什么？", closest="主要做法")
    assert "坚持目标导向" in answer.text and "坚持问题导向" in answer.text
    assert "对照指标" not in answer.text and "下一步" not in answer.text


def test_no_more_items_are_quoted_than_the_question_counts() -> None:
    text = "突出“两个导向”\n一是坚持目标导向。\n二是坚持问题导向。\n三是坚持高效导向。"
    answer = _answer_over(text, "突出的两个导向是什么？", closest="两个导向")
    assert "坚持问题导向" in answer.text and "高效导向" not in answer.text


def test_an_ordinal_number_is_no_counted_set() -> None:
    def counted(question: str) -> CountedSet | None:
        return analyze(question, lambda text: None).counted_set

    assert counted("第三个五年计划是什么？") is None
    assert counted("二十大报告提到，经济总量占多少？") is None, "the end of a larger number counts nothing"
    assert counted("统一三个标准是什么？") == ("三个标准", 3), "a word ending in 一 is no number"
    assert counted("三个导向是什么？") == ("三个导向", 3)
    assert counted("来往于哪两个地方？") == ("两个地方", 2)
    assert counted("十个坚持是什么？") == ("十个坚持", 10)


def test_a_question_asking_no_counted_set_is_answered_as_before() -> None:
    answer = _answer("崇川区如何坚持问题导向？", closest="聚焦群众", read=[7, 6])
    assert "聚焦群众反映的难点问题" in answer.text and "坚持目标导向" not in answer.text


def test_parts_the_text_never_names_are_the_document_s_numbered_sections() -> None:
    answer = _answer("这份总结分为哪三个部分？", closest="打算", read=[9, 0])
    headings = [line.strip() for line in LINES if line[0] in "一二三" and line[1] == "、"]
    assert [c.quote.strip() for c in answer.citations] == headings, "each section's heading, in order"
    assert "强化政治意识" not in answer.text
    four = _answer("这份总结分为哪四个部分？", closest="打算", read=[9, 0])
    assert "突出“三个导向”，实现" not in four.text, "three sections are no four parts"


def test_a_set_the_text_names_is_not_answered_by_the_sections() -> None:
    text = "我们推动“三个突出”：突出政治引领、突出改革创新、突出精简高效。\n" + "".join(
        f"{n}、突出{part}\n" for n, part in zip("一二三", ("政治引领", "改革创新", "精简高效"), strict=True)
    )
    answer = _answer("推动落实的三个突出是什么？", closest="三个突出", read=[0, 1], text=text)
    assert "突出政治引领、突出改革创新、突出精简高效" in answer.text and "三、突出精简高效" not in answer.text
    unnamed = _answer("推动落实的三个部分是什么？", closest="三个突出", read=[0, 1], text=text)
    assert "三、突出精简高效" in unnamed.text, "the same document's sections answer a set it does not name"
    things = _answer("推动落实的三项措施是什么？", closest="三个突出", read=[0, 1], text=text)
    assert "三、突出精简高效" not in things.text, "a counted set of things is no document's parts"
