"""Query groups for learning to rank: a question, the hybrid retrieval's top candidates, their features
and labels (1 for a passage of the right document holding the answer)."""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexer.normalize import normalize_query
from qa.features import Candidate, features
from qa.loaded import LoadedIndex
from qa.query import Query
from training.questions import SyntheticQuestion, questions_from, section_question, sentence_query

DEPTH = 30  # candidates per question: the reranker's depth at serving time


@dataclass(frozen=True, slots=True)
class Group:
    question: str
    kind: str
    source: str  # the document the question was made from (held-out splits go by document)
    features: np.ndarray  # (candidates, FEATURES)
    labels: np.ndarray  # (candidates,)


def synthetic_groups(
    index: LoadedIndex, *, per_chunk: int, sentence_share: float, seed: int, section_share: float = 0.0
) -> Iterator[Group]:
    """Groups from questions made out of every chunk of the index (at most `per_chunk` each)."""
    made = synthetic_questions(
        index, per_chunk=per_chunk, sentence_share=sentence_share, seed=seed, section_share=section_share
    )
    yield from question_groups(index, ((question, source, None) for question, source in made))


def synthetic_questions(
    index: LoadedIndex, *, per_chunk: int, sentence_share: float, seed: int, section_share: float = 0.0
) -> Iterator[tuple[SyntheticQuestion, str]]:
    """(question, the document it was made from) for every chunk of the index, at most `per_chunk` each."""
    rng = random.Random(seed)
    for chunk in index.store.chunks:
        made = questions_from(chunk.normalized, chunk.title, rng, limit=per_chunk)
        if rng.random() < sentence_share and (extra := sentence_query(chunk.normalized, chunk.title, rng)):
            made.append(extra)
        if rng.random() < section_share and (
            asked := section_question(chunk.normalized, chunk.section, chunk.title, rng)
        ):
            made.append(asked)
        for question in made:
            yield question, chunk.source


def question_groups(
    index: LoadedIndex, questions: Iterable[tuple[SyntheticQuestion, str, list[str] | None]]
) -> Iterator[Group]:
    """Groups from (question, its document, its answers) triples, such as CMRC 2018's."""
    for question, source, answers in questions:
        group = _group(index, question, source, answers=answers)
        if group is not None:
            yield group


def cmrc_questions(queries: Path, excluded_paragraphs: set[str]) -> Iterator[tuple[SyntheticQuestion, str, list[str]]]:
    """(question, its paragraph, its answers normalised) for the CMRC 2018 questions no evaluation question shares
    a paragraph with."""
    for line in queries.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        sources = {f"{pid}.txt" for pid in row["gold_ids"]}
        if sources & excluded_paragraphs:
            continue
        answers = [normalize_query(a) for a in row["answers"] if a.strip()]
        yield SyntheticQuestion(row["question"], "cmrc", answers[0] if answers else ""), next(iter(sources)), answers


def written_questions(path: Path) -> Iterator[tuple[SyntheticQuestion, str, list[str]]]:
    """(question, its document, its evidence normalised) for the questions written by reading training documents
    (training/data/README.md): asked as people ask, in other words than the text's."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            evidence = normalize_query(row["evidence"])
            yield SyntheticQuestion(row["question"], "written", evidence), row["source"], [evidence]


def _group(index: LoadedIndex, question: SyntheticQuestion, source: str, answers: list[str] | None = None):
    labelled = labelled_candidates(index, question, source, answers)
    if labelled is None:
        return None
    query, candidates, labels = labelled
    rows = features(query, candidates, index.retriever)
    return Group(question.question, question.kind, source, rows, labels)


def labelled_candidates(
    index: LoadedIndex, question: SyntheticQuestion, source: str, answers: list[str] | None = None
) -> tuple[Query, list[Candidate], np.ndarray] | None:
    """The hybrid retrieval's top candidates and their labels, or None when there is nothing to learn
    (the answer was not retrieved, or every candidate holds it)."""
    query = index.analyze(question.question)
    candidates: list[Candidate] = index.retriever.hybrid_candidates(query, 100)[:DEPTH]
    spans = answers or [question.answer]
    labels = np.asarray(
        [c.chunk.source == source and any(a in c.chunk.normalized for a in spans) for c in candidates], dtype=np.int32
    )
    if not 0 < labels.sum() < len(labels):
        return None
    return query, candidates, labels
