"""LightGBM LambdaRank over the groups, with a held-out check by document, written as the shipped model."""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from pathlib import Path
from typing import Protocol, TypeVar

import lightgbm
import numpy as np

from qa.features import FEATURES
from training.groups import Group

PARAMS = {
    "objective": "lambdarank",
    "metric": "ndcg",
    "eval_at": [1, 3, 5],
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 40,
    "feature_fraction": 0.9,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambdarank_truncation_level": 10,
    "verbose": -1,
    "num_threads": 2,
    "deterministic": True,
    "force_row_wise": True,
}


class _FromDocument(Protocol):
    @property
    def source(self) -> str: ...


G = TypeVar("G", bound=_FromDocument)


class _OfKind(Protocol):
    @property
    def kind(self) -> str: ...


K = TypeVar("K", bound=_OfKind)


def split_by_document(groups: list[G], held_out: float, seed: int) -> tuple[list[G], list[G]]:
    """Train and held-out groups; no document gives questions to both."""
    sources = sorted({g.source for g in groups})
    random.Random(seed).shuffle(sources)
    kept_out = set(sources[: int(len(sources) * held_out)])
    return [g for g in groups if g.source not in kept_out], [g for g in groups if g.source in kept_out]


def weighed(groups: list[K], weights: dict[str, int]) -> list[K]:
    """Each group repeated as often as its kind weighs (1 when not named): LambdaRank's gradient is summed over
    groups, so a group counted twice pulls twice as hard."""
    return [g for g in groups for _ in range(weights.get(g.kind, 1))]


def train(train_groups: list[Group], held_out: list[Group], *, seed: int, rounds: int) -> lightgbm.Booster:
    data = _dataset(train_groups)
    valid = _dataset(held_out, reference=data)
    params = {**PARAMS, "seed": seed}
    return lightgbm.train(
        params, data, num_boost_round=rounds, valid_sets=[valid], callbacks=[lightgbm.early_stopping(30, verbose=False)]
    )


def hit_at_1(groups: list[Group], booster: lightgbm.Booster | None) -> float:
    """Share of groups whose first candidate is a positive: in retrieval order, or in the model's."""
    hits = 0
    for group in groups:
        order = np.arange(len(group.labels))
        if booster is not None:
            scores = booster.predict(group.features, num_threads=1)
            order = np.asarray(sorted(order, key=lambda i: (-scores[i], i)))
        hits += int(group.labels[order[0]] > 0)
    return hits / len(groups) if groups else 0.0


def save(booster: lightgbm.Booster, target: Path, card: dict) -> None:
    """The model as LightGBM text, and beside it a JSON card with its sha256 and provenance."""
    target.parent.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(target), num_iteration=booster.best_iteration or None)
    card = {**card, "sha256": hashlib.sha256(target.read_bytes()).hexdigest(), "features": list(FEATURES)}
    target.with_suffix(".json").write_text(json.dumps(card, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def kinds(groups: list[Group]) -> dict[str, int]:
    return dict(Counter(g.kind for g in groups))


def _dataset(groups: list[Group], reference: lightgbm.Dataset | None = None) -> lightgbm.Dataset:
    features = np.vstack([g.features for g in groups])
    labels = np.concatenate([g.labels for g in groups])
    return lightgbm.Dataset(
        features, labels, group=[len(g.labels) for g in groups], feature_name=list(FEATURES), reference=reference
    )
