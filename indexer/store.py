"""The on-disk index: versioned directories behind an atomically swapped `current` link.

Layout: INDEX/current -> versions/<index_version>/ holding manifest.json, documents.jsonl,
chunks.jsonl, tokens.jsonl, dense.faiss and lexical/. A build writes a new version beside the
old one and then replaces the link with os.replace, so a reader sees either version whole,
and a build killed at any moment leaves the previous version served.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from indexer.datatypes import Chunk, Document
from indexer.dense import DenseIndex
from indexer.lexical import LexicalIndex
from indexer.manifest import FORMAT_VERSION, Manifest

if TYPE_CHECKING:
    from indexer.milvus import MilvusDense, MilvusLexical

logger = logging.getLogger(__name__)

CURRENT = "current"
VERSIONS = "versions"


class IndexNotFound(FileNotFoundError):
    """No complete index exists at the given directory."""


@dataclass(slots=True)
class IndexStore:
    """One index version in memory: documents, chunks with their tokens, and both indexes, row-aligned."""

    manifest: Manifest
    documents: dict[str, Document]
    chunks: list[Chunk]  # row i of both indexes is chunks[i]
    tokens: list[list[str]]
    dense: DenseIndex | MilvusDense
    lexical: LexicalIndex | MilvusLexical

    @property
    def version(self) -> str:
        return self.manifest.index_version

    def save(self, index_dir: Path) -> Path:
        """Write this store as a new version and make it current; returns the version's folder."""
        versions = index_dir / VERSIONS
        versions.mkdir(parents=True, exist_ok=True)
        staging = versions / f".tmp-{uuid.uuid4().hex}"
        staging.mkdir()
        try:
            _write_jsonl(staging / "documents.jsonl", (_document_dict(d) for d in self.documents.values()))
            _write_jsonl(staging / "chunks.jsonl", (c.to_dict() for c in self.chunks))
            _write_jsonl(staging / "tokens.jsonl", self.tokens)
            if isinstance(self.dense, DenseIndex) and isinstance(self.lexical, LexicalIndex):
                self.dense.save(staging / "dense.faiss")
                self.lexical.save(staging / "lexical")  # with Milvus, the build wrote its collection already
            _write_json(staging / "manifest.json", self.manifest.to_dict())  # written last: marks a whole version
        except BaseException:  # a full disk, say: the staging folder must not stay behind
            shutil.rmtree(staging, ignore_errors=True)
            raise
        final = versions / self.version
        if final.exists():
            shutil.rmtree(final)
        os.rename(staging, final)
        _point_current(index_dir, final)
        _prune(index_dir, keep=final.name)
        return final

    @classmethod
    def load(cls, index_dir: Path) -> IndexStore:
        folder = current_version_dir(index_dir)
        manifest = _read_manifest(folder)
        documents = {d["source"]: Document(**d) for d in _read_jsonl(folder / "documents.jsonl")}
        chunks = [Chunk.from_dict(c) for c in _read_jsonl(folder / "chunks.jsonl")]
        tokens = [[sys.intern(t) for t in row] for row in _read_jsonl(folder / "tokens.jsonl")]  # as segment()
        dense: DenseIndex | MilvusDense
        lexical: LexicalIndex | MilvusLexical
        if manifest.store == "milvus":
            from indexer.milvus import MilvusDense, MilvusLexical, client  # pymilvus only where Milvus is used

            milvus = client(manifest.milvus_uri)
            if not milvus.has_collection(manifest.milvus_collection):
                raise IndexNotFound(f"index at {folder}: Milvus has no collection {manifest.milvus_collection}")
            milvus.load_collection(manifest.milvus_collection)  # searchable (a no-op when loaded already)
            dense = MilvusDense(manifest.milvus_uri, manifest.milvus_collection, len(chunks), manifest.model.dimension)
            lexical = MilvusLexical(manifest.milvus_uri, manifest.milvus_collection, tokens)
        else:
            dense = DenseIndex.load(folder / "dense.faiss")
            lexical = LexicalIndex.load(folder / "lexical", tokens)
        if not len(chunks) == len(tokens) == dense.size:
            raise IndexNotFound(f"index at {folder} is inconsistent; rebuild it")
        return cls(manifest, documents, chunks, tokens, dense, lexical)


def current_version_name(index_dir: Path) -> str | None:
    """The version the `current` link names, whole or not (None without a link)."""
    link = index_dir / CURRENT
    return link.resolve().name if link.is_symlink() else None


def current_version_dir(index_dir: Path) -> Path:
    link = index_dir / CURRENT
    folder = link.resolve() if link.is_symlink() else None
    if folder is None or not (folder / "manifest.json").is_file():
        raise IndexNotFound(f"no index at {index_dir} (build one with `python -m indexer build`)")
    return folder


def read_manifest(index_dir: Path) -> Manifest:
    """The current version's manifest; IndexNotFound when there is none or it is of another format."""
    return _read_manifest(current_version_dir(index_dir))


def _read_manifest(folder: Path) -> Manifest:
    try:
        data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexNotFound(f"index at {folder} has an unreadable manifest ({exc}); rebuild it") from exc
    if not isinstance(data, dict) or data.get("format_version") != FORMAT_VERSION:
        raise IndexNotFound(f"index at {folder} has an unsupported format; rebuild it")
    try:
        return Manifest.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise IndexNotFound(f"index at {folder} has a damaged manifest ({exc!r}); rebuild it") from exc


def _point_current(index_dir: Path, target: Path) -> None:
    temporary_link = index_dir / f".{CURRENT}-{uuid.uuid4().hex}"
    os.symlink(Path(VERSIONS) / target.name, temporary_link)
    os.replace(temporary_link, index_dir / CURRENT)  # atomic on POSIX: readers never see a gap


def _prune(index_dir: Path, keep: str) -> None:
    """Remove superseded versions and leftovers of killed builds (already-loaded readers are unaffected)."""
    for entry in (index_dir / VERSIONS).iterdir():
        if entry.name != keep:
            shutil.rmtree(entry, ignore_errors=True)
    for entry in index_dir.glob(f".{CURRENT}-*"):
        entry.unlink(missing_ok=True)


def _document_dict(doc: Document) -> dict[str, str]:
    return {"source": doc.source, "title": doc.title, "text": doc.text, "sha256": doc.sha256}


def _write_jsonl(path: Path, rows: Iterable[Any]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _write_json(path: Path, data: Any) -> None:
    with path.open("w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False, indent=2)
        handle.flush()
        os.fsync(handle.fileno())


def _read_jsonl(path: Path) -> Iterable[Any]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)
