"""Finds report files under a corpus root and decodes them, whatever common Chinese encoding they use."""

from __future__ import annotations

import codecs
import hashlib
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import charset_normalizer

from indexer.datatypes import Document

logger = logging.getLogger(__name__)

SUFFIXES = (".txt", ".md")
# Only encodings a Chinese office plausibly produces; a wider set lets random bytes "decode" as cp1252.
_CANDIDATE_ENCODINGS = ["utf_8", "gb18030", "big5", "utf_16", "utf_32"]
_TITLE_CHARS = 40
_TITLE_END = re.compile(r"[。；;！？!?]")


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


def read_document(path: Path, source: str) -> Document:
    """Read one file into a Document; raises UndecodableFile for bytes that are not text."""
    data = path.read_bytes()
    text = decode_bytes(data)
    return Document(source=source, title=guess_title(text, source), text=text, sha256=sha256_bytes(data))


def iter_corpus_files(corpus_dir: Path) -> Iterator[tuple[Path, str]]:
    """Yield (path, source) for every supported file below corpus_dir, in a stable order."""
    root = corpus_dir.resolve()
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix.lower() in SUFFIXES and not _is_hidden(path, root):
            yield path, path.relative_to(root).as_posix()


def load_documents(corpus_dir: Path) -> Iterator[Document]:
    """Yield every readable document of the corpus; undecodable files are skipped with a warning."""
    if not corpus_dir.is_dir():
        raise ValueError(f"corpus directory {corpus_dir} does not exist")
    for path, source in iter_corpus_files(corpus_dir):
        try:
            yield read_document(path, source)
        except UndecodableFile as exc:
            logger.warning("skipping %s: %s", source, exc)


def guess_title(text: str, source: str) -> str:
    """The first sentence of the first non-empty line (a Markdown heading's text), else the file name."""
    for line in text.splitlines():
        line = _TITLE_END.split(line.strip().lstrip("#").strip(), maxsplit=1)[0].strip()
        if line:
            return line[:_TITLE_CHARS]
    return Path(source).stem


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _is_hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)
