"""BM25 over jieba tokens (bm25s: every chunk's weight of every token it holds, precomputed in a
token-major sparse matrix, so a query adds up its tokens' postings only)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import bm25s
import numpy as np

# Rows per pool place taken from each posting list to bound the pool's lowest score: a bound from four
# times the pool's rows of the rarest words leaves a few hundred rows to rank at 180,000 chunks.
_FLOOR_ROWS = 4
_SMALLEST = float(np.finfo(np.float32).tiny)  # the least score a matching row has


class DocumentFrequencies:
    """How many chunks hold each token, for weighing a question's terms (whatever engine ranks)."""

    def __init__(self, token_lists: Sequence[Sequence[str]]) -> None:
        self._size = len(token_lists)
        self._counts = Counter(t for tokens in token_lists for t in set(tokens))

    def idf(self, token: str) -> float:
        """Smoothed inverse document frequency; a token no chunk contains weighs the most."""
        return math.log((self._size + 1) / (self._counts.get(token, 0) + 0.5))


class LexicalIndex:
    """BM25 (k1 1.2, b 0.75) over each chunk's jieba tokens; row i is chunk i of the store."""

    def __init__(self, bm25: bm25s.BM25, token_lists: list[list[str]]) -> None:
        self._bm25 = bm25
        self.size = len(token_lists)
        self.idf = DocumentFrequencies(token_lists).idf

    @classmethod
    def build(cls, token_lists: list[list[str]]) -> LexicalIndex:
        bm25 = bm25s.BM25(k1=1.2, b=0.75)
        # an empty chunk still needs a row, so every chunk keeps its row number
        bm25.index([tokens or [""] for tokens in token_lists], show_progress=False)
        return cls(bm25, token_lists)

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 score of every chunk for the query (zeros when no token is known)."""
        return self._scores(self._known(query_tokens))

    def top(self, query_tokens: list[str], pool: int, allowed: np.ndarray | None = None) -> dict[int, float]:
        """row -> BM25 score of the best `pool` chunks (within `allowed` rows) that match at all."""
        known = self._known(query_tokens)
        if not known or pool <= 0:
            return {}
        scores = self._scores(known)
        if allowed is None:
            # Only rows that can make the pool are ranked: tens of thousands of chunks hold a common word,
            # and ranking them all was most of a lexical search (1.8 ms at 180,000 chunks).
            rows = np.flatnonzero(scores >= self._pool_floor(known, scores, pool))
        else:
            rows = np.sort(allowed[scores[allowed] > 0])
        best = rows[top_rows(scores[rows], pool)]
        return dict(zip(best.tolist(), scores[best].tolist(), strict=True))

    def _known(self, query_tokens: list[str]) -> list[int]:
        vocabulary = self._bm25.vocab_dict
        return [vocabulary[t] for t in query_tokens if t in vocabulary]

    def _scores(self, token_ids: list[int]) -> np.ndarray:
        if not token_ids:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(token_ids), dtype=np.float32)

    def _pool_floor(self, token_ids: list[int], scores: np.ndarray, pool: int) -> float:
        """A score the pool-th best row reaches: the pool-th best among some rows that hold the rarest
        query tokens (any matching rows give such a bound), and never 0, so non-matching rows stay out."""
        postings = self._bm25.scores
        indptr, indices = postings["indptr"], postings["indices"]
        ids = np.asarray(token_ids)
        starts, ends = indptr[ids], indptr[ids + 1]
        held = np.zeros(0, dtype=indices.dtype)
        for i in np.argsort(ends - starts, kind="stable"):
            # a few rows of each posting list are enough: sorting a common word's whole list costs more than it saves
            held = np.union1d(held, indices[starts[i] : min(ends[i], starts[i] + _FLOOR_ROWS * pool)])
            if len(held) >= pool:
                return max(float(np.partition(scores[held], len(held) - pool)[len(held) - pool]), _SMALLEST)
        return _SMALLEST  # fewer matching rows than the pool (no list was cut): every matching row

    def save(self, directory: Path) -> None:
        self._bm25.save(str(directory), show_progress=False)

    @classmethod
    def load(cls, directory: Path, token_lists: list[list[str]]) -> LexicalIndex:
        return cls(bm25s.BM25.load(str(directory), show_progress=False), token_lists)


def top_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """The rows of the k highest scores, best first, ties by row: what `argsort(-scores, stable)[:k]` gives,
    without sorting the whole array (at 257,000 chunks the full sort was most of a lexical search)."""
    n = len(scores)
    if k >= n:
        return np.argsort(-scores, kind="stable")
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    kth = np.partition(scores, n - k)[n - k]  # the k-th largest value
    above = np.flatnonzero(scores > kth)
    rows = np.concatenate([above, np.flatnonzero(scores == kth)[: k - len(above)]])
    return rows[np.lexsort((rows, -scores[rows]))]
