"""Text out of the file formats a corpus may hold: plain text and Markdown, HTML, Word (.docx) and PDF."""

from __future__ import annotations

import codecs
import io
import zipfile

import charset_normalizer
import docx
from bs4 import BeautifulSoup, UnicodeDammit
from pypdf import PdfReader

SUFFIXES = (".txt", ".md", ".html", ".htm", ".docx", ".pdf")
# Only encodings a Chinese office plausibly produces; a wider set lets random bytes "decode" as cp1252.
_CANDIDATE_ENCODINGS = ["utf_8", "gb18030", "big5", "utf_16", "utf_32"]


class UndecodableFile(ValueError):
    """Raised when a file's bytes are not text in any supported encoding."""


def decode_bytes(data: bytes) -> str:
    """Decode a report file: BOMs first, then strict UTF-8, then the best legacy Chinese encoding."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="strict")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if b"\x00" in data:
        raise UndecodableFile("binary content (NUL bytes) and no UTF-16 byte-order mark")
    best = charset_normalizer.from_bytes(data, cp_isolation=_CANDIDATE_ENCODINGS).best()
    if best is None:
        raise UndecodableFile("not valid text in UTF-8, GB18030, Big5 or UTF-16")
    return str(best)


def extract_text(data: bytes, suffix: str) -> str:
    """The document's text; raises UndecodableFile naming the reason when there is none to read."""
    suffix = suffix.lower()
    if suffix not in SUFFIXES:
        raise UndecodableFile(f"unsupported file type {suffix or '(none)'}; supported: {', '.join(SUFFIXES)}")
    try:
        text = _EXTRACTORS[suffix](data)
    except UndecodableFile:
        raise
    except Exception as exc:  # each library has its own errors for damaged files; all mean "unreadable"
        raise UndecodableFile(f"not a readable {suffix} file ({type(exc).__name__})") from exc
    if not text.strip():
        raise UndecodableFile(f"no text found in the {suffix} file")
    return text


def _html(data: bytes) -> str:
    # The page's declared charset wins, then detection among the common Chinese encodings.
    markup = UnicodeDammit(data, ["utf-8", "gb18030", "big5"], is_html=True).unicode_markup
    if markup is None:
        raise UndecodableFile("HTML in no known encoding")
    soup = BeautifulSoup(markup, "html.parser")
    for hidden in soup(["script", "style", "noscript", "template"]):
        hidden.decompose()
    lines = (line.strip() for line in soup.get_text("\n").splitlines())
    return "\n".join(line for line in lines if line)


def _docx(data: bytes) -> str:
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise UndecodableFile("not a .docx file (not a ZIP package)")
    document = docx.Document(io.BytesIO(data))
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        lines.extend("\t".join(cell.text for cell in row.cells) for row in table.rows)
    return "\n".join(line for line in lines if line.strip())


def _pdf(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        raise UndecodableFile("the PDF is encrypted")
    return "\n".join(page.extract_text() or "" for page in reader.pages)


_EXTRACTORS = {
    ".txt": decode_bytes,
    ".md": decode_bytes,
    ".html": _html,
    ".htm": _html,
    ".docx": _docx,
    ".pdf": _pdf,
}
