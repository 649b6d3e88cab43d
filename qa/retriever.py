"""Hybrid retrieval: BM25 and dense candidates fused with a weight, reports naming the asked place boosted."""

from __future__ import annotations

import math
import re
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import PurePath
from typing import TYPE_CHECKING

import numpy as np

from indexer.datatypes import Chunk, Hit
from indexer.embedders.base import Embedder
from indexer.normalize import normalize_query
from indexer.store import IndexStore
from indexer.text import key_terms
from qa.features import DOCUMENT_CREDIT, Candidate, focus_share, focus_weights, presence, question_terms
from qa.fusion import fuse
from qa.query import Query

if TYPE_CHECKING:
    from qa.rerank import Reranker

_MAX_OVERLAP = 0.5  # a hit sharing more than half of a better hit's span is a duplicate
_EVIDENCE_PASSAGES = 3
# Added (times the top score) to chunks whose report names the place the query names, so those reports
# rank first: a report names its county in a few sentences, yet all of it is about that county.
_PLACE_BONUS = 1.0
# A question that names a document by most of its title ("2021年政府工作报告", "十五大报告", "档案法")
# gets that document's best passages among the candidates even when the words of the passage do not
# match: titles are not part of the passages' indexed text.
_NAMED_SHARE = 0.6
_NAMED_DOCUMENTS = 3
_NAMED_PASSAGES = 10
_NAMED_AFTER = 20  # they join after this many candidates, within the reranker's depth
# With them, each named document's passages that hold the question's words rare in that document: the last
# article saying when a law takes effect shares one word ("施行") with the question, the law's other
# articles all repeat its name, so neither search finds it.
_NAMED_FOCUS = 2  # per named document; they count among the _NAMED_PASSAGES
# A year that names a document: followed (within a few characters) by the kind of document it is.
_YEAR_NAMING_A_DOCUMENT = re.compile(r"((?:19|20)\d\d)年[^，。？?]{0,6}?(?:政府工作报告|报告|条例|法|规定|办法|决定)")
_YEAR_WINDOW = 30  # a dated document must be among the reranked candidates
_DATED_HEAD = 200  # characters of a document's start that state its dates
_FULL_DATE = re.compile(r"(?:19|20)\d\d年\d{1,2}月\d{1,2}日")
_NAMED_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")  # a year in a file name, not the digits of an id ("law02019")
# A counted set's first item ("一是…", "(一)…", "1、…") where a clause starts (not 统一是, nor 2021.1、 or ,1.5万亿元),
# within a heading's reach after the set's name: a passage holding it there lists the set.
_FIRST_ITEM = re.compile(r"(?:^|(?<=[\s。；;，,：:、”\"]))(?:一是|\(一\)|1(?:、|\.(?!\d)))")
_ITEM_REACH = 60  # characters after the set's name
_LISTING_WINDOW = 3  # reranked candidates looked at for the passage listing a counted set
# BM25 runs here while the request's own thread embeds the question and searches the vectors.
_LEXICAL_THREADS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="lexical")


