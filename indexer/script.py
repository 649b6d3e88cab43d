"""Traditional/Simplified conversion with OpenCC, one converter per direction per process."""

from __future__ import annotations

from functools import cache

import opencc


def to_simplified(text: str) -> str:
    return _converter("t2s").convert(text)


def to_traditional(text: str) -> str:
    return _converter("s2t").convert(text)


@cache
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)
