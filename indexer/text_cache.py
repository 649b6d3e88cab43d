"""Extracted text of rich documents (HTML, Word, PDF) kept by content hash: an unchanged file is parsed once.

Every build reads the whole corpus; without the cache each build parsed every .docx and .pdf again,
in a child process each. Refusals are kept too, so a file that hits a limit costs its time once.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

from indexer.extract import ISOLATED, UndecodableFile, extract_text


class TextCache:
    """Text (or the refusal) of each rich file, under `folder/<sha256>.txt` or `.refused`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def text(self, data: bytes, suffix: str) -> str:
        """extract_text through the cache; raises UndecodableFile as it does."""
        if suffix.lower() not in ISOLATED:
            return extract_text(data, suffix)  # decoding plain text costs less than reading a cache entry
        digest = hashlib.sha256(data).hexdigest()
        found, refused = self.folder / f"{digest}.txt", self.folder / f"{digest}.refused"
        with contextlib.suppress(OSError):
            if found.is_file():
                return found.read_text(encoding="utf-8")
            if refused.is_file():
                raise UndecodableFile(refused.read_text(encoding="utf-8"))
        try:
            text = extract_text(data, suffix)
        except UndecodableFile as exc:
            self._store(refused, str(exc))
            raise
        self._store(found, text)
        return text

    def prune(self, keep: set[str]) -> None:
        """Forget the files whose hash is not in `keep` (the corpus as it is now)."""
        if not self.folder.is_dir():
            return
        for entry in self.folder.iterdir():
            if entry.stem not in keep:
                entry.unlink(missing_ok=True)

    def _store(self, target: Path, content: str) -> None:
        # Best effort: a full disk only means the file is parsed again next time.
        with contextlib.suppress(OSError):
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, staging = tempfile.mkstemp(dir=self.folder, suffix=".part")
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    out.write(content)
                os.replace(staging, target)
            finally:
                Path(staging).unlink(missing_ok=True)
