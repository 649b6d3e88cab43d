"""Property-based tests (hypothesis) of the normaliser, its offset map, the chunker and the upload names."""

from __future__ import annotations

import os
from unittest.mock import patch

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer.chunking import split_document
from indexer.datatypes import Document
from indexer.extract import SUFFIXES
from indexer.lexical import LexicalIndex, top_rows
from indexer.normalize import normalize, normalize_query
from qa.corpus import UnsafeName, safe_source

# Arbitrary Unicode, plus text built from what real reports hold: CJK in both scripts, pinyin
# annotations, mojibake-like "?", full-width punctuation, headings, blank lines and placeholders.
PIECES = ["學(xué)習(xí)", "?！稐l例》", "。", "，", "；", "\n", "\n\n", "一、", "（二）", "第三条", "_", "一是",
          "东阿县", "雙隨機", "Ａ１", "\u3000", "\r\n", "👍🏽", "e\u0301", "ﬁ", "Ⅻ", "   "]  # fmt: skip
report_like = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=12)), max_size=60).map("".join)
any_text = st.one_of(st.text(max_size=400), report_like)
# CI replays one fixed sequence of examples; local runs explore new ones each time.
PROPERTY = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=bool(os.environ.get("CI")),
)


@PROPERTY
@given(any_text)
def test_offset_map_points_inside_the_original_in_order(text):
    norm = normalize(text)
    assert len(norm.starts) == len(norm.ends) == len(norm.text)
    previous_start = 0
    for start, end in zip(norm.starts, norm.ends, strict=True):
        assert 0 <= start < end <= len(text)
        assert start >= previous_start  # normalised order follows the original
        previous_start = start


@PROPERTY
@given(any_text)
def test_every_normalised_range_maps_to_an_original_span(text):
    norm = normalize(text)
    for i in range(0, len(norm.text), 7):
        for j in (i + 1, min(len(norm.text), i + 13)):
            start, end = norm.original_span(i, j)
            assert 0 <= start < end <= len(text)


@PROPERTY
@given(any_text)
def test_query_normalisation_is_stable(text):
    once = normalize_query(text)
    assert normalize_query(once) == once


@PROPERTY
@given(any_text, st.integers(min_value=20, max_value=300), st.integers(min_value=0, max_value=19))
def test_every_chunk_quotes_the_original_exactly(text, size, overlap):
    chunks = split_document(Document(source="r.txt", title="t", text=text, sha256="0"), size, overlap)
    for position, chunk in enumerate(chunks):
        assert chunk.position == position and chunk.chunk_id == f"r.txt#{position}"
        assert 0 <= chunk.start < chunk.end <= len(text)
        assert chunk.text == text[chunk.start : chunk.end]
        assert chunk.normalized.strip()
    starts = [c.start for c in chunks]
    assert starts == sorted(starts)


@PROPERTY
@given(st.text(max_size=200), st.sampled_from(SUFFIXES + (".exe", "", ".TXT")))
def test_upload_names_never_leave_the_corpus_root(stem, suffix):
    try:
        source = safe_source(stem + suffix)
    except UnsafeName:
        return
    assert "/" not in source and "\\" not in source and "\x00" not in source
    assert not source.startswith(".") and source not in ("..", ".")
    assert source.endswith(SUFFIXES) and len(source) <= 120


@given(st.lists(st.integers(min_value=0, max_value=6), min_size=0, max_size=60), st.integers(min_value=0, max_value=70))
def test_top_rows_equals_the_stable_full_sort(values, k) -> None:
    scores = np.asarray(values, dtype=np.float64)
    assert top_rows(scores, k).tolist() == np.argsort(-scores, kind="stable")[:k].tolist()


words = st.sampled_from(["编制", "机构", "双随机", "检查", "东阿", "改革"])


@PROPERTY
@given(
    st.lists(st.lists(words, max_size=8), min_size=1, max_size=60),
    st.lists(words, min_size=1, max_size=3),
    st.one_of(st.none(), st.lists(st.integers(min_value=0, max_value=59), unique=True)),
    st.one_of(st.integers(min_value=1, max_value=4), st.integers(min_value=1, max_value=40)),
    st.sampled_from([1, 4]),
)
def test_lexical_top_is_the_stable_ranking_of_the_matching_rows(token_lists, query, allowed, pool, floor_rows) -> None:
    index = LexicalIndex.build(token_lists)
    rows = None if allowed is None else np.asarray([r for r in allowed if r < len(token_lists)], dtype=np.int64)
    scores = index.scores(query)
    candidates = range(len(token_lists)) if rows is None else rows.tolist()
    expected = sorted((r for r in candidates if scores[r] > 0), key=lambda r: (-scores[r], r))[:pool]
    # one row per pool place cuts the posting lists often: the floor must hold with cut lists too
    with patch("indexer.lexical._FLOOR_ROWS", floor_rows):
        assert list(index.top(query, pool, rows)) == expected
