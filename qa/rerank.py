"""The learned reranker: a LightGBM LambdaRank model over qa.features, reordering a hybrid search's top,
and its sibling over the same features that scores an answer's candidate sentences.

Both are trained here (`python -m training ranker`, `python -m training sentences`) on synthetic
questions from legal and policy text that no evaluation set draws from, and shipped as small text
files beside this module.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import lightgbm
import numpy as np

from indexer.datatypes import Chunk
from qa.cross_encoder import CrossEncoder, passage_text, passage_texts
from qa.features import FEATURES, Candidate, Corpus, features
from qa.fusion import min_max
from qa.query import Query
from qa.settings import (
    CROSS_ENCODER_MARGIN,
    CROSS_ENCODER_SENTENCE_MARGIN,
    CROSS_ENCODER_SENTENCE_WEIGHT,
    CROSS_ENCODER_SENTENCES,
    CROSS_ENCODER_WEIGHT,
)

MODEL_DIR = Path(__file__).with_name("models")
DEFAULT_MODEL = MODEL_DIR / "ranker.txt"
# The same features over an answer's candidate sentences, trained to find the sentence holding the answer.
DEFAULT_SENTENCE_MODEL = MODEL_DIR / "sentences.txt"


class Reranker:
    """Scores the first `depth` candidates with the model and puts them first in that order; then, with a
    cross-encoder and when the model's first two are closer than `cross_margin`, reorders the first
    `cross_depth` by a blend of both models' scores. Scores answer sentences with the sentence model (or,
    without one, with the passage model), and a cross-encoder (the sentences' own, else the passages') rescores
    the best `cross_sentences` of them."""

    def __init__(
        self,
        model_file: Path = DEFAULT_MODEL,
        *,
        sentence_model_file: Path | None = DEFAULT_SENTENCE_MODEL,
        depth: int = 30,
        cross_encoder: CrossEncoder | None = None,
        cross_depth: int = 5,
        cross_weight: float = CROSS_ENCODER_WEIGHT,
        cross_margin: float = CROSS_ENCODER_MARGIN,
        cross_sentences: int = CROSS_ENCODER_SENTENCES,
        cross_sentence_weight: float = CROSS_ENCODER_SENTENCE_WEIGHT,
        cross_sentence_margin: float = CROSS_ENCODER_SENTENCE_MARGIN,
        sentence_cross_encoder: CrossEncoder | None = None,
    ) -> None:
        self.model_file = model_file
        self.depth = depth
        self.cross_encoder = cross_encoder
        self.cross_depth = cross_depth
        self.cross_weight = cross_weight
        self.cross_margin = cross_margin
        self.cross_sentences = cross_sentences
        self.cross_sentence_weight = cross_sentence_weight
        self.cross_sentence_margin = cross_sentence_margin
        # sentences are read by a model of their own when there is one, else by the passages' cross-encoder
        self.sentence_cross_encoder = sentence_cross_encoder or cross_encoder
        self._booster = _booster(model_file)
        # without a sentence model, sentences are scored as short passages by the passage model
        self._sentence_booster = _booster(sentence_model_file) if sentence_model_file else self._booster

    def scores(
        self,
        query: Query,
        candidates: Sequence[Candidate],
        corpus: Corpus,
    ) -> np.ndarray:
        """The model's relevance score of each candidate (higher is better)."""
        return _predict(self._booster, query, candidates, corpus)

    def sentence_scores(self, query: Query, candidates: Sequence[Candidate], corpus: Corpus) -> np.ndarray:
        """How likely each candidate sentence (a Candidate whose chunk holds one sentence) states the answer."""
        return _predict(self._sentence_booster, query, candidates, corpus)

    def cross_encoded_sentences(self, query: Query, candidates: Sequence[Candidate], scores: np.ndarray) -> np.ndarray:
        """`scores` with the best `cross_sentences` sentences rescored by a blend with the cross-encoder's logits,
        spread over the range their scores had, unless the best leads the second by `cross_sentence_margin`; the
        rest keep theirs, below them. (Unless both agree on the first, the best score falls a little, so the floors
        relative to it let a little more through.)"""
        if self.sentence_cross_encoder is None or self.cross_sentences < 2 or len(candidates) < 2:
            return scores
        top = np.argsort(-scores, kind="stable")[: self.cross_sentences]
        head = scores[top]
        if head.max() == head.min():  # no range to spread a blend over
            return scores
        if head[0] - head[1] >= self.cross_sentence_margin:  # a clear best needs no second opinion
            return scores
        logits = self.sentence_cross_encoder.scores(query.normalized, [passage_text(candidates[i].chunk) for i in top])
        blended = (1 - self.cross_sentence_weight) * min_max(head) + self.cross_sentence_weight * min_max(logits)
        rescored = scores.copy()
        rescored[top] = head.min() + (head.max() - head.min()) * blended
        return rescored

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
        # a clear first needs no second opinion: the cross-encoder's ~100 ms is paid where the model hesitates
        if self.cross_encoder is not None and len(ranked) > 1 and ranked[0][1] - ranked[1][1] < self.cross_margin:
            ranked = self._cross_encoded(query, ranked, corpus)
        floor = min((s for _, s in ranked), default=0.0)
        return ranked + [(c.chunk, floor - 1.0 - i * 1e-3) for i, c in enumerate(rest)]

    def _cross_encoded(
        self, query: Query, ranked: list[tuple[Chunk, float]], corpus: Corpus
    ) -> list[tuple[Chunk, float]]:
        """The first `cross_depth` reordered by z-scored model scores blended with the cross-encoder's;
        they keep the same set of scores (reassigned in the new order), so scores fall with rank."""
        assert self.cross_encoder is not None
        head, tail = ranked[: self.cross_depth], ranked[self.cross_depth :]
        first = np.asarray([s for _, s in head])
        texts = passage_texts(query, corpus, [c for c, _ in head], self.cross_encoder.room(query.normalized))
        second = self.cross_encoder.scores(query.normalized, texts)
        blended = (1 - self.cross_weight) * _z(first) + self.cross_weight * _z(second)
        order = sorted(range(len(head)), key=lambda i: (-blended[i], i))
        return [(head[i][0], float(score)) for i, score in zip(order, first, strict=True)] + tail


def _booster(model_file: Path) -> lightgbm.Booster:
    booster = lightgbm.Booster(model_file=str(model_file))
    names = tuple(booster.feature_name())
    if names != FEATURES:
        raise ValueError(f"{model_file} was trained on other features ({len(names)}); retrain it")
    return booster


def _predict(booster: lightgbm.Booster, query: Query, candidates: Sequence[Candidate], corpus: Corpus) -> np.ndarray:
    if not candidates:
        return np.zeros(0)
    rows = features(query, candidates, corpus)
    return np.asarray(booster.predict(rows, num_threads=1), dtype=np.float64)


def _z(values: np.ndarray) -> np.ndarray:
    spread = values.std()
    return (values - values.mean()) / spread if spread > 0 else np.zeros_like(values)


def model_card(model_file: Path = DEFAULT_MODEL) -> dict:
    """What the model was trained on and how (written beside it by the training command)."""
    return json.loads(model_file.with_suffix(".json").read_text(encoding="utf-8"))
