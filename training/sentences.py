"""Sentence groups for the answer-sentence model: a training question, the sentences the Answerer reads for
it (those of the passage model's top passages, as it splits and scores them), their features and labels.

A sentence is labelled 1 when it is from the question's document and holds the first characters of the
answer: an answer span made from a list ("(一)提供符合…") can run past its sentence's end.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from indexer.datatypes import Hit
from qa.answer import PASSAGES_READ
from qa.features import features
from qa.loaded import LoadedIndex
from qa.rerank import Reranker
from training.groups import Group, labelled_candidates
from training.questions import SyntheticQuestion

_ANSWER_PREFIX = 8  # characters of the answer span a sentence must hold


def sentence_groups(
    index: LoadedIndex, reranker: Reranker, questions: Iterable[tuple[SyntheticQuestion, str, list[str] | None]]
) -> Iterator[Group]:
    """One group per question whose read sentences include some holding its answer and some not."""
    answerer = index.answerer
    for question, source, answers in questions:
        labelled = labelled_candidates(index, question, source, answers)
        if labelled is None:
            continue
        query, candidates, _ = labelled
        ranked = reranker.rerank(query, candidates, index.retriever)[:PASSAGES_READ]
        sentences, vectors = answerer.sentences([Hit(chunk, score) for chunk, score in ranked])
        spans = [a[:_ANSWER_PREFIX] for a in (answers or [question.answer]) if a]
        labels = np.asarray(
            [s.hit.chunk.source == source and any(p in s.normalized for p in spans) for s in sentences], dtype=np.int32
        )
        if not 0 < labels.sum() < len(labels):
            continue
        read, _ = answerer.sentence_candidates(query, sentences, vectors)
        yield Group(question.question, question.kind, source, features(query, read, index.retriever), labels)
