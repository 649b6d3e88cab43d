"""Builds or incrementally updates the index: only added or changed files are chunked and embedded."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from tqdm import tqdm

from indexer.chunking import split_document
from indexer.datatypes import Chunk, Document
from indexer.dense import DenseIndex
from indexer.documents import iter_corpus_files, read_document
from indexer.embedding import Embedder
from indexer.extract import SUFFIXES, UndecodableFile
from indexer.lexical import LexicalIndex
from indexer.settings import IndexSettings
from indexer.store import FORMAT_VERSION, IndexNotFound, IndexStore
from indexer.text import segment

logger = logging.getLogger(__name__)

NORMALIZATION = {"nfkc": True, "opencc": "t2s", "pinyin_annotations": "removed", "mojibake": "gbk-shift", "v": 1}
_EMBED_GROUP = 256


@dataclass(slots=True)
class BuildReport:
    index_version: str
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    chunks_embedded: int = 0
    chunks_reused: int = 0
    characters_embedded: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"index {self.index_version}: {len(self.added)} added, {len(self.changed)} changed, "
            f"{len(self.removed)} removed, {len(self.unchanged)} unchanged, {len(self.skipped)} skipped; "
            f"{self.chunks_embedded} chunks embedded, {self.chunks_reused} reused, {self.seconds:.1f} s"
        )


def build_index(
    settings: IndexSettings,
    make_embedder: Callable[[], Embedder],
    *,
    progress: bool = False,
) -> BuildReport:
    """Bring the index at settings.index_dir up to date with settings.corpus_dir."""
    started = time.perf_counter()
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    with _build_lock(settings.index_dir):
        previous = _compatible_previous(settings)
        documents, skipped = _read_corpus(settings.corpus_dir)
        if not documents:
            raise ValueError(f"no readable {', '.join(SUFFIXES)} files in {settings.corpus_dir}")
        plan = _Plan(documents, previous)
        embedder = make_embedder() if plan.new_chunks(settings) else None
        if (
            embedder is not None
            and previous is not None
            and embedder.dimension != previous.manifest["model"]["dimension"]
        ):
            previous = None  # cannot mix vector spaces
            plan = _Plan(documents, None)
        vectors, tokens, chunks = plan.assemble(settings, embedder, progress)
        manifest = _manifest(settings, documents, chunks, embedder, previous)
        store = IndexStore(
            manifest=manifest,
            documents={d.source: d for d in documents},
            chunks=chunks,
            tokens=tokens,
            dense=DenseIndex.build(vectors, settings.hnsw_threshold),
            lexical=LexicalIndex.build(tokens),
        )
        manifest["dense"]["kind"] = store.dense.kind
        store.save(settings.index_dir)
    report = plan.report(store.version, skipped)
    report.seconds = time.perf_counter() - started
    return report


def indexed_text(chunk: Chunk) -> str:
    """What both indexes see for a chunk: its section heading, then its normalised text."""
    section = chunk.section.split(" / ")[-1] if chunk.section else ""
    return (
        f"{section}\n{chunk.normalized}"
        if section and not chunk.normalized.startswith(section[:8])
        else chunk.normalized
    )


class _Plan:
    """Which documents to reuse from the previous index and which to chunk and embed anew."""

    def __init__(self, documents: list[Document], previous: IndexStore | None) -> None:
        self.documents = documents
        self.previous = previous
        old_files: dict[str, str] = previous.manifest["files"] if previous else {}
        current = {d.source for d in documents}
        self.reused = {d.source for d in documents if old_files.get(d.source) == d.sha256}
        self.added = [d.source for d in documents if d.source not in old_files]
        self.changed = [d.source for d in documents if d.source in old_files and d.source not in self.reused]
        self.removed = sorted(set(old_files) - current)
        self._chunks: dict[str, list[Chunk]] = {}
        self.embedded = self.reused_rows = self.characters = 0

    def new_chunks(self, settings: IndexSettings) -> int:
        for doc in self.documents:
            if doc.source not in self.reused and doc.source not in self._chunks:
                self._chunks[doc.source] = split_document(doc, settings.chunk_size, settings.chunk_overlap)
        return sum(len(c) for c in self._chunks.values())

    def assemble(self, settings: IndexSettings, embedder: Embedder | None, progress: bool):
        old_rows = self._old_rows()
        fresh = [c for doc in self.documents if doc.source not in self.reused for c in self._chunks[doc.source]]
        fresh_vectors = _embed([indexed_text(c) for c in fresh], embedder, progress) if fresh else None
        fresh_row = {c.chunk_id: i for i, c in enumerate(fresh)}
        chunks, tokens, parts = [], [], []
        for doc in self.documents:
            if doc.source in self.reused:
                rows = old_rows[doc.source]
                chunks += [self.previous.chunks[r] for r in rows]
                tokens += [self.previous.tokens[r] for r in rows]
                parts.append(self.previous.dense.vectors(np.asarray(rows)) if rows else None)
                self.reused_rows += len(rows)
            else:
                new = self._chunks[doc.source]
                chunks += new
                tokens += [segment(indexed_text(c)) for c in new]
                parts.append(fresh_vectors[[fresh_row[c.chunk_id] for c in new]] if new else None)
        self.embedded = len(fresh)
        self.characters = sum(len(c.normalized) for c in fresh)
        dimension = embedder.dimension if embedder else self.previous.manifest["model"]["dimension"]
        present = [p for p in parts if p is not None and len(p)]
        vectors = np.vstack(present) if present else np.zeros((0, dimension), dtype=np.float32)
        return vectors.astype(np.float32), tokens, chunks

    def report(self, version: str, skipped: list[str]) -> BuildReport:
        return BuildReport(
            index_version=version,
            added=self.added,
            changed=self.changed,
            removed=self.removed,
            unchanged=sorted(self.reused),
            skipped=skipped,
            chunks_embedded=self.embedded,
            chunks_reused=self.reused_rows,
            characters_embedded=self.characters,
        )

    def _old_rows(self) -> dict[str, list[int]]:
        rows: dict[str, list[int]] = {}
        if self.previous is not None:
            for row, chunk in enumerate(self.previous.chunks):
                rows.setdefault(chunk.source, []).append(row)
        return rows


def _embed(texts: list[str], embedder: Embedder | None, progress: bool) -> np.ndarray:
    assert embedder is not None
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths pad less
    vectors = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
    with tqdm(total=len(texts), unit="chunk", desc="embedding", disable=not progress) as bar:
        for begin in range(0, len(order), _EMBED_GROUP):
            group = order[begin : begin + _EMBED_GROUP]
            vectors[group] = embedder.embed_documents([texts[i] for i in group])
            bar.update(len(group))
    return vectors


def _read_corpus(corpus_dir: Path) -> tuple[list[Document], list[str]]:
    if not corpus_dir.is_dir():
        raise ValueError(f"corpus directory {corpus_dir} does not exist")
    documents, skipped = [], []
    for path, source in iter_corpus_files(corpus_dir):
        try:
            documents.append(read_document(path, source))
        except UndecodableFile as exc:
            logger.warning("skipping %s: %s", source, exc)
            skipped.append(source)
    return documents, skipped


def _compatible_previous(settings: IndexSettings) -> IndexStore | None:
    try:
        previous = IndexStore.load(settings.index_dir)
    except IndexNotFound:
        return None
    except Exception:  # a damaged index is rebuilt from scratch rather than trusted
        logger.warning("previous index at %s could not be read; rebuilding everything", settings.index_dir)
        return None
    manifest = previous.manifest
    same = (
        same_model(manifest, settings)
        and manifest["chunking"] == _chunking(settings)
        and manifest["normalization"] == NORMALIZATION
    )
    return previous if same else None


def same_model(manifest: dict, settings: IndexSettings) -> bool:
    """True when the index's vectors come from the model and variant the settings ask for."""
    model = manifest["model"]
    return (model["name"], model.get("variant")) == (settings.embedding_model, settings.embedding_variant)


