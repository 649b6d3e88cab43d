"""The analysed question: normalised once, tokenised, place-tagged and embedded at most once per request."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

import numpy as np

from indexer.normalize import normalize_query
from indexer.text import content_words, is_stopword, places, segment, words

# A question word as jieba cuts it ("什么", "哪一天", "多长", "几年", "吗"): the words beside it are what is asked.
_QUESTION_WORD = re.compile(r"^(?:什么|哪|多少|多长|多久|几|何|如何|怎|谁|是否|能否|能不能|可否|吗)")
# A question word in a clause: each clause holding one asks one thing ("有效期是几年？到期…要提前多久…" asks
# two; "补偿包括哪几项" and "在多长时间内决定是否给予援助" one). 哪怕 and 几乎 ask nothing.
_ASKS = re.compile(
    r"多少|(?<!庶)几(?!乎)|什么|哪(?!怕)|谁|怎么|怎样|如何|能不能|能否|可否|是否|是不是|有没有|可不可以|会不会|吗|多久|多长|何时|为何"
)
_CLAUSE_END = re.compile(r"[，,？?；;。!！]")
NUMERALS = "一二三四五六七八九十"  # a count, and the ordinals items and sections are told by
# A counted set asked for ("三个导向是什么", "三种意识有哪些"): a numeral, a classifier and the noun counted (not
# an ordinal, "第三个", nor the end of a larger number, "二十大报告").
_COUNTED = re.compile(
    r"(?<!第)((?<![一二三四五六七八九])十|(?<!十)[两二三四五六七八九])[个种项大条点][\u4e00-\u9fff]{2,4}?(?=是|有|分别|包括|指|都|具体|主要|[?？,，]|$)"
)
_FOCUS_BEFORE, _FOCUS_AFTER = 2, 2  # content words taken on each side of the question word
_FOCUS_REACH = 4  # words looked at on each side


class CountedSet(NamedTuple):
    """A set the question asks for by its count: "三种意识" (name) of 3 (size)."""

    name: str
    size: int


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
    def focus(self) -> tuple[str, ...]:
        """The content words next to a question word ("担任公证员在年龄上有什么限制" -> 年龄, 限制): the asked-about
        part, which the passage that answers holds and the lead repeating the topic often does not."""
        found: list[str] = []
        for i, word in enumerate(self.words):
            if not _QUESTION_WORD.match(word):
                continue
            before = _content_around(self.words[max(0, i - _FOCUS_REACH) : i])[-_FOCUS_BEFORE:]
            after = _content_around(self.words[i + 1 : i + 1 + _FOCUS_REACH])[:_FOCUS_AFTER]
            found += before + after
        return tuple(dict.fromkeys(found))

    @cached_property
    def asks(self) -> int:
        """How many things the question asks for (its clauses holding a question word)."""
        return sum(bool(_ASKS.search(clause)) for clause in _CLAUSE_END.split(self.normalized))

    @cached_property
    def counted_set(self) -> CountedSet | None:
        """The counted set the question asks for ("三种意识是什么" -> 三种意识, 3), or None."""
        found = _COUNTED.search(self.normalized)
        if found is None:
            return None
        return CountedSet(found.group(), NUMERALS.index(found.group(1).replace("两", "二")) + 1)

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


def _content_around(near: tuple[str, ...]) -> list[str]:
    """The content words among a question word's neighbours, other question words left out."""
    return [w for w in content_words(list(near)) if not _QUESTION_WORD.match(w)]


def analyze(text: str, embed: Callable[[str], np.ndarray]) -> Query:
    """The Query for a question; `embed` turns normalised text into its vector (usually cached)."""
    return Query(text, normalize_query(text), embed)
