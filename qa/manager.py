"""The index's life in a running service: load, reload, rebuild, and document changes."""

from __future__ import annotations

import errno
import gc
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from indexer.build import BuildReport, build_index, text_cache_dir
from indexer.chunking import split_document
from indexer.documents import document_from_bytes, sha256_bytes
from indexer.embedders.base import Embedder
from indexer.embedders.batching import BatchingEmbedder
from indexer.embedders.factory import make_embedder
from indexer.extract import SUFFIXES
from indexer.manifest import incompatibilities
from indexer.store import IndexNotFound, IndexStore, current_version_dir, read_manifest
from indexer.text_cache import TextCache
from qa import cross_encoder
from qa.corpus import CorpusFiles, safe_source, stored_name
from qa.errors import Conflict, Duplicate, EmptyDocument, IndexUnavailable, NotFound, StorageFull
from qa.llm import UpstreamLLM
from qa.loaded import LoadedIndex, open_index
from qa.rerank import DEFAULT_MODEL, DEFAULT_SENTENCE_MODEL, Reranker
from qa.settings import QASettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DocumentChange:
    """The outcome of an upload or a deletion, with the build that followed it."""

    source: str
    sha256: str
    status: str  # added, replaced or deleted
    report: BuildReport


class IndexManager:
    """Holds the current LoadedIndex and replaces it whole: on load, when a build made a new version
    current, and after a reindex or a document change (one rebuild at a time).

    It owns the process-wide resources that outlive index versions: the embedder, the query
    micro-batcher and the upstream model's HTTP client (closed by `close`).
    """

    def __init__(self, settings: QASettings, embedder: Embedder | None = None, *, degraded: str | None = None) -> None:
        self.settings = settings
        self.current: LoadedIndex | None = None  # requests take it once and keep it
        self.load_error: str | None = None
        # Why the index served is not the corpus's latest: the last build failed (start-up or a change).
        self.degraded = degraded
        self._embedder = embedder
        self._query_embedder: Embedder | None = None
        self._llm = _upstream_llm(settings)
        self._reranker = Reranker(
            settings.rerank_model or DEFAULT_MODEL,
            sentence_model_file=settings.sentence_model or DEFAULT_SENTENCE_MODEL,
            depth=settings.rerank_depth, cross_encoder=cross_encoder.from_settings(settings),
            cross_depth=settings.cross_encoder_depth, cross_weight=settings.cross_encoder_weight,
            cross_margin=settings.cross_encoder_margin, cross_sentences=settings.cross_encoder_sentences,
            cross_sentence_weight=settings.cross_encoder_sentence_weight,
            cross_sentence_margin=settings.cross_encoder_sentence_margin,
            sentence_cross_encoder=cross_encoder.sentence_model_from_settings(settings),
        )  # fmt: skip
        self._reindex_lock = threading.Lock()
        self._refused: str | None = None  # a version that could not be served is not retried

    @property
    def corpus(self) -> CorpusFiles:
        return CorpusFiles(self.settings.corpus_dir)

    def require(self) -> LoadedIndex:
        """The current index; IndexUnavailable (with the reason) while there is none."""
        current = self.current
        if current is None:
            raise IndexUnavailable(self.load_error or "no index is loaded")
        return current

    def load(self) -> None:
        """Load the current index version; when it is missing or cannot be served, say why and serve nothing."""
        with self._reindex_lock:
            try:
                self._swap_in(self._open_current())
            except IndexUnavailable as exc:
                self.load_error = str(exc)
                logger.warning("%s", exc)

    def reload_if_replaced(self) -> bool:
        """Load the index again when a build (the CLI, another process) made a new version current.

        A version that cannot be served is refused (IndexUnavailable), not retried, and the loaded
        one stays.
        """
        if not self._replaced():
            return False
        with self._reindex_lock:
            if not self._replaced():  # a reindex in this process swapped it in meanwhile
                return False
            try:
                self._swap_in(self._open_current())
            except IndexUnavailable as exc:
                if self.current is None:
                    self.load_error = str(exc)
                raise
        return True

    def reindex(self) -> BuildReport:
        """Rebuild from the corpus and swap the new index in."""
        with self._reindex_lock:
            return self._rebuild()

    def add_document(self, filename: str, data: bytes) -> DocumentChange:
        """Store an uploaded file in the corpus, then index it; raises UnsafeName, UndecodableFile,
        EmptyDocument, Duplicate. If indexing fails, the corpus is left as it was."""
        source = safe_source(filename)
        # unreadable or empty files never reach the corpus; the text is cached for the build that follows
        document = document_from_bytes(data, source, TextCache(text_cache_dir(self.settings)))
        if not split_document(document, self.settings.chunk_size, self.settings.chunk_overlap):
            raise EmptyDocument("the file holds no text once normalised (pinyin annotations and marks only)")
        with self._reindex_lock:
            documents = self.current.documents if self.current else {}
            twin = next((d.source for d in documents.values() if d.sha256 == document.sha256), None)
            if twin is not None:
                raise Duplicate(f"same content as the indexed document {twin}")
            replaced = self.corpus.path_of(source).is_file()
            with _storage_errors(), self.corpus.change(source):
                self.corpus.write(source, data)
                report = self._rebuild()
        return DocumentChange(source, document.sha256, "replaced" if replaced else "added", report)

    def delete_document(self, source: str) -> DocumentChange:
        """Remove a corpus file, then its chunks from the index; raises UnsafeName, NotFound or Conflict."""
        source = stored_name(source)
        with self._reindex_lock:
            path = self.corpus.path_of(source)
            if not path.is_file() or path.suffix.lower() not in SUFFIXES:
                raise NotFound(f"unknown source: {source}")
            indexed = self.current.documents if self.current else {}
            if set(indexed) <= {source}:
                raise Conflict("the last document cannot be deleted: an index needs at least one")
            digest = sha256_bytes(path.read_bytes())
            with _storage_errors(), self.corpus.change(source):
                self.corpus.delete(source)
                report = self._rebuild()
        return DocumentChange(source, digest, "deleted", report)

    def close(self) -> None:
        """Release what outlives index versions (the upstream model's connections)."""
        if self._llm is not None:
            self._llm.close()

    def _rebuild(self) -> BuildReport:
        embedder = self._get_embedder()
        try:
            report = build_index(self.settings, lambda: embedder, dimension=embedder.dimension)
        except Exception as exc:
            self.degraded = f"the last index build failed ({exc}); serving the previous index"
            raise
        self.degraded = None
        self._swap_in(self._open_current())
        return report

    def _replaced(self) -> bool:
        """True when the current version on disk is neither the loaded one nor one already refused."""
        try:
            latest = current_version_dir(self.settings.index_dir).name
        except IndexNotFound:
            return False
        return latest != self._refused and (self.current is None or latest != self.current.version)

    def _open_current(self) -> LoadedIndex:
        """The current version, checked against the settings and the embedder before it is read whole;
        IndexUnavailable (and the version remembered as refused) if it cannot be served."""
        try:
            manifest = read_manifest(self.settings.index_dir)
            dimension = self._get_embedder().dimension
            reasons = incompatibilities(manifest, self.settings, dimension=dimension, serving=True)
            if reasons:
                self._refused = manifest.index_version
                raise IndexUnavailable(
                    f"index {manifest.index_version} cannot be served: {'; '.join(reasons)}; rebuild it"
                )
            stale = incompatibilities(manifest, self.settings)
            if stale:
                logger.warning(
                    "serving index %s until a build replaces it: %s", manifest.index_version, "; ".join(stale)
                )
            store = IndexStore.load(self.settings.index_dir)
        except IndexNotFound as exc:
            raise IndexUnavailable(str(exc)) from exc
        return open_index(store, self._get_query_embedder(), self.settings, self._llm, self._reranker)

    def _swap_in(self, loaded: LoadedIndex) -> None:
        self.current = loaded
        self.load_error = None
        # An index is millions of long-lived objects (chunks, token lists) that the cyclic garbage
        # collector would otherwise walk in every full collection: a 50-100 ms pause in some request
        # (the p99 at 180k chunks). Frozen, they are left to reference counting, which frees a
        # replaced index all the same.
        gc.collect()
        gc.freeze()
        model = loaded.store.manifest.model
        logger.info(
            "index %s loaded: %d documents, %d chunks, model %s (%d-d)",
            loaded.version, len(loaded.documents), loaded.chunks, model.name, model.dimension,
        )  # fmt: skip

    def _get_embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = make_embedder(self.settings)
        return self._embedder

    def _get_query_embedder(self) -> Embedder:
        if self._query_embedder is None:
            embedder = self._get_embedder()
            batch = self.settings.query_batch
            # A query batched with others would get a vector that depends on them: the same question
            # must always retrieve the same passages, so such embedders embed each query alone.
            batched = batch and embedder.batch_invariant
            self._query_embedder = BatchingEmbedder(embedder, max_batch=batch) if batched else embedder
        return self._query_embedder


@contextmanager
def _storage_errors() -> Iterator[None]:
    """A full disk or quota as the domain's StorageFull (the change was undone), not an internal error."""
    try:
        yield
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise StorageFull("no space left on the server to store the change; nothing was changed") from exc
        raise


def _upstream_llm(settings: QASettings) -> UpstreamLLM | None:
    if not settings.llm_base_url:
        return None
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    return UpstreamLLM(settings.llm_base_url, settings.llm_model, key, settings.llm_timeout)
