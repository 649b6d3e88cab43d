"""Sweeps the refusal threshold: answerability scores of answerable and unanswerable questions."""

from __future__ import annotations

from eval.dataset import EvalCase
from eval.report import table
from qa.loaded import LoadedIndex


def answerability_scores(index: LoadedIndex, cases: list[EvalCase], top_k: int = 5) -> list[tuple[float, EvalCase]]:
    """(score, case) per question, lowest first: the value /v1/ask compares with its threshold."""
    scored = []
    for case in cases:
        query = index.analyze(case.question)
        scored.append((index.retriever.answerability(query, index.retriever.search(query, top_k)), case))
    return sorted(scored, key=lambda pair: pair[0])


def sweep(scored: list[tuple[float, EvalCase]], thresholds: list[float]) -> str:
    answerable = [s for s, c in scored if c.answerable]
    unanswerable = [s for s, c in scored if not c.answerable]
    rows = []
    for threshold in thresholds:
        answered = sum(s >= threshold for s in answerable) / len(answerable) if answerable else ""
        declined = sum(s < threshold for s in unanswerable) / len(unanswerable) if unanswerable else ""
        rows.append([threshold, answered, declined])
    return table(["threshold", "answerable answered", "unanswerable declined"], rows)
