"""Normalisation for matching, with an offset map back to the original text.

The indexes see Simplified, NFKC, lower-cased text with pinyin annotations and mojibake repaired
and whitespace folded; users always see the original. Every normalised character remembers the
original span it came from, so any normalised range maps back to an exact original range.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from indexer import mojibake
from indexer.script import to_simplified

_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ"
# "學(xué)": a pinyin syllable in parentheses; the tone mark keeps "(wto)" or "(a)" safe.
PINYIN_ANNOTATION = re.compile(rf"\((?=[a-zü{_TONED}]*[{_TONED}])[a-zü{_TONED}]{{1,7}}\)")
_SPACE = re.compile(r"\s")


@dataclass(frozen=True, slots=True)
class NormalizedText:
    text: str
    starts: list[int]  # starts[i]: original offset of the first code point behind text[i]
    ends: list[int]  # ends[i]: original offset just past the last code point behind text[i]

    def original_span(self, i: int, j: int) -> tuple[int, int]:
        """The original [start, end) behind the normalised range [i, j), j > i."""
        return self.starts[i], self.ends[j - 1]


def normalize(text: str, *, repair_mojibake: bool = True) -> NormalizedText:
    """Normalise text for matching and keep, for each output character, its original span."""
    units = _units(text, repair_mojibake)
    _to_simplified(units)
    return _fold(units)


def normalize_query(text: str) -> str:
    """The normalised form of a query (queries are typed, so no mojibake repair)."""
    return normalize(text, repair_mojibake=False).text.strip()


def strip_pinyin(text: str) -> str:
    return PINYIN_ANNOTATION.sub("", text)


def display_text(text: str) -> str:
    """Original-script text made readable for labels: mojibake repaired, pinyin removed."""
    return strip_pinyin(mojibake.repair(text))


def _units(text: str, repair_mojibake: bool) -> list[list]:
    """[start, end, output] per original character or repaired span; pinyin joins the char before."""
    repairs = {r.start: r for r in mojibake.find_repairs(text)} if repair_mojibake else {}
    units: list[list] = []
    i, n = 0, len(text)
    while i < n:
        if i in repairs:
            fix = repairs[i]
            units.append([fix.start, fix.end, unicodedata.normalize("NFKC", fix.text)])
            i = fix.end
            continue
        if text[i] == "(" and (match := PINYIN_ANNOTATION.match(text, i)):
            if units and units[-1][1] == i:
                units[-1][1] = match.end()  # a quote ending in 學 keeps its "(xué)"
            i = match.end()
            continue
        j = i + 1
        while j < n and unicodedata.combining(text[j]):
            j += 1  # a base character and its combining marks normalise together
        units.append([i, j, unicodedata.normalize("NFKC", text[i:j])])
        i = j
    return units


def _to_simplified(units: list[list]) -> None:
    joined = "".join(unit[2] for unit in units)
    converted = to_simplified(joined)
    if len(converted) != len(joined):  # a phrase changed length: convert unit by unit instead
        for unit in units:
            unit[2] = to_simplified(unit[2])
        return
    pos = 0
    for unit in units:
        size = len(unit[2])
        unit[2] = converted[pos : pos + size]
        pos += size


def _fold(units: list[list]) -> NormalizedText:
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for start, end, output in units:
        for char in output:
            if _SPACE.match(char):
                char = "\n" if char in "\n\r\u2028\u2029\x0b\x0c\x85" else " "
                if chars and chars[-1] in " \n":
                    if char == "\n":
                        chars[-1] = "\n"  # a line break wins: it still ends a sentence
                    ends[-1] = end
                    continue
            chars.append(char.lower())
            starts.append(start)
            ends.append(end)
    return NormalizedText("".join(chars), starts, ends)
