"""Metric functions of EVAL.md over per-question relevance lists (pure, no I/O)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def hit_at_k(relevant: Sequence[bool], k: int) -> float:
    return 1.0 if any(relevant[:k]) else 0.0


def reciprocal_rank(relevant: Sequence[bool], k: int = 10) -> float:
    for rank, is_relevant in enumerate(relevant[:k], start=1):
        if is_relevant:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(relevant: Sequence[bool], k: int = 10) -> float:
    """Binary nDCG; the ideal ranking puts all relevant passages found in the top k first."""
    top = list(relevant[:k])
    dcg = sum(1.0 / math.log2(rank + 1) for rank, r in enumerate(top, start=1) if r)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, sum(top) + 1))
    return dcg / ideal if ideal else 0.0


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolation percentile, q in [0, 100]."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
