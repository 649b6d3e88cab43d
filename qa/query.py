"""The analysed question: normalised once, tokenised, place-tagged and embedded at most once per request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from indexer.normalize import normalize_query
from indexer.text import content_words, is_stopword, places, segment, words


@dataclass(frozen=True)
class Query:
    """A question as every ranking and answering stage reads it.

    Built by `analyze` once per request; each derived form is computed on first use and kept
    (place tagging with jieba's POS tagger is the costliest step of a search, the embedding the
    costliest of all), so no stage repeats another's work.
    """

    text: str  # as the user wrote it: decides the answer's language and script
    normalized: str  # Simplified, NFKC, lower-case, pinyin removed: what the indexes compare
    embed: Callable[[str], np.ndarray] = field(repr=False, compare=False)

    @cached_property
    def tokens(self) -> tuple[str, ...]:
        """Search-mode tokens without stopwords (what BM25 scores)."""
        return tuple(segment(self.normalized))

    @cached_property
    def words(self) -> tuple[str, ...]:
        """Precise-mode words in reading order, stopwords kept."""
        return tuple(words(self.normalized))

    @cached_property
    def key_terms(self) -> tuple[str, ...]:
        """Content words of two characters or more (what answerability weighs)."""
        return tuple(content_words(list(self.words)))

    @cached_property
    def phrases(self) -> tuple[str, ...]:
        """Two consecutive words joined, one of them a content word ("召开听证会", "可以召开"): a passage
        holding one says it as the question does."""
        pairs = zip(self.words, self.words[1:], strict=False)
        joined = (a + b for a, b in pairs if not (is_stopword(a) and is_stopword(b)))
        return tuple(dict.fromkeys(p for p in joined if len(p) >= 3))

    @cached_property
    def places(self) -> tuple[str, ...]:
        """Place names the question names (jieba's "ns" tag), such as 郓城县."""
        return tuple(places(self.normalized))

    @cached_property
    def topic_tokens(self) -> tuple[str, ...]:
        """Tokens minus the named places and their pieces (东阿县 -> 东阿, 阿县): what the question is about."""
        return tuple(t for t in self.tokens if not any(t in place for place in self.places)) or self.tokens

    @cached_property
    def vector(self) -> np.ndarray:
        """The normalised question's embedding (shared from the query cache: never write to it)."""
        return self.embed(self.normalized)


def analyze(text: str, embed: Callable[[str], np.ndarray]) -> Query:
    """The Query for a question; `embed` turns normalised text into its vector (usually cached)."""
    return Query(text, normalize_query(text), embed)
