"""Sentence-transformers on torch: the reference backend, and the loader the ONNX export starts from."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)


class SentenceTransformerEmbedder:
    """Mean-pooled, normalised sentence embeddings on the CPU."""

    batch_invariant = True

    def __init__(self, model: str, *, batch_size: int = 32, show_progress: bool = False) -> None:
        self.name = model
        self.batch_size = batch_size
        self.show_progress = show_progress
        self._model = load_sentence_transformer(model)
        self.dimension = int(self._model.get_embedding_dimension())

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=self.batch_size,  # encode() sorts by length, so batches pad little
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=self.show_progress,
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


def load_sentence_transformer(model: str):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    path = Path(model)
    if path.is_dir() and not (path / "modules.json").exists():
        # A bare Hugging Face folder (m3e-small as shipped): mean pooling, then L2 normalisation.
        transformer = Transformer(str(path))
        pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
        return SentenceTransformer(modules=[transformer, pooling, Normalize()], device="cpu")
    if not path.exists() and (model.startswith((".", "/")) or model.startswith("models/")):
        raise ValueError(f"embedding model folder {model} does not exist (run `make install`)")
    return SentenceTransformer(model, device="cpu")
