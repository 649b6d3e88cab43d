"""Sentence groups for the answer-sentence model: a training question, the sentences the Answerer reads for
it (those of the top passages of the reranked search `/v1/ask` runs, split and scored as it does), their
features and labels.

A sentence is labelled 1 when it is from the question's document and holds the first characters of the
answer: an answer span made from a list ("(一)提供符合…") can run past its sentence's end.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from qa.answer import AnswerSentence
from qa.features import features
from qa.loaded import LoadedIndex
from training.groups import Group
from training.questions import SyntheticQuestion

_ANSWER_PREFIX = 8  # characters of the answer span a sentence must hold
# Groups hold the sentences of this many top passages: the shipped sentence models' recipe (answers read three
# until v17 and two since; a third passage's sentences still teach which sentence answers).
PASSAGES = 3


def sentence_groups(
    index: LoadedIndex, questions: Iterable[tuple[SyntheticQuestion, str, list[str] | None]]
) -> Iterator[Group]:
    """One group per question whose read sentences include some holding its answer and some not. `index` is
    opened with the passage model as its reranker."""
    if index.retriever.reranker is None:
        raise ValueError("sentence groups read the reranked search: open the index with the passage model")
    answerer = index.answerer
    for question, source, answers in questions:
        query = index.analyze(question.question)
        hits = index.retriever.search(query, PASSAGES, rerank=True)
        sentences, vectors = answerer.sentences(hits)
        labels = np.asarray(answer_labels(sentences, source, answers or [question.answer]), dtype=np.int32)
        if not 0 < labels.sum() < len(labels):
            continue
        read, _ = answerer.sentence_candidates(query, sentences, vectors)
        yield Group(question.question, question.kind, source, features(query, read, index.retriever), labels)


def answer_labels(sentences: list[AnswerSentence], source: str, answers: list[str]) -> list[bool]:
    """Whether each sentence is from the answer's document and holds the first characters of one answer."""
    spans = [a[:_ANSWER_PREFIX] for a in answers if a]
    return [s.hit.chunk.source == source and any(p in s.normalized for p in spans) for s in sentences]


def within_answer(sentences: list[AnswerSentence], source: str, answers: list[str]) -> list[bool]:
    """Whether each sentence is from the answer's document and opens inside one answer: a two-sentence answer's
    second sentence is evidence too, never a wrong sentence. A sentence shorter than the opening compared ("第三条")
    could open anywhere: it is not counted."""
    openings = [s.normalized.strip()[:_ANSWER_PREFIX] for s in sentences]
    return [
        s.hit.chunk.source == source and len(opening) == _ANSWER_PREFIX and any(opening in a for a in answers)
        for s, opening in zip(sentences, openings, strict=True)
    ]
