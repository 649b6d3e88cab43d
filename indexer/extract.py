"""Text out of the file formats a corpus may hold: plain text and Markdown, HTML, Word (.docx) and PDF.

Plain text is decoded here. HTML, Word and PDF go through parsers that a hostile file can make
slow or huge (a zip bomb, two million empty paragraphs): they are checked against LIMITS first,
then parsed in a child process with a memory and a time limit (`python -m indexer.extract`).
"""

from __future__ import annotations

import codecs
import io
import re
import resource
import subprocess
import sys
import zipfile
from dataclasses import asdict, dataclass

import charset_normalizer
import docx
from bs4 import BeautifulSoup, UnicodeDammit
from pypdf import PdfReader

SUFFIXES = (".txt", ".md", ".html", ".htm", ".docx", ".pdf")
# Only encodings a Chinese office plausibly produces; a wider set lets random bytes "decode" as cp1252.
_CANDIDATE_ENCODINGS = ["utf_8", "gb18030", "big5", "utf_16", "utf_32"]


class UndecodableFile(ValueError):
    """Raised when a file's bytes are not text in any supported encoding."""


@dataclass(frozen=True, slots=True)
class ExtractionLimits:
    """What a rich document may cost; a file over any of them is refused with the reason."""

    members: int = 2_000  # files inside a .docx package
    uncompressed: int = 64 << 20  # bytes inside a .docx package, all members together
    ratio: int = 100  # uncompressed / compressed, for members over 1 MiB
    elements: int = 500_000  # XML or HTML elements (a 300-page report has about 100,000)
    pages: int = 3_000  # PDF pages
    seconds: float = 60.0  # wall time of the child process
    memory: int = 2 << 30  # address space of the child process, bytes


LIMITS = ExtractionLimits()
ISOLATED = (".html", ".htm", ".docx", ".pdf")  # parsed in a child process
_ELEMENT = re.compile(rb"<[A-Za-z]")
_WORKER_FAILED = 3  # the child's exit status for an UndecodableFile; its message is on stderr


