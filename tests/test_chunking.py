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
