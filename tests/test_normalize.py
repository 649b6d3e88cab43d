"""Normalisation for matching: Traditional to Simplified, pinyin and mojibake removed, offsets exact."""

import re

import pytest

from indexer.mojibake import find_repairs, repair
from indexer.normalize import normalize, normalize_query
from tests.conftest import REPORTS, TRADITIONAL_REPORT

TRADITIONAL = (REPORTS / TRADITIONAL_REPORT).read_text(encoding="utf-8")


def _first_paragraph(text: str) -> str:
    return next(p for p in text.split("\n\n") if p.startswith("2019年8月5日"))


def test_traditional_first_paragraph_becomes_simplified_without_pinyin() -> None:
    normalized = normalize(_first_paragraph(TRADITIONAL)).text
    assert normalized.startswith("2019年8月5日《中国共产党机构编制工作条例》(以下简称《条例》)正式施行")
    assert "肥东县委编办在县委、县委编委的坚强领导下" in normalized
    assert not re.search(r"\([a-zāáǎàēéěèīíǐìōóǒòūúǔùü]+\)", normalized), "pinyin left behind"
    assert normalized == normalize_query(normalized), "normalised text is a fixed point"


def test_every_mojibake_span_of_the_traditional_report_is_repaired() -> None:
    fixes = {(TRADITIONAL[f.start : f.end], f.text) for f in find_repairs(TRADITIONAL)}
    assert fixes == {("?!稐l", "。《條"), ("??h", "。縣"), ("?qū)崿F", "實現")}
    assert "?" not in repair(TRADITIONAL)
    normalized = normalize(TRADITIONAL).text
    assert "重大意义。《条例》强调机构编制资源" in normalized
    assert "多个领域实现历史性变革" in normalized


@pytest.mark.parametrize("text", ["这是什么?A股大涨", "是吗?我们b组", "问题(wto)与(a)", "价格?100元"])
def test_genuine_question_marks_and_latin_parentheses_are_left_alone(text: str) -> None:
    assert find_repairs(text) == []
    assert normalize(text).text == text.lower()


def test_offset_map_points_at_the_original_characters() -> None:
    norm = normalize(TRADITIONAL)
    for phrase, original in [
        ("机构编制", "機(jī)構(gòu)編制"),
        ("。县委编办", "??h委編辦"),
        ("实现历史性", "?qū)崿F(xiàn)歷史性"),
    ]:
        i = norm.text.index(phrase)
        start, end = norm.original_span(i, i + len(phrase))
        assert TRADITIONAL[start:end] == original


def test_whitespace_is_folded_and_fullwidth_forms_are_nfkc() -> None:
    norm = normalize("第一条\u3000\u3000机构  编制\r\n\n（试行）ＡＢＣ")
    assert norm.text == "第一条 机构 编制\n(试行)abc"
    assert len(norm.starts) == len(norm.text) == len(norm.ends)


def test_simplified_and_traditional_queries_normalise_alike() -> None:
    assert normalize_query("東阿縣如何開展雙隨機檢查") == normalize_query("东阿县如何开展双随机检查")