def decode_bytes(data: bytes) -> str:
    """Decode a report file: BOMs first, then strict UTF-8, then the best legacy Chinese encoding."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="strict")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    if b"\x00" in data:  # text in UTF-8 or a legacy encoding has no NUL; UTF-16 has them beside ASCII
        if (text := _utf16_without_bom(data)) is not None:
            return text
        raise UndecodableFile("binary content (NUL bytes), neither UTF-16 text nor with a UTF-16 byte-order mark")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(data, cp_isolation=_CANDIDATE_ENCODINGS).best()
    if best is None:
        raise UndecodableFile("not valid text in UTF-8, GB18030, Big5 or UTF-16")
    return str(best)


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 text saved without a byte-order mark (some Windows tools), else None: the byte order whose
    text is almost all common characters (CJK, ASCII, CJK and general punctuation) wins."""
    if len(data) % 2:
        return None
    best, best_share = None, 0.0
    for encoding in ("utf-16-le", "utf-16-be"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        share = len(_COMMON.findall(text)) / max(len(text), 1)
        if share > best_share:
            best, best_share = text, share
    return best if best_share > 0.9 else None


_COMMON = re.compile(r"[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef\u2000-\u206f\x20-\x7e\r\n\t]")


def extract_text(data: bytes, suffix: str, limits: ExtractionLimits = LIMITS) -> str:
    """The document's text; raises UndecodableFile naming the reason when there is none to read."""
    suffix = suffix.lower()
    if suffix not in SUFFIXES:
        raise UndecodableFile(f"unsupported file type {suffix or '(none)'}; supported: {', '.join(SUFFIXES)}")
    if suffix not in ISOLATED:
        return _extract_here(data, suffix, limits)
    _check_size(data, suffix, limits)
    return _extract_in_child(data, suffix, limits)


def _extract_in_child(data: bytes, suffix: str, limits: ExtractionLimits) -> str:
    command = [sys.executable, "-m", "indexer.extract", suffix, *map(str, asdict(limits).values())]
    try:
        done = subprocess.run(command, input=data, capture_output=True, timeout=limits.seconds, check=False)
    except subprocess.TimeoutExpired as exc:
        raise UndecodableFile(f"reading the {suffix} file took longer than {limits.seconds:g} s") from exc
    if done.returncode == 0:
        return done.stdout.decode("utf-8")
    if done.returncode == _WORKER_FAILED:
        raise UndecodableFile(done.stderr.decode("utf-8", errors="replace").strip().splitlines()[-1])
    if b"MemoryError" in done.stderr or done.returncode < 0:
        raise UndecodableFile(f"reading the {suffix} file needs more than {limits.memory >> 20} MiB")
    raise UndecodableFile(f"not a readable {suffix} file (the reader exited with {done.returncode})")


def _check_size(data: bytes, suffix: str, limits: ExtractionLimits) -> None:
    """Refuse a package or markup whose expanded size or element count is over the limits, before parsing."""
    if suffix == ".docx":
        if not zipfile.is_zipfile(io.BytesIO(data)):
            raise UndecodableFile("not a .docx file (not a ZIP package)")
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            members = package.infolist()
            if len(members) > limits.members:
                raise UndecodableFile(f"the .docx package holds {len(members)} files (at most {limits.members})")
            total = sum(m.file_size for m in members)
            if total > limits.uncompressed:
                raise UndecodableFile(
                    f"the .docx package expands to {total >> 20} MiB (at most {limits.uncompressed >> 20} MiB)"
                )
            for member in members:
                if member.file_size > 1 << 20 and member.file_size > limits.ratio * max(member.compress_size, 1):
                    raise UndecodableFile(f"{member.filename} in the .docx package is compressed suspiciously well")
            if "word/document.xml" in package.namelist():
                _check_elements(package.read("word/document.xml"), ".docx", limits)
    elif suffix in (".html", ".htm"):
        _check_elements(data, suffix, limits)


def _check_elements(markup: bytes, suffix: str, limits: ExtractionLimits) -> None:
    count = sum(1 for _ in _ELEMENT.finditer(markup))
    if count > limits.elements:
        raise UndecodableFile(f"the {suffix} file has {count} elements (at most {limits.elements})")


def _extract_here(data: bytes, suffix: str, limits: ExtractionLimits) -> str:
    try:
        text = _pdf(data, limits.pages) if suffix == ".pdf" else _EXTRACTORS[suffix](data)
    except (UndecodableFile, MemoryError):
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


def _pdf(data: bytes, max_pages: int) -> str:
    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        raise UndecodableFile("the PDF is encrypted")
    if len(reader.pages) > max_pages:
        raise UndecodableFile(f"the PDF has {len(reader.pages)} pages (at most {max_pages})")
    return "\n".join(page.extract_text() or "" for page in reader.pages)


_EXTRACTORS = {
    ".txt": decode_bytes,
    ".md": decode_bytes,
    ".html": _html,
    ".htm": _html,
    ".docx": _docx,
}


def _child_main(argv: list[str]) -> int:
    """python -m indexer.extract SUFFIX LIMITS...: the file's bytes on stdin, its text on stdout."""
    suffix, *values = argv
    fields = ExtractionLimits.__dataclass_fields__
    limits = ExtractionLimits(**{name: type(getattr(LIMITS, name))(v) for name, v in zip(fields, values, strict=True)})
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory, limits.memory))
    try:
        text = _extract_here(sys.stdin.buffer.read(), suffix, limits)
    except UndecodableFile as exc:
        print(exc, file=sys.stderr)
        return _WORKER_FAILED
    except MemoryError:
        print(f"reading the {suffix} file needs more than {limits.memory >> 20} MiB", file=sys.stderr)
        return _WORKER_FAILED
    sys.stdout.buffer.write(text.encode("utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(_child_main(sys.argv[1:]))
