"""What the running service holds: settings, the embedder, and the answerer over the current index."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from indexer.build import BuildReport, build_index, same_model
from indexer.documents import sha256_bytes
from indexer.embedding import Embedder, make_embedder
from indexer.extract import SUFFIXES, extract_text
from indexer.store import IndexNotFound, IndexStore, current_version_dir
from service.answer import Answerer
from service.batching import BatchingEmbedder
from service.config import Settings
from service.corpus import CorpusFiles, safe_source
from service.errors import Conflict, Duplicate, NotFound
from service.llm import UpstreamLLM
from service.retriever import Retriever

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DocumentChange:
    source: str
    sha256: str
    status: str  # added, replaced or deleted
    report: BuildReport


@dataclass
class ServiceState:
    settings: Settings
    embedder: Embedder | None = None
    query_embedder: Embedder | None = None  # the embedder behind the micro-batcher, for queries
    answerer: Answerer | None = None  # replaced whole on reindex; requests keep the one they took
    load_error: str | None = None
    _reindex_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def corpus(self) -> CorpusFiles:
        return CorpusFiles(self.settings.corpus_dir)

    def load(self) -> None:
        """Load the current index; on failure the service stays up and reports 503."""
        try:
            store = IndexStore.load(self.settings.index_dir)
        except IndexNotFound as exc:
            self.load_error = str(exc)
            logger.warning("%s", exc)
            return
        self._check_model(store)
        self.answerer = self._answerer(store)
        self.load_error = None
        logger.info(
            "index %s loaded: %d documents, %d chunks, model %s (%d-d)",
            store.version, len(store.documents), len(store.chunks),
            store.manifest["model"]["name"], store.manifest["model"]["dimension"],
        )  # fmt: skip

    def reload_if_replaced(self) -> bool:
        """Load the index again when a build (the CLI, another process) made a new version current."""
        try:
            current = current_version_dir(self.settings.index_dir).name
        except IndexNotFound:
            return False
        loaded = self.answerer.retriever.store.version if self.answerer else None
        if current == loaded:
            return False
        with self._reindex_lock:
            self.load()
        return True

    def reindex(self) -> BuildReport:
        """Rebuild from the corpus and swap the new index in; one rebuild at a time."""
        with self._reindex_lock:
            return self._rebuild()

    def add_document(self, filename: str, data: bytes) -> DocumentChange:
        """Store an uploaded file in the corpus, then index it; raises UnsafeName, UndecodableFile, Duplicate."""
        source = safe_source(filename)
        extract_text(data, PurePosixPath(source).suffix)  # unreadable files never reach the corpus
        digest = sha256_bytes(data)
        with self._reindex_lock:
            documents = self.answerer.retriever.store.documents if self.answerer else {}
            twin = next((d.source for d in documents.values() if d.sha256 == digest), None)
            if twin is not None:
                raise Duplicate(f"same content as the indexed document {twin}")
            replaced = self.corpus.path_of(source).is_file()
            self.corpus.write(source, data)
            report = self._rebuild()
        return DocumentChange(source, digest, "replaced" if replaced else "added", report)

    def delete_document(self, source: str) -> DocumentChange:
        """Remove a corpus file, then its chunks from the index; raises UnsafeName or NotFound."""
        with self._reindex_lock:
            path = self.corpus.path_of(source)
            if not path.is_file() or path.suffix.lower() not in SUFFIXES:
                raise NotFound(f"unknown source: {source}")
            indexed = self.answerer.retriever.store.documents if self.answerer else {}
            if set(indexed) <= {source}:
                raise Conflict("the last document cannot be deleted: an index needs at least one")
            digest = sha256_bytes(path.read_bytes())
            self.corpus.delete(source)
            report = self._rebuild()
        return DocumentChange(source, digest, "deleted", report)

    def _rebuild(self) -> BuildReport:
        report = build_index(self.settings, self._get_embedder)
        store = IndexStore.load(self.settings.index_dir)
        self._check_model(store)
        self.answerer = self._answerer(store)
        self.load_error = None
        return report

    def _get_embedder(self) -> Embedder:
        if self.embedder is None:
            self.embedder = make_embedder(self.settings)
        return self.embedder

    def _get_query_embedder(self) -> Embedder:
        if self.query_embedder is None:
            embedder = self._get_embedder()
            batch = self.settings.query_batch
            # A query batched with others would get a vector that depends on them: the same question
            # must always retrieve the same passages, so such embedders embed each query alone.
            batched = batch and embedder.batch_invariant
            self.query_embedder = BatchingEmbedder(embedder, max_batch=batch) if batched else embedder
        return self.query_embedder

    def _check_model(self, store: IndexStore) -> None:
        model = store.manifest["model"]
        if not same_model(store.manifest, self.settings) and self.embedder is None:
            raise RuntimeError(
                f"index was built with {model['name']} ({model.get('variant')}) but the settings ask for "
                f"{self.settings.embedding_model} ({self.settings.embedding_variant}): rebuild the index"
            )
        if self._get_embedder().dimension != model["dimension"]:
            raise RuntimeError(f"index vectors are {model['dimension']}-d, the embedder's are not")

    def _answerer(self, store: IndexStore) -> Answerer:
        retriever = Retriever(
            store,
            self._get_query_embedder(),
            dense_weight=self.settings.dense_weight,
            candidates=self.settings.candidates,
            query_cache=self.settings.query_cache,
        )
        return Answerer(
            retriever,
            threshold=self.settings.answer_threshold,
            max_sentences=self.settings.answer_sentences,
            llm=self._llm(),
        )

    def _llm(self) -> UpstreamLLM | None:
        settings = self.settings
        if not settings.llm_base_url:
            return None
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        return UpstreamLLM(settings.llm_base_url, settings.llm_model, key, settings.llm_timeout)
