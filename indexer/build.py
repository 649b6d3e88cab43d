"""Builds or incrementally updates the index: only added or changed files are chunked and embedded."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from tqdm import tqdm

from indexer.chunking import split_document
from indexer.datatypes import Chunk, Document
from indexer.dense import DenseIndex
from indexer.documents import iter_corpus_files, read_document, sha256_bytes
from indexer.embedders.base import Embedder
from indexer.extract import SUFFIXES, UndecodableFile
from indexer.lexical import LexicalIndex
from indexer.manifest import Chunking, Manifest, ModelInfo, incompatibilities
from indexer.settings import IndexSettings
from indexer.store import IndexNotFound, IndexStore, current_version_name
from indexer.text import segment
from indexer.text_cache import TextCache

logger = logging.getLogger(__name__)

_EMBED_GROUP = 256
_PART_ROWS = 8192  # vectors made or read at once as they go into the index (16 MB of 512-d float32)


@dataclass(slots=True)
class BuildReport:
    """What a build did: which documents were added, changed, removed or reused, and what it embedded."""

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
    # Where the time went and how memory grew: seconds per stage, and the process's peak RSS (MB) at
    # the end of each stage (read, chunk, tokenize, embed, dense, lexical, write; "embed" runs as the
    # dense stage takes the vectors, and counts for itself only).
    stage_seconds: dict[str, float] = field(default_factory=dict)
    peak_rss_mb: dict[str, int] = field(default_factory=dict)

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
    dimension: int | None = None,
) -> BuildReport:
    """Bring the index at settings.index_dir up to date with settings.corpus_dir.

    `dimension` is the embedder's when the caller has one loaded: vectors of another dimension are
    then never reused, even when no file changed.
    """
    started = time.perf_counter()
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    clock = _StageClock()
    with _build_lock(settings.index_dir):
        previous = _reusable_previous(settings, dimension)
        cache = TextCache(text_cache_dir(settings))
        with clock.stage("read"):
            documents, skipped = _read_corpus(settings.corpus_dir, cache)
        with clock.stage("chunk"):
            plan = _Plan(documents, previous, settings)
        embedder = make_embedder() if plan.fresh_chunks else None
        if embedder and previous and incompatibilities(
            previous.manifest, settings, dimension=embedder.dimension, reusing=True
        ):
            with clock.stage("chunk"):
                plan = _Plan(documents, None, settings)  # vectors of two spaces cannot mix: embed everything
        skipped |= plan.chunkless
        if not plan.documents:
            raise ValueError(f"no readable {', '.join(SUFFIXES)} files with text in {settings.corpus_dir}")
        vectors, tokens, chunks = plan.assemble(embedder, progress, clock)
        manifest = _manifest(settings, plan.documents, skipped, len(chunks), vectors.dimension)
        documents_by_source = {d.source: d for d in plan.documents}
        if settings.vector_store == "milvus":
            with clock.stage("dense"):
                store = _milvus_store(settings, manifest, documents_by_source, chunks, tokens, vectors)
        else:
            with clock.stage("dense"):
                dense = DenseIndex.build(vectors, vectors.count, vectors.dimension, settings.hnsw_threshold)
            with clock.stage("lexical"):
                lexical = LexicalIndex.build(tokens)
            store = IndexStore(manifest, documents_by_source, chunks, tokens, dense, lexical)
        served = current_version_name(settings.index_dir)
        with clock.stage("write"):
            store.save(settings.index_dir)
        if store.manifest.store == "milvus":
            from indexer.milvus import make_current

            # the alias names the new version; the one replicas may still serve keeps its collection
            kept = {served} if served else set()
            make_current(settings.milvus_uri, settings.milvus_collection, store.version, keep=kept)
        cache.prune({d.sha256 for d in documents} | set(skipped.values()))
    report = plan.report(store.version, sorted(skipped))
    report.seconds = time.perf_counter() - started
    report.stage_seconds, report.peak_rss_mb = clock.seconds, clock.peak_rss_mb
    return report


def indexed_text(chunk: Chunk) -> str:
    """What both indexes see for a chunk: its section heading, then its normalised text."""
    section = chunk.section.split(" / ")[-1] if chunk.section else ""
    return (
        f"{section}\n{chunk.normalized}"
        if section and not chunk.normalized.startswith(section[:8])
        else chunk.normalized
    )


class VectorParts:
    """A version's vectors in row order, as (source, rows) parts each read only when iterated: the
    previous version's index for reused documents, the fresh embeddings for the others. Adjacent rows
    of one source are merged into a part of at most _PART_ROWS rows."""

    def __init__(self, dimension: int) -> None:
        self.dimension = dimension
        self.count = 0
        self._parts: list[tuple[Callable[[np.ndarray], np.ndarray], list[np.ndarray]]] = []

    def add(self, read: Callable[[np.ndarray], np.ndarray], rows: np.ndarray) -> None:
        if not len(rows):
            return
        if self._parts and self._parts[-1][0] == read and sum(map(len, self._parts[-1][1])) < _PART_ROWS:
            self._parts[-1][1].append(rows)
        else:
            self._parts.append((read, [rows]))
        self.count += len(rows)

    def __iter__(self) -> Iterator[np.ndarray]:
        for read, rows in self._parts:
            yield np.ascontiguousarray(read(np.concatenate(rows)), dtype=np.float32)


class _StageClock:
    """Seconds per stage; a stage inside another (embedding while vectors go into the index) counts
    for itself only, not for the outer one."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.peak_rss_mb: dict[str, int] = {}
        self._inner: list[float] = []  # per open stage: seconds spent in stages inside it

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        self._inner.append(0.0)
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            own = elapsed - self._inner.pop()
            if self._inner:
                self._inner[-1] += elapsed
            self.seconds[name] = round(self.seconds.get(name, 0.0) + own, 3)
            self.peak_rss_mb[name] = max(self.peak_rss_mb.get(name, 0), _peak_rss_mb())