class Retriever:
    """Ranks the chunks of one index version for a Query: lexical, dense or hybrid, optionally within sources."""

    def __init__(
        self,
        store: IndexStore,
        embedder: Embedder,
        *,
        dense_weight: float,
        candidates: int,
        query_cache: int = 2048,
        reranker: Reranker | None = None,
    ) -> None:
        self.store = store
        self.reranker = reranker
        self.embedder = embedder
        # Questions repeat (frontends resend, users retry, Traditional and Simplified forms normalise alike);
        # the embedding is most of a search's cost. Vectors are shared: nobody may write to them.
        self.query_vector = lru_cache(maxsize=query_cache)(embedder.embed_query)
        # Whether a document names a place: asked only of the candidates' documents (a scan of every
        # document's text was 40 ms at 180,000 chunks), kept for the next question naming the place.
        self._document_names = lru_cache(maxsize=65536)(
            lambda source, place: _names(self._document_text[source], place)
        )
        self.dense_weight = dense_weight
        self.candidates = candidates
        rows: dict[str, list[int]] = {}
        for row, chunk in enumerate(store.chunks):
            rows.setdefault(chunk.source, []).append(row)
        self._rows_by_source = {source: np.asarray(r) for source, r in rows.items()}
        self._titles = {source: normalize_query(d.title) for source, d in store.documents.items()}
        self._title_terms = {source: tuple(dict.fromkeys(key_terms(t))) for source, t in self._titles.items()}
        self._title_holders = lru_cache(maxsize=65536)(
            lambda term: sum(term in title for title in self._titles.values())
        )
        self._document_text = {
            source: "".join(store.chunks[r].normalized for r in rows) for source, rows in self._rows_by_source.items()
        }
        # where a document states its year: its title ("2021年政府工作报告"), file name ("档案法(2020-06-20).txt")
        # and the full dates of its head (a statute's enactment and revisions, a report's delivery; not the
        # "2021年工作回顾" of the next year's report)
        self._dated = {
            source: " ".join(
                (
                    title,
                    *_NAMED_YEAR.findall(PurePath(source).name),
                    *_FULL_DATE.findall(self._document_text.get(source, "")[:_DATED_HEAD]),
                )
            )
            for source, title in self._titles.items()
        }
        self._occurrences = lru_cache(maxsize=65536)(lambda source, term: self._document_text[source].count(term))

    def search(
        self,
        query: Query,
        top_k: int,
        mode: str = "hybrid",
        sources: Collection[str] | None = None,
        *,
        rerank: bool = False,
    ) -> list[Hit]:
        """The top_k passages, duplicates dropped; `rerank` reorders a hybrid search's top with the reranker."""
        pool = max(self.candidates, top_k * 4)
        if rerank and mode == "hybrid" and self.reranker is not None:
            candidates = self.hybrid_candidates(query, pool, sources)
            reranked = self.reranker.rerank(query, candidates, self)
            return self._deduplicated(_listing_first(query, self._named_year_first(query, reranked)), top_k)
        allowed = self._allowed_rows(sources)
        if mode == "hybrid":
            lexical, dense = self._lexical_and_dense(query, allowed, pool)
        elif mode == "lexical":
            lexical = self._lexical(list(query.topic_tokens), allowed, pool)
        else:
            dense = self._dense(query.vector, allowed, pool)
        if mode == "lexical":
            scores = lexical
        elif mode == "dense":
            scores = dense
        else:
            scores, _ = self._fuse(lexical, dense, query.vector)
        scores = self._boost_places(scores, query.places)
        ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
        return self._deduplicated([(self.store.chunks[r], v) for r, v in ranked], top_k)

    def _named_year_first(self, query: Query, ranked: list[tuple[Chunk, float]]) -> list[tuple[Chunk, float]]:
        """When the question names a document by its year ("2021年政府工作报告", "2020年修订后的档案法"),
        the candidates from documents whose title holds that year go first, in the reranker's order: a
        report of another year says much the same in the same words."""
        years = set(_YEAR_NAMING_A_DOCUMENT.findall(query.normalized))
        if not years:
            return ranked
        dated = [any(y in self._dated[chunk.source] for y in years) for chunk, _ in ranked]
        if not any(dated[:_YEAR_WINDOW]):
            return ranked
        first = [item for item, d in zip(ranked, dated, strict=True) if d]
        rest = [item for item, d in zip(ranked, dated, strict=True) if not d]
        ceiling = max(score for _, score in ranked)
        # scores keep falling with rank: the dated candidates are lifted above every other one
        lifted = [(chunk, ceiling + 1.0 + score - first[0][1]) for chunk, score in first]
        return lifted + rest

    def hybrid_candidates(self, query: Query, pool: int, sources: Collection[str] | None = None) -> list[Candidate]:
        """The hybrid ranking's candidates, best first, with the scores a reranker reads."""
        allowed = self._allowed_rows(sources)
        lexical, dense_pool = self._lexical_and_dense(query, allowed, pool)
        fused, dense = self._fuse(lexical, dense_pool, query.vector)
        boosted = self._boost_places(fused, query.places)
        top_lexical = max(lexical.values(), default=0.0) or 1.0

        def candidate(row: int, score: float, lexical_score: float, cosine: float) -> Candidate:
            chunk = self.store.chunks[row]
            named_place = self._names_any(chunk.source, query.places)
            return Candidate(chunk, score, lexical_score / top_lexical, cosine, named_place)

        ranked = sorted(boosted.items(), key=lambda item: (-item[1], item[0]))
        candidates = [candidate(row, score, lexical.get(row, 0.0), dense[row]) for row, score in ranked]
        named = [s for s in self.named_documents(query) if sources is None or s in sources]
        if not named:
            return candidates
        # The named documents' best passages not ranked high already join just below the retrieval's top.
        rows = self._allowed_rows(named)
        in_named = self._lexical(list(query.topic_tokens), rows, _NAMED_PASSAGES)
        named_fused, named_dense = self._fuse(in_named, self._dense(query.vector, rows, _NAMED_PASSAGES), query.vector)
        high = {c.chunk.chunk_id for c in candidates[:_NAMED_AFTER]}
        focused = [r for r in self._focused_rows(query, named) if self.store.chunks[r].chunk_id not in high]
        extra = [r for r, _ in sorted(named_fused.items(), key=lambda item: (-item[1], item[0]))]
        extra = [r for r in extra if self.store.chunks[r].chunk_id not in high and r not in focused]
        extra = extra[: _NAMED_PASSAGES - len(focused)]  # all of them within the reranker's depth
        if focused:
            cosines = self.store.dense.scores_for(query.vector, np.asarray(focused)).tolist()
            named_dense = {**named_dense, **dict(zip(focused, cosines, strict=True))}
            in_named = {**in_named, **self._lexical(list(query.topic_tokens), np.asarray(focused), len(focused))}
        head = candidates[:_NAMED_AFTER]
        floor = head[-1].fused if head else 0.0
        joined = [candidate(r, floor, in_named.get(r, 0.0), named_dense[r]) for r in focused + extra]
        joined_ids = {j.chunk.chunk_id for j in joined}
        return head + joined + [c for c in candidates[_NAMED_AFTER:] if c.chunk.chunk_id not in joined_ids]

    def _focused_rows(self, query: Query, sources: list[str]) -> list[int]:
        """Each document's passages holding most of the question's words that are rare in it, the best of
        each document first."""
        terms, weights = question_terms(query, self)
        found = []
        for source in sources:
            local = focus_weights(terms, weights, source, self)
            if not local:
                continue
            rows = self._rows_by_source[source].tolist()
            scored = [(focus_share(local, self.store.chunks[r].normalized), r) for r in rows]
            found += [
                r for share, r in sorted(scored, key=lambda item: (-item[0], item[1]))[:_NAMED_FOCUS] if share > 0
            ]
        return found

    def next_chunk(self, chunk: Chunk) -> Chunk | None:
        """The chunk after this one in its document, or None after the last."""
        rows = self._rows_by_source[chunk.source]  # a document's rows, in position order
        return self.store.chunks[rows[chunk.position + 1]] if chunk.position + 1 < len(rows) else None

    def chunks_of(self, source: str) -> list[Chunk]:
        """A document's chunks, in position order."""
        return [self.store.chunks[row] for row in self._rows_by_source[source]]

    def document_text(self, source: str) -> str:
        """The normalised text of a document's chunks, joined."""
        return self._document_text[source]

    def occurrences(self, source: str, term: str) -> int:
        """How often a term occurs in a document's normalised text (overlapping chunks counted once each)."""
        return self._occurrences(source, term)

    def title(self, source: str) -> str:
        """A document's title, normalised."""
        return self._titles[source]

    def title_named(self, query: Query, source: str) -> float:
        """0..1: how much of the document's title the question names ("2025年政府工作报告", "档案法"),
        its words weighed by how few titles hold them."""
        terms = self._title_terms[source]
        total = sum(self.title_weight(t) for t in terms)
        return sum(self.title_weight(t) for t in terms if t in query.normalized) / total if total else 0.0

    def named_documents(self, query: Query) -> list[str]:
        """The documents the question names by title (at most a few), best named first."""
        named = [(self.title_named(query, s), s) for s in self._titles]
        return [s for score, s in sorted(named, reverse=True)[:_NAMED_DOCUMENTS] if score >= _NAMED_SHARE]

    def title_weight(self, term: str) -> float:
        """How much naming the term singles out documents by title: high when few titles hold it, 0 when none."""
        holding = self._title_holders(term)
        return math.log((len(self._titles) + 1) / (holding + 0.5)) if holding else 0.0

    def answerability(self, query: Query, hits: list[Hit]) -> float:
        """0..1: the best share of the query's IDF weight that one passage, backed by its document, holds.

        Only the top passages count, and only those from reports that name the question's places:
        the 东阿 passage on 双随机 does not answer a question about 郓城县.
        """
        terms = set(query.key_terms) or set(query.tokens)
        weights = {t: self.idf(t) for t in terms}
        total = sum(weights.values())
        best = 0.0
        for hit in self._place_consistent(query.places, hits[:_EVIDENCE_PASSAGES]) if total else []:
            document = self._document_text[hit.chunk.source]
            held = sum(w * max(presence(t, hit.chunk.normalized), DOCUMENT_CREDIT * presence(t, document))
                       for t, w in weights.items())  # fmt: skip
            best = max(best, held / total)
        return best

    def names(self, source: str, place: str) -> bool:
        """The document names the place, with or without its administrative suffix."""
        return self._document_names(source, place)

    def cosine(self, query: Query, chunk: Chunk) -> float:
        """The cosine of the question's and the passage's vectors."""
        row = self._rows_by_source[chunk.source][chunk.position]  # a document's chunks are consecutive rows
        return float(self.store.dense.scores_for(query.vector, np.asarray([row]))[0])

    def idf(self, term: str) -> float:
        """The term's inverse document frequency over the chunks (rare terms weigh more)."""
        return self.store.lexical.idf(term)

    def _lexical_and_dense(
        self, query: Query, allowed: np.ndarray | None, pool: int
    ) -> tuple[dict[int, float], dict[int, float]]:
        """Both candidate pools, BM25 in a helper thread while this one embeds the question and searches the
        vectors: both release the GIL for most of their work, so on a free core a hybrid search costs the
        longer of the two rather than their sum."""
        lexical = _LEXICAL_THREADS.submit(self._lexical, list(query.topic_tokens), allowed, pool)
        dense = self._dense(query.vector, allowed, pool)
        return lexical.result(), dense

    def _lexical(self, tokens: list[str], allowed: np.ndarray | None, pool: int) -> dict[int, float]:
        return self.store.lexical.top(tokens, pool, allowed)

    def _dense(self, vector: np.ndarray, allowed: np.ndarray | None, pool: int) -> dict[int, float]:
        if allowed is not None and len(allowed) <= pool:
            return dict(zip(allowed.tolist(), self.store.dense.scores_for(vector, allowed).tolist(), strict=True))
        wanted = pool if allowed is None else min(self.store.dense.size, pool * 8)
        values, rows = self.store.dense.search(vector, wanted)
        allowed_set = None if allowed is None else set(allowed.tolist())
        found = {int(r): float(v) for v, r in zip(values, rows, strict=True) if r >= 0}
        return {r: v for r, v in found.items() if allowed_set is None or r in allowed_set}

    def chunk_counts(self) -> dict[str, int]:
        """Chunks per source."""
        return {source: len(rows) for source, rows in self._rows_by_source.items()}

    def _names_any(self, source: str, places: Collection[str]) -> bool:
        """The document names one of the places."""
        return any(self._document_names(source, place) for place in places)

    def _boost_places(self, scores: dict[int, float], named: Collection[str]) -> dict[int, float]:
        if not named or not scores:
            return scores
        naming = {s for s in {self.store.chunks[r].source for r in scores} if self._names_any(s, named)}
        if not naming:
            return scores
        scale = max(abs(v) for v in scores.values()) or 1.0  # lexical scores are unbounded BM25
        bonus = _PLACE_BONUS * scale
        return {r: v + bonus if self.store.chunks[r].source in naming else v for r, v in scores.items()}

    def _fuse(
        self, lexical: dict[int, float], dense: dict[int, float], vector: np.ndarray
    ) -> tuple[dict[int, float], dict[int, float]]:
        """The fused scores, and the cosines of every candidate (filled in where the dense pool missed one)."""
        rows = np.asarray(sorted(set(lexical) | set(dense)))
        if not len(rows):
            return {}, dense
        missing = np.asarray([r for r in rows if r not in dense])
        if len(missing):  # a lexical candidate the dense pool missed still gets its exact cosine
            exact = self.store.dense.scores_for(vector, missing)
            dense = {**dense, **dict(zip(missing.tolist(), exact.tolist(), strict=True))}
        lexical_scores = np.asarray([lexical.get(int(r), 0.0) for r in rows])
        dense_scores = np.asarray([dense[int(r)] for r in rows])
        fused = fuse(lexical_scores, dense_scores, self.dense_weight)
        return dict(zip(rows.tolist(), fused.tolist(), strict=True)), dense

    def _deduplicated(self, ranked: list[tuple[Chunk, float]], top_k: int) -> list[Hit]:
        hits: list[Hit] = []
        for chunk, score in ranked:
            if not any(_overlaps(chunk, kept.chunk) for kept in hits):
                hits.append(Hit(chunk, score))
                if len(hits) == top_k:
                    break
        return hits

    def _allowed_rows(self, sources: Collection[str] | None) -> np.ndarray | None:
        if sources is None:
            return None
        parts = [self._rows_by_source[s] for s in sources if s in self._rows_by_source]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def _place_consistent(self, named: Collection[str], hits: list[Hit]) -> list[Hit]:
        if not named:
            return hits
        documents = {hit.chunk.source: self._document_text[hit.chunk.source] for hit in hits}
        if not all(any(_names(text, place) for text in documents.values()) for place in named):
            return []  # some named place is in none of the retrieved reports
        return [hit for hit in hits if any(_names(documents[hit.chunk.source], place) for place in named)]


