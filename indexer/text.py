"""jieba set-up with the domain dictionary, and tokenisation for the lexical index."""

from __future__ import annotations

import logging
import re
import sys
from functools import cache
from pathlib import Path

import jieba
import jieba.posseg

_USER_DICT = Path(__file__).with_name("userdict.txt")
# Function words that carry no retrieval signal in policy prose.
_STOPWORDS = frozenset(
    "的 了 和 与 及 是 在 对 将 把 为 以 等 也 又 并 而 之 其 中 上 下 有 于 就 都 着 被 从 向 由 "
    "这 那 我们 你 他 她 它 个 年 如何 怎么 怎样 什么 哪些 哪 多少 几 吗 呢 吧 啊 请问 是否 "
    "时候 什么时候 哪类 哪种 哪个 哪里 哪一级 一个 怎么样 为什么 有没有 是不是 "
    "一共 总共 共有 分为 分别 部分 方面 主要 具体 几个 哪几 两个 三个 四个".split()
)
_WORDLIKE = re.compile(r"[0-9a-z\u3400-\u9fff]")


@cache
def tokenizer() -> jieba.Tokenizer:
    """A jieba tokenizer with the domain dictionary loaded; built once per process."""
    jieba.setLogLevel(logging.WARNING)
    tok = jieba.Tokenizer()
    tok.load_userdict(str(_USER_DICT))
    return tok


def segment(normalized: str) -> list[str]:
    """Search-mode tokens of normalised text, without punctuation and stopwords.

    Interned: an index holds each distinct token once however many chunks hold it (at 257k chunks,
    25 million token references against a vocabulary of a few hundred thousand).
    """
    return [
        sys.intern(token)
        for token in tokenizer().cut_for_search(normalized)
        if token not in _STOPWORDS and _WORDLIKE.search(token)
    ]


def words(normalized: str) -> list[str]:
    """Precise-mode words in reading order, punctuation dropped, stopwords kept."""
    return [token for token in tokenizer().lcut(normalized) if _WORDLIKE.search(token)]


def key_terms(normalized: str) -> list[str]:
    """Content words of a question (precise mode, two characters or more), for answerability."""
    return content_words(words(normalized))


def content_words(found: list[str]) -> list[str]:
    """The words of two characters or more that are not stopwords."""
    return [token for token in found if len(token) > 1 and token not in _STOPWORDS]


def is_stopword(token: str) -> bool:
    return token in _STOPWORDS


def sub_words(term: str) -> list[str]:
    """The shorter dictionary words inside a compound term ("双随机检查" -> 双随机, 随机, 检查)."""
    return [t for t in tokenizer().lcut_for_search(term) if len(t) > 1 and t != term]


def places(normalized: str) -> list[str]:
    """Place names in a question (jieba's "ns" tag, two characters or more), such as 郓城县 or 海淀区.

    Dictionary words only: jieba's HMM for unknown words costs about 2.5 ms per rare character (a
    1,000-character query took 3 s) and found no place of the dev sets that the dictionary misses.
    """
    return [pair.word for pair in _tagger().lcut(normalized, HMM=False) if pair.flag == "ns" and len(pair.word) > 1]


def word_frequency(word: str) -> int:
    """How often jieba's dictionary saw the word (0 when unknown)."""
    tok = tokenizer()
    tok.check_initialized()
    return int(tok.FREQ.get(word, 0))


@cache
def _tagger() -> jieba.posseg.POSTokenizer:
    return jieba.posseg.POSTokenizer(tokenizer())
