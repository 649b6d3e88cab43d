"""BM25 over jieba tokens (bm25s), scoring every chunk so it can be fused and filtered."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import bm25s
import numpy as np


class LexicalIndex:
    """BM25 (k1 1.2, b 0.75) over each chunk's jieba tokens; row i is chunk i of the store."""

    def __init__(self, bm25: bm25s.BM25, token_lists: list[list[str]]) -> None:
        self._bm25 = bm25
        self.size = len(token_lists)
        self._document_frequency = Counter(t for tokens in token_lists for t in set(tokens))

    @classmethod
    def build(cls, token_lists: list[list[str]]) -> LexicalIndex:
        bm25 = bm25s.BM25(k1=1.2, b=0.75)
        # an empty chunk still needs a row, so every chunk keeps its row number
        bm25.index([tokens or [""] for tokens in token_lists], show_progress=False)
        return cls(bm25, token_lists)

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 score of every chunk for the query (zeros when no token is known)."""
        known = [t for t in query_tokens if t in self._bm25.vocab_dict]
        if not known:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(known), dtype=np.float32)

    def idf(self, token: str) -> float:
        """Smoothed inverse document frequency; a token no chunk contains weighs the most."""
        return math.log((self.size + 1) / (self._document_frequency.get(token, 0) + 0.5))

    def save(self, directory: Path) -> None:
        self._bm25.save(str(directory), show_progress=False)

    @classmethod
    def load(cls, directory: Path, token_lists: list[list[str]]) -> LexicalIndex:
        return cls(bm25s.BM25.load(str(directory), show_progress=False), token_lists)
