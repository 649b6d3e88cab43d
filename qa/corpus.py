"""Stores and removes corpus files durably: the corpus is written first, the index follows from it.

A file is written under `.incoming/` (hidden, so builds never read it), fsynced, then renamed into
place and the directory fsynced: after a crash at any moment a file is either whole in the corpus
or absent, and the next start-up indexes whatever the corpus holds.
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path, PurePosixPath

from indexer.extract import SUFFIXES
from qa.errors import InvalidInput

_INCOMING = ".incoming"
_UNSAFE = re.compile(r'[<>:"|?*\\/]')
_MAX_NAME = 120  # characters
_MAX_NAME_BYTES = 200  # UTF-8 bytes: file systems allow 255 per name, CJK takes 3 bytes a character


class UnsafeName(InvalidInput):
    """A file name or source that cannot name a corpus file."""


def safe_source(filename: str) -> str:
    """The corpus name for an uploaded file name: its last path part, printable, no hidden or reserved forms."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = unicodedata.normalize("NFC", name)
    name = "".join(c for c in name if not unicodedata.category(c).startswith("C"))  # controls, format chars
    name = _UNSAFE.sub("_", name).strip().strip(". ")
    stem, suffix = os.path.splitext(name)
    if suffix.lower() not in SUFFIXES:
        raise UnsafeName(f"unsupported file type {suffix or '(none)'}; supported: {', '.join(SUFFIXES)}")
    stem = stem.strip(". ")[: _MAX_NAME - len(suffix)]
    while len((stem + suffix).encode()) > _MAX_NAME_BYTES:  # shortened, keeping the extension
        stem = stem[:-1]
    if not stem.strip("_"):
        raise UnsafeName("the file name is empty once unsafe characters are removed")
    return stem + suffix.lower()


def stored_name(source: str) -> str:
    """A source as the corpus stores it (NFC): "é" typed decomposed names the same file as composed."""
    return unicodedata.normalize("NFC", source)


class CorpusFiles:
    """The corpus folder as the service changes it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._incoming = root / _INCOMING

    def path_of(self, source: str) -> Path:
        """The file of a source (NFC, as uploads are stored); UnsafeName for anything that could leave the corpus."""
        source = stored_name(source)
        # Hidden parts (".", "..", ".incoming") and absolute or Windows forms never name a corpus file.
        unsafe = not source or "\\" in source or "\x00" in source or source.startswith("/")
        if unsafe or any(p.startswith(".") for p in PurePosixPath(source).parts):
            raise UnsafeName("source must be a path inside the corpus")
        path = (self.root / source).resolve()  # a symlink could still point outside
        if not path.is_relative_to(self.root.resolve()):
            raise UnsafeName("source must be a path inside the corpus")
        return path

    def write(self, source: str, data: bytes) -> Path:
        """Store `data` as `source`, replacing any previous file whole."""
        target = self.path_of(source)
        self._incoming.mkdir(parents=True, exist_ok=True)
        handle, staging = tempfile.mkstemp(dir=self._incoming, suffix=".part")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(staging, 0o644)
            os.replace(staging, target)
        except BaseException:
            Path(staging).unlink(missing_ok=True)
            raise
        finally:
            self._remove_incoming_if_empty()
        _fsync_dir(target.parent)
        return target

    def delete(self, source: str) -> None:
        """Remove the file of an existing `source`."""
        path = self.path_of(source)
        path.unlink()
        _fsync_dir(path.parent)

    @contextmanager
    def change(self, source: str) -> Iterator[None]:
        """Undo whatever happens to `source` inside the block if the block fails: the file it had (set
        aside by a rename, which needs no free space) is put back, or a file it did not have removed."""
        path = self.path_of(source)
        self._incoming.mkdir(parents=True, exist_ok=True)
        aside = self._incoming / f"{uuid.uuid4().hex}.aside"
        had = path.is_file()
        if had:
            os.link(path, aside)  # a second name for the old bytes, until the change has succeeded
        try:
            yield
        except BaseException:
            if had:
                os.replace(aside, path)
            else:
                path.unlink(missing_ok=True)
            _fsync_dir(path.parent)
            raise
        finally:
            aside.unlink(missing_ok=True)
            self._remove_incoming_if_empty()

    def clean_incoming(self) -> int:
        """Remove partial files left by a process that died mid-upload (call before serving); returns how many."""
        if not self._incoming.is_dir():
            return 0
        leftovers = list(self._incoming.iterdir())
        for leftover in leftovers:
            leftover.unlink(missing_ok=True)
        self._remove_incoming_if_empty()
        return len(leftovers)

    def _remove_incoming_if_empty(self) -> None:
        with suppress(OSError):  # absent, or another write is under way
            self._incoming.rmdir()


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