def _peak_rss_mb() -> int:
    """VmHWM of this process (Linux), 0 where unknown."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return 0
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
    return int(match.group(1)) // 1024 if match else 0


class _Plan:
    """Which documents to reuse from the previous index, and the new chunks of the others."""

    def __init__(self, documents: list[Document], previous: IndexStore | None, settings: IndexSettings) -> None:
        self.previous = previous
        old_files = previous.manifest.files if previous else {}
        reused = {d.source for d in documents if old_files.get(d.source) == d.sha256}
        self._chunks = {
            d.source: split_document(d, settings.chunk_size, settings.chunk_overlap)
            for d in documents
            if d.source not in reused
        }
        # A document with no text once normalised (only pinyin annotations, say) is skipped, never indexed empty.
        empty = {source for source, chunks in self._chunks.items() if not chunks}
        self.chunkless = {d.source: d.sha256 for d in documents if d.source in empty}
        for source in self.chunkless:
            logger.warning("skipping %s: no text once normalised", source)
        self.documents = [d for d in documents if d.source not in self.chunkless]
        self.reused = reused
        self.added = [d.source for d in self.documents if d.source not in old_files]
        self.changed = [d.source for d in self.documents if d.source in old_files and d.source not in reused]
        self.removed = sorted(set(old_files) - {d.source for d in self.documents})
        self.embedded = self.reused_rows = self.characters = 0

    @property
    def fresh_chunks(self) -> int:
        """How many chunks need embedding."""
        return sum(len(c) for c in self._chunks.values())

    def assemble(
        self, embedder: Embedder | None, progress: bool, clock: _StageClock
    ) -> tuple[VectorParts, list[list[str]], list[Chunk]]:
        """Vectors, tokens and chunks of the whole corpus, in document order, row-aligned. The vectors
        come as parts made one at a time as the index takes them (fresh ones embedded then, a part's
        texts sorted by length): no matrix of the corpus's vectors is ever held beside the index."""
        old_rows = self._old_rows()
        fresh = [c for doc in self.documents if doc.source not in self.reused for c in self._chunks[doc.source]]
        with clock.stage("tokenize"):
            tokens_of = {c.chunk_id: segment(indexed_text(c)) for c in fresh}
        fresh_row = {c.chunk_id: i for i, c in enumerate(fresh)}
        bar = tqdm(total=len(fresh), unit="chunk", desc="embedding", disable=not progress)

        def embed(rows: np.ndarray) -> np.ndarray:
            with clock.stage("embed"):
                vectors = _embed([indexed_text(fresh[r]) for r in rows], embedder)
            bar.update(len(rows))
            if bar.n >= len(fresh):
                bar.close()
            return vectors

        chunks: list[Chunk] = []
        tokens: list[list[str]] = []
        dimension = embedder.dimension if embedder else self._previous_dimension()
        vectors = VectorParts(dimension)
        for doc in self.documents:
            if doc.source in self.reused:
                assert self.previous is not None
                rows = old_rows.get(doc.source, [])  # a document may have no chunks
                chunks += [self.previous.chunks[r] for r in rows]
                tokens += [self.previous.tokens[r] for r in rows]
                vectors.add(self.previous.dense.vectors, np.asarray(rows))
                self.reused_rows += len(rows)
            else:
                new = self._chunks[doc.source]
                chunks += new
                tokens += [tokens_of[c.chunk_id] for c in new]
                vectors.add(embed, np.asarray([fresh_row[c.chunk_id] for c in new]))
        self.embedded = len(fresh)
        self.characters = sum(len(c.normalized) for c in fresh)
        return vectors, tokens, chunks

    def _previous_dimension(self) -> int:
        assert self.previous is not None, "nothing to embed and no previous index"
        return self.previous.manifest.model.dimension

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


