"""Score scaling and hybrid fusion of lexical (BM25) and dense (cosine) candidate scores."""

from __future__ import annotations

import numpy as np


def min_max(values: np.ndarray) -> np.ndarray:
    """Scale to 0..1 over the given values (all ones when they are equal)."""
    low, high = float(values.min()), float(values.max())
    return (values - low) / (high - low) if high > low else np.ones_like(values)


def max_scaled(values: np.ndarray) -> np.ndarray:
    """Divide by the largest value: BM25 scores keep their ratios, and a zero stays zero."""
    high = float(values.max())
    return values / high if high > 0 else np.zeros_like(values)


def fuse(lexical: np.ndarray, dense: np.ndarray, dense_weight: float) -> np.ndarray:
    """The hybrid score of row-aligned candidates: a weighted sum of both scores, each scaled to 0..1."""
    return dense_weight * min_max(dense) + (1 - dense_weight) * max_scaled(lexical)
