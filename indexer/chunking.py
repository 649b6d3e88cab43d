"""Splits a document into overlapping chunks along Chinese sentence and heading boundaries."""

from __future__ import annotations

import re
from dataclasses import dataclass

from indexer.datatypes import Chunk, Document
from indexer.normalize import NormalizedText, display_text, normalize

# Bump when the chunks of the same text change, so indexes chunked the old way are rebuilt.
# 2: a list's items stay with their lead.
CHUNKER_VERSION = 2
_NUMERAL = "一二三四五六七八九十百零〇"
# Headings as they look after normalisation (NFKC turns "（一）" into "(一)"), at a line start.
_HEADING_LEVELS = (
    re.compile(rf"[{_NUMERAL}]+、|第[{_NUMERAL}\d]+[编章]"),
    re.compile(rf"\([{_NUMERAL}]+\)|第[{_NUMERAL}\d]+节"),
    re.compile(rf"第[{_NUMERAL}\d]+条"),
)
_POINT = re.compile(rf"[{_NUMERAL}]+是")  # "一是……": starts a new point inside a paragraph
# An enumeration at a line start: "一、" or "(一)". After a lead that ends with a colon ("应当具备下列
# 条件：") it is an item of that list, not a heading: laws and notices list conditions, measures and
# cases this way, and an item cut off from its lead answers a question that shares no word with it.
ENUMERATION = re.compile(rf"[{_NUMERAL}]+、|\([{_NUMERAL}]+\)|\d{{1,2}}[.、](?!\d)")
_LEAD_END = "：:"
# A sentence ends at 。！？； (or a line break) plus any closing quotes or brackets after it.
_SENTENCE = re.compile(r"[^。！？；!?;\n]*(?:[。！？；!?;]+[”’」』》)\]]*|\n|$)")
_CLAUSE = re.compile(r"[^，,、：:]*[，,、：:]?")
_SECTION_CHARS = 60


@dataclass(frozen=True, slots=True)
class _Sentence:
    start: int  # normalised offsets, whitespace trimmed
    end: int
    heading_level: int | None  # 0, 1, 2 for a heading; None otherwise
    starts_point: bool
    lead: _Sentence | None = None  # for an item of a list: the sentence that introduced the list

    @property
    def size(self) -> int:
        return self.end - self.start


def split_document(doc: Document, size: int, overlap: int) -> list[Chunk]:
    """Chunks of about `size` normalised characters sharing up to `overlap` characters."""
    if size <= 0:
        raise ValueError("chunk size must be positive")
    if not 0 <= overlap < size:
        raise ValueError("overlap must be at least 0 and smaller than the chunk size")
    norm = normalize(doc.text)
    sentences = _sentences(norm.text, size)
    chunks: list[Chunk] = []
    for position, (group, section) in enumerate(_group(sentences, norm, doc.text, size, overlap)):
        start, end = norm.original_span(group[0].start, group[-1].end)
        chunks.append(
            Chunk(
                chunk_id=f"{doc.source}#{position}",
                source=doc.source,
                position=position,
                title=doc.title,
                section=section,
                start=start,
                end=end,
                text=doc.text[start:end],
                normalized=norm.text[group[0].start : group[-1].end],
            )
        )
    return chunks


def split_sentences(text: str) -> list[tuple[int, int]]:
    """[start, end) of each sentence of text, whitespace trimmed (used to quote answers)."""
    return [(s.start, s.end) for s in _sentences(text, max_size=len(text) + 1)]


def _sentences(text: str, max_size: int) -> list[_Sentence]:
    result: list[_Sentence] = []
    line_start = True
    lead: _Sentence | None = None  # the open list's lead, while its items follow
    for match in _SENTENCE.finditer(text):
        start, end = _trim(text, match.start(), match.end())
        if start < end:
            level = _heading_level(text, start) if line_start else None
            item = lead is not None and line_start and bool(ENUMERATION.match(text, start))
            if item:
                level = None
            elif line_start:
                lead = None  # a line that is no item closes the list
            point = bool(_POINT.match(text, start))
            pieces = _split_long(text, start, end, level, point, max_size, lead if item else None)
            result += pieces
            if text[end - 1] in _LEAD_END:
                lead = pieces[0]
        if match.end() > match.start():
            line_start = text[match.end() - 1] == "\n" or (line_start and start == end)
    return result


def _split_long(
    text: str, start: int, end: int, level: int | None, point: bool, max_size: int, lead: _Sentence | None = None
) -> list[_Sentence]:
    """A sentence longer than a chunk is cut at clause commas, then hard at max_size."""
    if end - start <= max_size:
        return [_Sentence(start, end, level, point, lead)]
    pieces, piece_start = [], start
    for clause in _CLAUSE.finditer(text, start, end):
        if clause.end() - piece_start > max_size and clause.start() > piece_start:
            pieces.append((piece_start, clause.start()))
            piece_start = clause.start()
    pieces.append((piece_start, end))
    hard = [(a, min(a + max_size, b)) for s, b in pieces for a in range(s, b, max_size)]
    return [_Sentence(a, b, level if a == start else None, point and a == start, lead) for a, b in hard]


def _group(sentences: list[_Sentence], norm: NormalizedText, original: str, size: int, overlap: int):
    """Yield (sentences, section) per chunk: greedy packing, a new chunk at each heading."""
    headings: list[str] = ["", "", ""]
    current: list[_Sentence] = []
    section = ""
    for sentence in sentences:
        breaks_here = sentence.heading_level is not None or (sentence.starts_point and _length(current) > size // 2)
        if current and (breaks_here or _length(current + [sentence]) > size):
            yield current, section
            current = [] if breaks_here else _tail(current, overlap)
        if sentence.heading_level is not None:
            headings[sentence.heading_level] = _label(norm, original, sentence)
            headings[sentence.heading_level + 1 :] = [""] * (2 - sentence.heading_level)
        if not current:
            # a chunk that starts inside a list sits under the list's lead as well as the headings
            parts = [h for h in headings if h]
            lead = _label(norm, original, sentence.lead) if sentence.lead else ""
            section = " / ".join(parts + [lead] if lead and lead not in parts else parts)
        current.append(sentence)
    if current:
        yield current, section


def _tail(sentences: list[_Sentence], overlap: int) -> list[_Sentence]:
    """The last whole sentences of a chunk that fit in `overlap` characters."""
    tail: list[_Sentence] = []
    for sentence in reversed(sentences):
        if _length([sentence, *tail]) > overlap:
            break
        tail.insert(0, sentence)
    return tail


def _length(sentences: list[_Sentence]) -> int:
    return sentences[-1].end - sentences[0].start if sentences else 0


def _heading_level(text: str, start: int) -> int | None:
    for level, pattern in enumerate(_HEADING_LEVELS):
        if pattern.match(text, start):
            return level
    return None


def _label(norm: NormalizedText, original: str, sentence: _Sentence) -> str:
    start, end = norm.original_span(sentence.start, sentence.end)
    # a repaired mojibake unit can carry text past the heading's full stop: cut there
    label = re.split(r"[。；;]", display_text(original[start:end]).strip(), maxsplit=1)[0]
    return label[:_SECTION_CHARS]


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