def _names(text: str, place: str) -> bool:
    """The text names the place, with or without its administrative suffix (崇川区 / 崇川)."""
    stem = place[:-1] if len(place) > 2 and place[-1] in "省市县区镇乡村" else place
    return stem in text  # the stem is part of the place: one scan of the text, not two


def _overlaps(a: Chunk, b: Chunk) -> bool:
    if a.source != b.source:
        return False
    shared = min(a.end, b.end) - max(a.start, b.start)
    return shared > _MAX_OVERLAP * min(a.end - a.start, b.end - b.start)


def _listing_first(query: Query, ranked: list[tuple[Chunk, float]]) -> list[tuple[Chunk, float]]:
    """For a question asking for a counted set ("崇川区委编办强化的三种意识是什么"), the first of the top candidates
    from the first one's document that names the set and then opens its items ("强化“三种意识”…一是强化政治意识")
    goes first when the first does not: a report's lead paragraph names every set of the report ("强化“三种意识”、
    突出“三个导向”…") and shares the question's words, but only the items answer. Another document's passage is
    not brought up (the first may list the set inline, or be the report of the year asked). The candidates keep
    their scores, reassigned in the new order."""
    counted = query.counted_set
    if counted is None or not ranked:
        return ranked
    source = ranked[0][0].source
    lists_set = [c.source == source and _lists(c.normalized, counted.name) for c, _ in ranked[:_LISTING_WINDOW]]
    if lists_set[0] or not any(lists_set):
        return ranked
    first = lists_set.index(True)
    order = [first, *(i for i in range(len(ranked)) if i != first)]
    return [(ranked[i][0], score) for i, (_, score) in zip(order, ranked, strict=True)]


def _lists(text: str, name: str) -> bool:
    """The text names the set and opens its first item soon after the name."""
    at = text.find(name)
    if at < 0:
        return False
    end = at + len(name)
    return _FIRST_ITEM.search(text, end, end + _ITEM_REACH) is not None