def _chunking(settings: IndexSettings) -> dict[str, int]:
    return {"size": settings.chunk_size, "overlap": settings.chunk_overlap}


def _manifest(settings, documents, chunks, embedder, previous) -> dict:
    files = {d.source: d.sha256 for d in documents}
    digest = hashlib.sha256(repr((sorted(files.items()), _chunking(settings))).encode()).hexdigest()[:12]
    now = datetime.now(UTC)
    dimension = embedder.dimension if embedder else previous.manifest["model"]["dimension"]
    return {
        "format_version": FORMAT_VERSION,
        "index_version": f"{now:%Y%m%dT%H%M%S%f}-{digest}",
        "created_at": now.isoformat(timespec="seconds"),
        "model": {"name": settings.embedding_model, "variant": settings.embedding_variant, "dimension": dimension},
        "normalization": NORMALIZATION,
        "chunking": _chunking(settings),
        "dense": {"kind": "", "hnsw_threshold": settings.hnsw_threshold},
        "lexical": {"library": "bm25s", "tokenizer": "jieba cut_for_search + domain dictionary"},
        "counts": {"documents": len(documents), "chunks": len(chunks)},
        "files": files,
    }


@contextmanager
def _build_lock(index_dir: Path) -> Iterator[None]:
    """One build at a time per index directory (a second one waits)."""
    with (index_dir / ".build.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
