"""Chunks follow sentences and headings, and always quote the original text exactly."""

import pytest

from indexer.chunking import split_document
from indexer.datatypes import Document
from indexer.documents import load_documents
from tests.conftest import DONGE_REPORT, REPORTS, TRADITIONAL_REPORT

DOCUMENTS = {d.source: d for d in load_documents(REPORTS)}


@pytest.mark.parametrize(("size", "overlap"), [(200, 40), (120, 0), (400, 80)])
def test_every_chunk_of_every_report_is_its_original_text(size: int, overlap: int) -> None:
    for doc in DOCUMENTS.values():
        chunks = split_document(doc, size, overlap)
        assert chunks, doc.source
        for chunk in chunks:
            assert doc.text[chunk.start : chunk.end] == chunk.text
            assert chunk.chunk_id == f"{doc.source}#{chunk.position}"
            assert chunk.text.strip() == chunk.text


def test_chunks_cover_the_whole_report() -> None:
    doc = DOCUMENTS[DONGE_REPORT]
    chunks = split_document(doc, 200, 40)
    covered = set()
    for chunk in chunks:
        covered.update(range(chunk.start, chunk.end))
    assert all(i in covered for i, ch in enumerate(doc.text) if not ch.isspace())


def test_chunks_stay_near_the_target_length() -> None:
    for doc in DOCUMENTS.values():
        for chunk in split_document(doc, 200, 40):
            assert len(chunk.normalized) <= 200


def test_chunks_end_at_sentence_ends() -> None:
    chunks = split_document(DOCUMENTS[DONGE_REPORT], 200, 40)
    assert all(c.normalized[-1] in "。；;”" for c in chunks)


def test_section_is_the_heading_the_chunk_sits_under() -> None:
    chunks = split_document(DOCUMENTS[DONGE_REPORT], 200, 40)
    chunk = next(c for c in chunks if "共开展双随机7次" in c.text)
    assert chunk.section == "四、“三项监督”促法治成效"
    assert chunks[0].section == ""


def test_traditional_sections_keep_their_script_without_pinyin() -> None:
    chunks = split_document(DOCUMENTS[TRADITIONAL_REPORT], 200, 40)
    sections = {c.section for c in chunks}
    assert "三、健全機構編制基本工作制度,保障《條例》落地落實" in sections
    assert "一、充分認識做好機構編制工作的重大意義" in sections


def test_nested_headings_join_with_a_slash() -> None:
    chunks = split_document(DOCUMENTS["004_67af73b2410aa244.txt"], 200, 40)
    chunk = next(c for c in chunks if c.text.startswith("(二)决策规范"))
    assert chunk.section == "二、以同舟共济之协同,优化_机制提效能 / (二)决策规范,在践行民主集中中提升治理水平"


def test_a_new_point_starts_a_new_chunk() -> None:
    chunks = split_document(DOCUMENTS[DONGE_REPORT], 200, 40)
    assert any(c.text.startswith("二是双随机,监督精细化。") for c in chunks)


def test_overlap_must_be_smaller_than_size() -> None:
    with pytest.raises(ValueError, match="smaller than the chunk size"):
        split_document(DOCUMENTS[DONGE_REPORT], 100, 100)


def test_a_sentence_longer_than_a_chunk_is_cut_at_commas() -> None:
    text = "，".join(["机构编制工作要坚持党管机构编制原则"] * 30) + "。"
    doc = Document("long.txt", "long", text, "0" * 64)
    chunks = split_document(doc, 100, 0)
    assert len(chunks) > 1
    assert all(len(c.normalized) <= 100 and doc.text[c.start : c.end] == c.text for c in chunks)


def test_empty_document_has_no_chunks() -> None:
    assert split_document(Document("e.txt", "e", " \n\n ", "0" * 64), 200, 40) == []


LAW = (
    "第五条 公民担任人民陪审员，应当具备下列条件：\n（一）拥护中华人民共和国宪法；\n（二）年满二十八周岁；\n"
    "（三）遵纪守法、品行良好、公道正派；\n（四）具有正常履行职责的身体条件。\n"
    "第六条 下列人员不能担任人民陪审员：\n（一）律师、公证员、仲裁员；\n（二）其他不适宜担任人民陪审员的人员。\n"
)


def test_a_lists_items_stay_with_their_lead() -> None:
    chunks = split_document(Document("law.txt", "law", LAW, "0" * 64), 200, 40)
    assert [c.text.split("\n")[0] for c in chunks] == [
        "第五条 公民担任人民陪审员，应当具备下列条件：",
        "第六条 下列人员不能担任人民陪审员：",
    ]
    assert "年满二十八周岁" in chunks[0].normalized and "律师" in chunks[1].normalized


def test_a_list_longer_than_a_chunk_carries_its_lead_as_section() -> None:
    items = "".join(f"（{n}）第{n}项具体措施的内容写在这里；\n" for n in "一二三四五六七八九十")
    text = "第九条 县级以上人民政府应当采取下列措施：\n" + items
    chunks = split_document(Document("law.txt", "law", text, "0" * 64), 80, 0)
    assert len(chunks) > 2
    assert all(c.section == "第九条 县级以上人民政府应当采取下列措施：" for c in chunks[1:])
    assert all(text[c.start : c.end] == c.text for c in chunks)


def test_an_enumeration_after_a_full_stop_is_still_a_heading() -> None:
    text = "总体情况良好。\n（一）强化组织领导\n组织领导得到加强。\n（二）完善制度\n制度更加完善。"
    chunks = split_document(Document("r.txt", "r", text, "0" * 64), 200, 40)
    assert [c.section for c in chunks] == ["", "（一）强化组织领导", "（二）完善制度"]
