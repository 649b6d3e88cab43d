"""The learned reranker: a LightGBM LambdaRank model over qa.features, reordering a hybrid search's top.

The model is trained here (`python -m training ranker`) on synthetic questions from legal and
policy text that no evaluation set draws from, and shipped as a small text file beside this module.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import lightgbm
import numpy as np

from indexer.datatypes import Chunk
from qa.features import FEATURES, Candidate, Corpus, features
from qa.query import Query

MODEL_DIR = Path(__file__).with_name("models")
DEFAULT_MODEL = MODEL_DIR / "ranker.txt"


class Reranker:
    """Scores the first `depth` candidates with the model and puts them first in that order."""

    def __init__(self, model_file: Path = DEFAULT_MODEL, *, depth: int = 30) -> None:
        self.model_file = model_file
        self.depth = depth
        self._booster = lightgbm.Booster(model_file=str(model_file))
        names = tuple(self._booster.feature_name())
        if names != FEATURES:
            raise ValueError(f"{model_file} was trained on other features ({len(names)}); retrain it")

    def scores(
        self,
        query: Query,
        candidates: Sequence[Candidate],
        corpus: Corpus,
    ) -> np.ndarray:
        """The model's relevance score of each candidate (higher is better)."""
        if not candidates:
            return np.zeros(0)
        rows = features(query, candidates, corpus)
        return np.asarray(self._booster.predict(rows, num_threads=1), dtype=np.float64)

    def rerank(
        self,
        query: Query,
        candidates: Sequence[Candidate],
        corpus: Corpus,
    ) -> list[tuple[Chunk, float]]:
        """(chunk, score) best first: the scored top by the model, then the rest in retrieval order below it."""
        top, rest = candidates[: self.depth], candidates[self.depth :]
        scores = self.scores(query, top, corpus)
        order = sorted(range(len(top)), key=lambda i: (-scores[i], i))
        ranked = [(top[i].chunk, float(scores[i])) for i in order]
        floor = min((s for _, s in ranked), default=0.0)
        return ranked + [(c.chunk, floor - 1.0 - i * 1e-3) for i, c in enumerate(rest)]


def model_card(model_file: Path = DEFAULT_MODEL) -> dict:
    """What the model was trained on and how (written beside it by the training command)."""
    return json.loads(model_file.with_suffix(".json").read_text(encoding="utf-8"))
