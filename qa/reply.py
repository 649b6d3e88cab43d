"""The reply a chat frontend shows: the answer with its [n] markers, then a references list (the cited
documents' clean titles and quotes cut at sentence ends), and where each citation sits in that text."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from indexer.normalize import display_text
from qa.answer import Answer, Citation, language

_REFERENCES = {"zh-Hans": "参考资料：", "zh-Hant": "參考資料：", "en": "References:"}
_QUOTE_CHARS = 80
_SENTENCE_END = re.compile(r"[。！？；!?;]")
_CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")
_TITLE_CHARS = 30
_CLAUSE_END = re.compile(r"[，,、：:]")


@dataclass(frozen=True, slots=True)
class Reference:
    """A citation as the reply shows it: its document's clean title, and the span of the reply text it
    is attached to (its first [n] marker, or its line in the references list when the marker was cut)."""

    citation: Citation
    title: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    references: list[Reference]
    finish_reason: str  # "stop", or "length" when max_tokens cut the answer


def compose_reply(
    answer: Answer, title_of: Callable[[str], str], *, max_tokens: int | None = None, stop: list[str] | None = None
) -> Reply:
    """The reply text and its references. `max_tokens` (approximate tokens) bounds the answer text; the
    references list follows whole, uncounted. A stop sequence cuts wherever it occurs."""
    titles = {c.source: clean_title(title_of(c.source)) for c in answer.citations}
    references = ""
    if answer.citations:
        lines = [_REFERENCES[language(answer.question)]]
        lines += [f"[{c.id}] {titles[c.source]}：“{quote_excerpt(c.quote)}”" for c in answer.citations]
        references = "\n\n" + "\n".join(lines)
    body, finish = answer.text, "stop"
    if max_tokens is not None and approximate_tokens(body) > max_tokens:
        body, finish = _cut_to_tokens(body, max_tokens), "length"
    text = body + references
    for sequence in stop or []:
        if sequence and sequence in text:
            text = text[: text.index(sequence)]
    return Reply(text, [_placed(c, titles[c.source], text) for c in answer.citations], finish)


def clean_title(title: str) -> str:
    """A document title readable in a list: pinyin annotations and mojibake gone, one line, bounded."""
    line = next((part.strip() for part in display_text(title).splitlines() if part.strip()), "")
    line = line.lstrip("#").strip()
    if len(line) <= _TITLE_CHARS:
        return line
    # A long first sentence reads best cut after its last whole clause ("东阿县委编办高度重视机构编制法治建设")
    clauses = [m.start() for m in _CLAUSE_END.finditer(line, 0, _TITLE_CHARS + 1)]
    return line[: clauses[-1]] if clauses and clauses[-1] >= _TITLE_CHARS // 4 else line[:_TITLE_CHARS] + "…"


def quote_excerpt(quote: str, limit: int = _QUOTE_CHARS) -> str:
    """The quote made readable, cut after the last sentence end within `limit` characters (else at it)."""
    text = " ".join(display_text(quote).split())
    if len(text) <= limit:
        return text
    ends = [m.end() for m in _SENTENCE_END.finditer(text, 0, limit)]
    return text[: ends[-1]] if ends and ends[-1] >= limit // 3 else text[:limit] + "…"


def approximate_tokens(text: str) -> int:
    """Tokens as common models count them, roughly: a CJK character about one, other text one per four."""
    cjk = len(_CJK.findall(text))
    return cjk + math.ceil((len(text) - cjk) / 4)


def _cut_to_tokens(text: str, budget: int) -> str:
    """The longest start of `text` within `budget` tokens, never splitting a [n] marker."""
    kept, used = 0, 0
    for match in re.finditer(r"\[\d+\]|.", text, re.DOTALL):
        cost = approximate_tokens(match.group())
        if used + cost > budget:
            break
        used += cost
        kept = match.end()
    return text[:kept]


def _placed(citation: Citation, title: str, text: str) -> Reference:
    for marker in (f"[{citation.id}]", f"\n[{citation.id}] "):
        position = text.find(marker)
        if position >= 0:
            start = position + (1 if marker.startswith("\n") else 0)
            return Reference(citation, title, start, start + len(f"[{citation.id}]"))
    return Reference(citation, title, len(text), len(text))  # both cut by a stop sequence