def _embed(texts: list[str], embedder: Embedder | None) -> np.ndarray:
    assert embedder is not None
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths pad less
    vectors = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
    for begin in range(0, len(order), _EMBED_GROUP):
        group = order[begin : begin + _EMBED_GROUP]
        vectors[group] = embedder.embed_documents([texts[i] for i in group])
    return vectors


def text_cache_dir(settings: IndexSettings) -> Path:
    """Where extracted text of rich documents is kept, beside the index versions."""
    return settings.index_dir / "text-cache"


def _read_corpus(corpus_dir: Path, cache: TextCache) -> tuple[list[Document], dict[str, str]]:
    """The readable documents, and the files skipped as unreadable (source -> sha256)."""
    if not corpus_dir.is_dir():
        raise ValueError(f"corpus directory {corpus_dir} does not exist")
    documents, skipped = [], {}
    for path, source in iter_corpus_files(corpus_dir):
        try:
            documents.append(read_document(path, source, cache))
        except UndecodableFile as exc:
            logger.warning("skipping %s: %s", source, exc)
            skipped[source] = sha256_bytes(path.read_bytes())
    return documents, skipped


def _reusable_previous(settings: IndexSettings, dimension: int | None) -> IndexStore | None:
    """The current index when its chunks and vectors can be reused under these settings."""
    try:
        previous = IndexStore.load(settings.index_dir)
    except IndexNotFound:
        return None
    except Exception:  # a damaged index is rebuilt from scratch rather than trusted
        logger.warning("previous index at %s could not be read; rebuilding everything", settings.index_dir)
        return None
    reasons = incompatibilities(previous.manifest, settings, dimension=dimension, reusing=True)
    if reasons:
        logger.info("not reusing the previous index: %s", "; ".join(reasons))
        return None
    return previous


def corpus_files(corpus_dir: Path) -> dict[str, str]:
    """source -> sha256 of every corpus file, as the manifest records them."""
    return {source: sha256_bytes(path.read_bytes()) for path, source in iter_corpus_files(corpus_dir)}


def _milvus_store(
    settings: IndexSettings,
    manifest: Manifest,
    documents: dict[str, Document],
    chunks: list[Chunk],
    tokens: list[list[str]],
    vectors: VectorParts,
) -> IndexStore:
    """A store whose vectors and BM25 index are the version's new Milvus collection (written before the
    manifest, so a killed build leaves only a collection the next build drops)."""
    from indexer.milvus import MilvusDense, MilvusLexical, write_version

    uri, prefix = settings.milvus_uri, settings.milvus_collection
    sources = [c.source for c in chunks]
    name = write_version(uri, prefix, manifest.index_version, vectors, vectors.dimension, tokens, sources,
                         hnsw=manifest.dense_kind == "hnsw")  # fmt: skip
    lexical_engine = {**manifest.lexical, "library": "Milvus BM25 (full-text search over the same tokens)"}
    manifest = replace(manifest, store="milvus", milvus_uri=uri, milvus_collection=name, lexical=lexical_engine)
    dense, lexical = MilvusDense(uri, name, len(chunks), vectors.dimension), MilvusLexical(uri, name, tokens)
    return IndexStore(manifest, documents, chunks, tokens, dense, lexical)


def _manifest(
    settings: IndexSettings, documents: list[Document], skipped: dict[str, str], chunks: int, dimension: int
) -> Manifest:
    files = {d.source: d.sha256 for d in documents}
    chunking = Chunking.of(settings)
    digest = hashlib.sha256(repr((sorted(files.items()), chunking)).encode()).hexdigest()[:12]
    now = datetime.now(UTC)
    return Manifest(
        index_version=f"{now:%Y%m%dT%H%M%S%f}-{digest}",
        created_at=now.isoformat(timespec="seconds"),
        model=ModelInfo(settings.embedding_model, settings.embedding_variant, dimension),
        chunking=chunking,
        dense_kind="hnsw" if chunks > settings.hnsw_threshold else "flat",
        hnsw_threshold=settings.hnsw_threshold,
        documents=len(documents),
        chunks=chunks,
        files=files,
        skipped=skipped,
    )


@contextmanager
def _build_lock(index_dir: Path) -> Iterator[None]:
    """One build at a time per index directory (a second one waits)."""
    with (index_dir / ".build.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
