"""The embedder the settings ask for."""

from __future__ import annotations

from indexer.embedders.base import Embedder
from indexer.settings import IndexSettings


def make_embedder(settings: IndexSettings) -> Embedder:
    """ONNX Runtime (int8 or float32) or sentence-transformers on torch; backends import lazily."""
    if settings.embedding_backend == "onnx":
        from indexer.embedders.onnx_backend import OnnxEmbedder

        return OnnxEmbedder(
            settings.embedding_model,
            int8=settings.embedding_int8,
            batch_size=settings.embedding_batch_size,
            threads=settings.embedding_threads,
        )
    from indexer.embedders.torch_backend import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(settings.embedding_model, batch_size=settings.embedding_batch_size)
