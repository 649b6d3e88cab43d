"""Repairs GBK-shift mojibake: a lost lead byte turns "。《條例》" into "?！稐l例》".

When one byte of a GBK stream is lost (shown as "?"), every following byte pair is read one byte
out of step until an ASCII byte puts the decoder back in step. We re-encode the shifted run,
try each possible lost lead byte, and accept a reading only when it is clearly right: the lost
character was sentence punctuation (the common case, "。"), or the first two characters form a
word in jieba's dictionary. Anything less certain is left untouched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from indexer.script import to_simplified
from indexer.text import word_frequency

# The site that produced such files also turned full-width punctuation half-width afterwards.
_HALF_WIDTH = {"!": "！", "?": "？", ",": "，", ":": "：", ";": "；", "(": "（", ")": "）"}
_LOST_PUNCTUATION = "。，、；：！？"
_READABLE = re.compile(r"[\u4e00-\u9fff。，、；：！？《》“”]+")
# A pinyin annotation whose "(" and first character were swallowed by the lost byte: "?qū)崿F".
_PINYIN_REMNANT = re.compile(r"[a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]{1,6}\)")
_MAX_RUN = 8
_MIN_WORD_FREQUENCY = 50


@dataclass(frozen=True, slots=True)
class Repair:
    start: int  # span of the damaged original text
    end: int
    text: str  # what it most likely said


def find_repairs(text: str) -> list[Repair]:
    """Non-overlapping repairs of the damaged spans of text, in order."""
    repairs: list[Repair] = []
    i = text.find("?")
    while i != -1:
        repair = _repair_at(text, i)
        if repair is not None:
            repairs.append(repair)
        i = text.find("?", repair.end if repair else i + 1)
    return repairs


def repair(text: str) -> str:
    """The text with every reliably detected mojibake span repaired."""
    parts, last = [], 0
    for fix in find_repairs(text):
        parts += [text[last : fix.start], fix.text]
        last = fix.end
    return "".join(parts) + text[last:]


def _repair_at(text: str, marker: int) -> Repair | None:
    end, payload = _shifted_run(text, marker + 1)
    if not payload:
        remnant = _PINYIN_REMNANT.match(text, marker + 1)
        if remnant is None:
            return None
        end, payload = _shifted_run(text, remnant.end())
    reading = _best_reading(payload) if payload else None
    return Repair(marker, end, reading) if reading else None


def _shifted_run(text: str, start: int) -> tuple[int, bytes]:
    """The GBK bytes of the out-of-step run at start, ending with the ASCII byte that re-aligns it."""
    data, k = bytearray(), start
    while k < len(text) and k - start < _MAX_RUN:
        encoded = _gbk(_HALF_WIDTH.get(text[k], text[k]))
        if encoded is None or len(encoded) != 2:
            break
        data += encoded
        k += 1
    # GBK trail bytes include 0x40-0x7E, so an ASCII letter there completes the last pair.
    if not data or k >= len(text) or not "\x40" <= text[k] <= "\x7e":
        return start, b""
    return k + 1, bytes(data + text[k].encode("ascii"))


def _best_reading(payload: bytes) -> str | None:
    best, best_score = None, 0
    for lead in range(0x81, 0xFF):
        try:
            reading = (bytes([lead]) + payload).decode("gbk")
        except UnicodeDecodeError:
            continue
        if not _READABLE.fullmatch(reading):
            continue
        score = _plausibility(reading)
        if score > best_score:
            best, best_score = reading, score
    return best


def _plausibility(reading: str) -> int:
    if reading[0] in _LOST_PUNCTUATION:
        return 10**9 - _LOST_PUNCTUATION.index(reading[0])  # "。" first: it ends most sentences
    frequency = word_frequency(to_simplified(reading[:2]))
    return frequency if frequency >= _MIN_WORD_FREQUENCY else 0


def _gbk(char: str) -> bytes | None:
    try:
        return char.encode("gbk")
    except UnicodeEncodeError:
        return None
