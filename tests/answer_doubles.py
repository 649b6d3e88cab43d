"""Stand-ins for what an Answerer reads: sentence vectors that favour one sentence, and a retriever over one
document's passages."""

import numpy as np

from indexer.datatypes import Chunk


class ClosestEmbedder:
    """Sentence vectors: [1, 0] for those holding `closest` (the question's vector), [0, 1] for the rest."""

    def __init__(self, closest: str) -> None:
        self.closest = closest

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return np.asarray([[1.0, 0.0] if self.closest in t else [0.0, 1.0] for t in texts], dtype=np.float32)


class DocumentRetriever:
    """The corpus of one document, its passages in order; no reranker."""

    reranker = None

    def __init__(self, chunks: list[Chunk] | None = None) -> None:
        self.chunks = chunks or []

    def idf(self, term: str) -> float:
        return 1.0

    def next_chunk(self, chunk: Chunk) -> Chunk | None:
        return next((c for c in self.chunks if c.position == chunk.position + 1), None)

    def chunks_of(self, source: str) -> list[Chunk]:
        return sorted((c for c in self.chunks if c.source == source), key=lambda c: c.position)
