"""Finds report files under a corpus root and decodes them, whatever common Chinese encoding they use."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

from indexer.datatypes import Document
from indexer.extract import SUFFIXES, UndecodableFile, extract_text
from indexer.normalize import display_text
from indexer.text_cache import TextCache

logger = logging.getLogger(__name__)

_TITLE_CHARS = 40
_TITLE_END = re.compile(r"[。；;！？!?]")


def read_document(path: Path, source: str, cache: TextCache | None = None) -> Document:
    """Read one file into a Document; raises UndecodableFile when it holds no readable text."""
    return document_from_bytes(path.read_bytes(), source, cache)


def document_from_bytes(data: bytes, source: str, cache: TextCache | None = None) -> Document:
    """A Document of a file's bytes (its format told by the source's suffix); raises UndecodableFile."""
    suffix = Path(source).suffix
    text = cache.text(data, suffix) if cache is not None else extract_text(data, suffix)
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


def seed_corpus(corpus_dir: Path, seed: Path | None) -> int:
    """Copy the seed folder's report files into a corpus folder that does not exist yet; returns how many."""
    if corpus_dir.exists() or seed is None or not seed.is_dir():
        return 0
    staging = corpus_dir.with_name(f".{corpus_dir.name}.seeding")
    shutil.rmtree(staging, ignore_errors=True)
    copied = 0
    for path, source in iter_corpus_files(seed):
        target = staging / source
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        copied += 1
    staging.mkdir(parents=True, exist_ok=True)
    os.replace(staging, corpus_dir)  # whole or absent, whenever the process stops
    return copied


def guess_title(text: str, source: str) -> str:
    """The first sentence of the first non-empty line (a Markdown heading's text), else the file name;
    readable: pinyin annotations removed, GBK mojibake repaired."""
    for line in display_text(text[:2000]).splitlines():
        line = _TITLE_END.split(line.strip().lstrip("#").strip(), maxsplit=1)[0].strip()
        if line:
            return line[:_TITLE_CHARS]
    return Path(source).stem


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _is_hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)
