"""Hostile rich documents (issue 14, finding 4): refused by their cost before or while they are parsed,
in a child process with a time and memory limit, and parsed once however many builds follow."""

import io
import zipfile

import docx
import pytest
from fastapi.testclient import TestClient
from pypdf import PdfWriter

import indexer.extract
from indexer.build import build_index
from indexer.extract import ExtractionLimits, UndecodableFile, extract_text
from service.app import create_app
from service.config import Settings


def _docx(paragraph: str = "东阿县推进双随机抽查。") -> bytes:
    document = docx.Document()
    document.add_paragraph(paragraph)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _rewritten(package: bytes, replace: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            target.writestr(item.filename, replace.pop(item.filename, source.read(item.filename)))
        for name, data in replace.items():
            target.writestr(name, data)
    return out.getvalue()


def _empty_paragraphs(count: int) -> bytes:
    with zipfile.ZipFile(io.BytesIO(_docx())) as package:
        xml = package.read("word/document.xml")
    head, tail = xml.split(b"<w:body>", 1)
    return _rewritten(_docx(), {"word/document.xml": head + b"<w:body>" + b"<w:p/>" * count + tail})


def _numbered_elements(count: int) -> bytes:  # varied enough not to compress suspiciously well
    return b"".join(b"<w:t>%d</w:t>" % (i * 7919 % 1_000_003) for i in range(count))


@pytest.fixture
def client(fake_index):
    index_settings, embedder = fake_index
    settings = Settings(**index_settings.model_dump(), build_on_start=False, open_writes=True)
    with TestClient(create_app(settings, embedder=embedder)) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("paragraphs.docx", _empty_paragraphs(2_000_000), "compressed suspiciously well"),
        ("paragraphs.docx", _rewritten(_docx(), {"word/document.xml": _numbered_elements(600_000)}), "elements"),
        ("image.docx", _rewritten(_docx(), {"word/media/image1.png": b"\0" * (80 << 20)}), "expands to"),
        ("elements.html", b"<p>x</p>" * 600_000, "elements"),
    ],
)
def test_a_hostile_document_is_refused_with_the_limit_it_hit(client, fake_index, name, data, reason) -> None:
    settings, _ = fake_index
    before = sorted(p.name for p in settings.corpus_dir.iterdir())
    response = client.post("/v1/documents", files={"file": (name, data)})
    assert response.status_code == 400 and reason in response.json()["error"]["message"], response.text
    assert sorted(p.name for p in settings.corpus_dir.iterdir()) == before


def test_a_pdf_over_the_page_limit_is_refused() -> None:
    writer = PdfWriter()
    for _ in range(5):
        writer.add_blank_page(width=200, height=200)
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(UndecodableFile, match="5 pages"):
        extract_text(out.getvalue(), ".pdf", ExtractionLimits(pages=3))


def test_the_child_process_is_stopped_at_its_time_limit() -> None:
    with pytest.raises(UndecodableFile, match="took longer than"):
        extract_text(_docx(), ".docx", ExtractionLimits(seconds=0.001))


def test_the_child_process_is_held_to_its_memory_limit() -> None:
    with pytest.raises(UndecodableFile, match="needs more than 32 MiB"):
        extract_text(_docx(), ".docx", ExtractionLimits(memory=32 << 20))


def test_a_readable_docx_is_read_in_the_child() -> None:
    assert extract_text(_docx("郓城县完成流程再造。"), ".docx") == "郓城县完成流程再造。"


def test_unchanged_rich_files_are_parsed_once_across_builds(fake_index, monkeypatch) -> None:
    settings, embedder = fake_index
    (settings.corpus_dir / "notice.docx").write_bytes(_docx())
    (settings.corpus_dir / "bomb.docx").write_bytes(_empty_paragraphs(600_000))
    parsed: list[str] = []
    original = indexer.extract._extract_in_child

    def counting(data, suffix, limits):
        parsed.append(suffix)
        return original(data, suffix, limits)

    monkeypatch.setattr(indexer.extract, "_extract_in_child", counting)
    first = build_index(settings, lambda: embedder)
    assert parsed == [".docx"] and first.skipped == ["bomb.docx"]  # the bomb is refused before any parsing
    (settings.corpus_dir / "new.txt").write_text("东阿县新增一项制度。", encoding="utf-8")
    second = build_index(settings, lambda: embedder)
    assert parsed == [".docx"] and second.added == ["new.txt"] and second.skipped == ["bomb.docx"]
