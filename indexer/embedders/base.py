"""The Embedder protocol every backend implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of one fixed dimension."""

    name: str
    dimension: int
    # True when a text's vector does not depend on the other texts of its batch (padding is masked).
    # int8 dynamic quantisation scales activations per batch, so its vectors shift with the batch.
    batch_invariant: bool

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """One L2-normalised float32 vector."""
        ...
