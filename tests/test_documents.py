"""Reading report files in any common Chinese encoding, and skipping what is not text."""

import logging
from pathlib import Path

import pytest

from indexer.documents import guess_title, load_documents, read_document
from indexer.extract import UndecodableFile, decode_bytes

DATA = Path(__file__).parent / "data" / "encodings"
SIMPLIFIED = (DATA / "expected_simplified.txt").read_text(encoding="utf-8")
TRADITIONAL = (DATA / "expected_traditional.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "expected"),
    [("gb18030.txt", SIMPLIFIED), ("big5.txt", TRADITIONAL), ("utf16.txt", SIMPLIFIED)],
)
def test_legacy_and_utf16_files_decode_exactly(name: str, expected: str) -> None:
    assert read_document(DATA / name, name).text == expected


def test_utf8_bom_is_dropped_and_markdown_heading_becomes_title() -> None:
    doc = read_document(DATA / "utf8_bom.md", "utf8_bom.md")
    assert doc.text.startswith("# 双随机检查\n")
    assert doc.title == "双随机检查"


def test_random_bytes_are_undecodable() -> None:
    with pytest.raises(UndecodableFile):
        decode_bytes((DATA / "undecodable.txt").read_bytes())


def test_undecodable_file_is_skipped_with_a_warning_naming_it(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        docs = {d.source: d for d in load_documents(DATA)}
    assert "undecodable.txt" not in docs
    assert {"gb18030.txt", "big5.txt", "utf16.txt", "utf8_bom.md"} <= docs.keys()
    assert any("undecodable.txt" in record.getMessage() for record in caplog.records)


def test_missing_corpus_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        list(load_documents(tmp_path / "nowhere"))


def test_title_is_first_sentence_of_first_line() -> None:
    assert (
        guess_title("\n 山东东阿县委编办高度重视法治建设。认真宣传。\n正文", "a.txt")
        == "山东东阿县委编办高度重视法治建设"
    )
    assert guess_title("   \n", "folder/report.txt") == "report"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("text", ["东阿县推进“双随机、一公开”监管。\n抽查7次。", "Dong-e county, 2023.\n"])
def test_utf16_without_a_byte_order_mark_is_read(encoding, text) -> None:
    assert decode_bytes(text.encode(encoding)) == text


def test_binary_with_nul_bytes_is_still_refused() -> None:
    with pytest.raises(UndecodableFile, match="NUL"):
        decode_bytes(bytes(range(256)) * 4)
