"""One loaded index version and everything that serves it, built by one function and swapped whole."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from indexer.datatypes import Document
from indexer.embedders.base import Embedder
from indexer.store import IndexStore
from qa.answer import Answerer
from qa.corpus import stored_name
from qa.errors import InvalidInput, NotFound
from qa.llm import UpstreamLLM
from qa.query import Query, analyze
from qa.rerank import Reranker
from qa.retriever import Retriever
from qa.settings import QASettings


@dataclass(frozen=True, slots=True)
class LoadedIndex:
    """An index version ready to serve. Never changed in place: a reload builds a new one, and a
    request keeps the one it took for its whole life."""

    store: IndexStore
    retriever: Retriever
    answerer: Answerer
    chunk_counts: Mapping[str, int]  # chunks per source

    @property
    def version(self) -> str:
        return self.store.version

    @property
    def documents(self) -> Mapping[str, Document]:
        return self.store.documents

    @property
    def chunks(self) -> int:
        return len(self.store.chunks)

    def analyze(self, text: str) -> Query:
        """The Query for a question, embedded (when a stage needs it) through this index's query cache."""
        return analyze(text, self.retriever.query_vector)

    def document(self, source: str) -> Document:
        """The indexed document named `source` (in either Unicode normal form); NotFound if none."""
        document = self.store.documents.get(stored_name(source))
        if document is None:
            raise NotFound(f"unknown source: {source}")
        return document

    def check_sources(self, sources: Collection[str] | None) -> None:
        """InvalidInput naming the sources this index does not hold."""
        unknown = [s for s in sources or () if s not in self.store.documents]
        if unknown:
            raise InvalidInput(f"unknown source(s): {', '.join(unknown[:5])}")


def open_index(
    store: IndexStore,
    embedder: Embedder,
    settings: QASettings,
    llm: UpstreamLLM | None,
    reranker: Reranker | None = None,
) -> LoadedIndex:
    """Wire a loaded store to its retriever and answerer; `embedder` embeds queries and answer sentences."""
    retriever = Retriever(
        store,
        embedder,
        dense_weight=settings.dense_weight,
        candidates=settings.candidates,
        query_cache=settings.query_cache,
        reranker=reranker,
    )
    answerer = Answerer(
        retriever,
        embedder,
        store.documents,
        threshold=settings.answer_threshold,
        paraphrase=(settings.answer_paraphrase_coverage, settings.answer_cosine),
        max_sentences=settings.answer_sentences,
        llm=llm,
        rerank=settings.rerank and reranker is not None,
    )
    return LoadedIndex(store, retriever, answerer, retriever.chunk_counts())
