"""Chat logic behind the OpenAI-compatible endpoints: the question in context, and streamed pieces."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from qa.query import Query

_FOLLOW_UP = re.compile(r"^(那么?|还有|另外|再|and|what about)", re.IGNORECASE)
_TRAILING_PARTICLE = re.compile(r"[呢吗嘛？?。！!\s]+$")
_SHORT_QUESTION = 12  # characters: shorter questions usually lean on the previous turn
_PREVIOUS_CHARS = 200  # of the previous question a follow-up is completed from: its last sentence
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;\n])")
_STREAM_PIECE = 24  # characters per streamed delta


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message reduced to what the chat logic reads."""

    role: str
    text: str


def question_in_context(messages: list[Message], analyze: Callable[[str], Query], *, max_chars: int) -> Query:
    """The last user question, completed from the previous one when it is an elliptical follow-up.

    "那郓城县呢？" after "东阿县如何开展双随机检查" becomes "郓城县如何开展双随机检查": the new place
    replaces the old one; a follow-up without a place is appended to the previous question.
    A question that is not a follow-up is analysed once and becomes the Query itself. Only the last
    question is bounded by `max_chars` (ValueError): of the previous one, only its last sentence is read.
    """
    users = [m.text.strip() for m in messages if m.role == "user" and m.text.strip()]
    if not users:
        raise ValueError("messages must include a user message with text")
    if len(users[-1]) > max_chars:
        raise ValueError(f"the question must be at most {max_chars} characters")
    last = analyze(users[-1])
    room = min(_PREVIOUS_CHARS, max_chars - len(last.text) - 1)
    if len(users) == 1 or not _is_follow_up(last.text) or room <= 0:
        return last
    previous = _tail(users[-2], room)
    old_places = [p for p in analyze(previous).places if p in previous]
    if last.places and old_places:
        resolved = previous
        for old in old_places:
            resolved = resolved.replace(old, last.places[0])
        return analyze(resolved)
    follow_up = _TRAILING_PARTICLE.sub("", _FOLLOW_UP.sub("", last.text))
    return analyze(f"{_TRAILING_PARTICLE.sub('', previous)}，{follow_up}")


def stream_pieces(text: str) -> Iterator[str]:
    """Deltas that never split a [n] marker, so a client can link markers as they arrive."""
    position = 0
    while position < len(text):
        end = min(position + _STREAM_PIECE, len(text))
        marker = text.rfind("[", position, end)
        if marker > position and "]" not in text[marker:end]:
            end = marker
        yield text[position:end]
        position = end


def _tail(text: str, limit: int) -> str:
    """The last sentence of `text` (what a follow-up leans on), at most its last `limit` characters."""
    sentences = [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]
    return sentences[-1][-limit:] if sentences else text[-limit:]


def _is_follow_up(text: str) -> bool:
    return len(text) <= _SHORT_QUESTION or bool(_FOLLOW_UP.match(text))
