"""Lists in answers: a question asking for a list is answered by the list's lead and its items, and a lead is
never quoted without them. Items are told by their markers ("(一)", "一、", "1.") as the chunker tells them."""

from __future__ import annotations

from typing import Protocol, TypeVar

from indexer.chunking import ENUMERATION

_GAP_CHARS = 6  # characters (a bare item number) between two sentences that still follow on


class _Source(Protocol):
    @property
    def source(self) -> str: ...


class _Hit(Protocol):
    @property
    def chunk(self) -> _Source: ...


class _Sentence(Protocol):
    @property
    def hit(self) -> _Hit: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def normalized(self) -> str: ...


S = TypeVar("S", bound=_Sentence)


def marker(text: str) -> str | None:
    """The style of a list item's marker ("(", "、", "." or "1、"), or None when the text starts no item."""
    found = ENUMERATION.match(text.lstrip())
    if found is None:
        return None
    mark = found.group()
    return "(" if mark.startswith("(") else ("1" if mark[0].isdigit() else "") + mark[-1]


def is_lead(sentence: _Sentence) -> bool:
    return sentence.normalized.rstrip().endswith(":")


def with_items(lead: S, sentences: list[S], text: str, *, room: int, limit: int | None = None) -> list[S]:
    """The lead and the sentences that follow it in its document (`text`) without a gap, as far as they were
    read (a list's items can run on into the next passage), up to the end of its list, at most `limit`,
    within `room` characters."""
    after = sorted(
        (s for s in sentences if s.hit.chunk.source == lead.hit.chunk.source and s.start >= lead.end),
        key=lambda s: s.start,
    )
    chosen = [lead]
    end, length = lead.end, lead.end - lead.start
    style: str | None = None  # the marker of the list's first item
    for sentence in after:
        if sentence.start < end:  # part of a sentence already taken (passages overlap)
            continue
        if not _follows_on(text, end, sentence.start):
            break
        if length + sentence.end - sentence.start > room or len(chosen) - 1 == limit:
            break
        mark = marker(sentence.normalized)
        # a new line that is no item of this list ends it ("二、" after "(一)…(二)…" is the next section);
        # an item's own "；" does not
        if style is not None and "\n" in text[end : sentence.start] and mark != style:
            break
        style = style or mark
        chosen.append(sentence)
        end, length = sentence.end, length + sentence.end - sentence.start
    return chosen


def lead_of(item: S, sentences: list[S], text: str) -> S | None:
    """The lead of the list an item belongs to, when it was read and the items before the item follow on
    from it without a gap; None for a sentence that is no item."""
    if marker(item.normalized) is None:
        return None
    before = [s for s in sentences if s.hit.chunk.source == item.hit.chunk.source and s.end <= item.start]
    start = item.start
    for sentence in sorted(before, key=lambda s: s.start, reverse=True):
        if not _follows_on(text, sentence.end, start):
            return None
        if is_lead(sentence):
            return sentence
        if marker(sentence.normalized) is None:
            return None
        start = sentence.start
    return None


def _follows_on(text: str, end: int, start: int) -> bool:
    return len(text[end:start].strip()) <= _GAP_CHARS
