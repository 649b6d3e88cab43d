"""Extractive answers: the sentences of the top passages that answer the question, each cited."""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace

import numpy as np

from indexer.chunking import split_sentences
from indexer.datatypes import Document, Hit
from indexer.embedders.base import Embedder
from indexer.normalize import display_text, normalize
from indexer.script import to_simplified, to_traditional
from qa.features import Candidate, asks_for_list
from qa.fusion import min_max
from qa.lists import is_lead, lead_of, marker, with_items
from qa.llm import UpstreamError, UpstreamLLM, checked_markers, grounded_prompt
from qa.quantities import asked_quantity
from qa.query import NUMERALS, Query
from qa.retriever import Retriever

logger = logging.getLogger(__name__)

# Sentences are picked from this many top passages. A third passage's sentence restating the question (a report's
# lead paragraph naming the "three orientations") often outscored the answer of the first; 3 -> 2, with context
# quoted: citation precision +0.020 / +0.010 / +0.009 (policy / reports / CMRC), evidence recall +0.011 / -0.014 /
# +0.001, policy no-answer accuracy +0.006.
PASSAGES_READ = 2
_LLM_PASSAGES = 5  # numbered passages given to an upstream model
_SENTENCE_CACHE = 4096  # passages whose sentences and sentence vectors are kept
_MAX_ANSWER_CHARS = 400
# A second sentence of the best one's passage must score at least this share of the best one. With the
# sentence model, 0.7 against 0.6: citation precision +0.01 (policy), +0.045 (reports), +0.012 (CMRC), evidence
# recall equal on both policy-type sets, -0.01 on CMRC; 0.8 loses recall on both policy sets and CMRC.
_MIN_RELATIVE_SCORE = 0.7
# ... or this share, when it comes from another passage than the best one's (usually context)
_OTHER_PASSAGE_RELATIVE_SCORE = 0.85
# ... or only this share, when it is the sentence right before or after the best one (in the same article): it
# carries on the same statement and is quoted with it as one span. CMRC +0.012 citation precision, +0.014
# evidence recall; no change on the policy-type sets.
_ADJACENT_RELATIVE_SCORE = 0.5
# A question asking two things takes the better of the best sentence's neighbours if it scores this share of it.
_BESIDE_RELATIVE_SCORE = 0.3
# With the reranker on, the sentence score is blended half and half with the sentence model's score. Measured on
# the three dev sets: more weight on the model raises citation precision on the reports and CMRC but loses
# the policy set's second evidence sentences (weight 0.75: policy evidence recall 0.676 -> 0.603).
_SENTENCE_MODEL_WEIGHT = 0.5
# A heading (short, no clause break) restates the topic; the sentences after it hold the answer.
_HEADING = re.compile(r"[^，,；;：:]{2,24}[。]?")
_AFTER_HEADING = 2  # sentences taken after a heading
# Items told by ordinals, each a paragraph ("一是坚持目标导向。…二是…"): the answer quotes each one's first sentence.
_ORDINAL_ITEM = re.compile(f"[{NUMERALS}]是")
_SECTION_NUMBER = re.compile(f"[{NUMERALS}]+、")  # "三、", "十二、": a numbered section's heading
_SECTION_LINE = re.compile(f"(?m)^[ \t\u3000]*[{NUMERALS}]+、")
_PARTS = re.compile(r"部分|方面|板块|层面|篇|章")  # what a document is made of
_ITEM_OPENING = 2  # the first item is one of the first this many sentences after its heading
_ITEM_PASSAGES = 8  # passages read on after the heading's for its items
# The start of another article, section or chapter ("第十条", "第三章", "## 第二节")
_NEW_PART = re.compile(r"\s*(?:#|第[一二三四五六七八九十百千零〇\d]+[条章节编])")
# "国歌法是从哪一天开始施行的": a statute (named just before) asked when it takes effect; it says so in an
# article (usually its last) and in its header. Not "政务处分决定什么时候生效" (a provision of it), nor 停止施行.
_ASKS_COMMENCEMENT = re.compile(
    r"(?:法|条例|规定|办法|细则|规则|》)[^,?。]{0,4}(?:什么时候|何时|哪一天|哪天|哪日|几月几日|啥时候)"
    r"(?:开始|起)?(?:施行|生效)"
)
_COMMENCEMENT_ARTICLE = re.compile(
    r"本(?:法|条例|规定|办法|细则|规则|决定)[^,;。]{0,10}?自[^,;。]{0,30}?起(?:施行|生效)"
)
_COMMENCEMENT_HEADER = re.compile(r"(?m)^\s*(?:19|20)\d\d年\d{1,2}月\d{1,2}日\s*(?:施行|生效)")
_HEADER_CHUNKS = 2  # a statute's header lines are in its first passages
# A sentence's score: its cosine to the question (min-max over the candidates), the IDF share of the
# question's tokens it holds, and a prior for the rank of its passage (1 / (1 + rank)).
_SENTENCE_COSINE_WEIGHT = 0.45
_SENTENCE_OVERLAP_WEIGHT = 0.4
_SENTENCE_RANK_WEIGHT = 0.15
_CJK = re.compile(r"[\u3400-\u9fff]")
REFUSALS = {
    "zh-Hans": "资料中未找到与该问题相关的内容。",
    "zh-Hant": "資料中未找到與該問題相關的內容。",
    "en": "The documents contain nothing that answers this question.",
}


@dataclass(frozen=True, slots=True)
class Citation:
    """One cited span of a source document, numbered as its [n] marker in the answer text."""

    id: int
    source: str
    chunk_id: str
    start: int  # offsets into the original document text; quote == text[start:end]
    end: int
    quote: str


@dataclass(frozen=True, slots=True)
class Answer:
    """The reply to one question: text with [n] markers, its citations, and the passages it read."""

    question: str
    answerable: bool
    text: str
    citations: list[Citation]
    passages: list[Hit]
    mode: str = "extractive"


@dataclass(frozen=True, slots=True)
class AnswerSentence:
    """A sentence of a passage read for an answer, at its original document offsets."""

    hit_rank: int
    hit: Hit
    start: int  # original document offsets
    end: int
    normalized: str


class Answerer:
    """Answers a Query over one index version: declines what the passages do not cover, else the upstream
    model's grounded answer when one is configured, else the best sentences of the top passages, cited."""

    def __init__(
        self,
        retriever: Retriever,
        embedder: Embedder,
        documents: dict[str, Document],
        *,
        threshold: float,
        paraphrase: tuple[float, float] = (0.0, 1.0),
        max_sentences: int,
        llm: UpstreamLLM | None = None,
        rerank: bool = False,
    ) -> None:
        self.retriever = retriever
        self.rerank = rerank
        self.embedder = embedder  # embeds the candidate sentences
        self.documents = documents
        self.llm = llm
        self.threshold = threshold
        self.paraphrase_coverage, self.paraphrase_cosine = paraphrase
        self.max_sentences = max_sentences
        # chunk_id -> its sentences and their vectors; one Answerer serves one index version
        self._sentence_cache: OrderedDict[str, tuple[list[AnswerSentence], np.ndarray]] = OrderedDict()
        self._cache_lock = threading.Lock()  # answers run in the thread pool

    def answer(
        self,
        query: Query,
        top_k: int,
        mode: str = "hybrid",
        sources: list[str] | None = None,
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> Answer:
        hits = self.retriever.search(query, top_k, mode, sources, rerank=self.rerank)
        if not self._answerable(query, hits):
            return Answer(query.text, False, refusal(query.text), [], hits)
        if self.llm is not None:
            try:
                generated = self._generated(self.llm, query.text, hits, temperature, max_tokens)
                if generated is not None:
                    return generated
            except UpstreamError as exc:
                logger.warning("%s; answering extractively", exc)
        return self._extractive(query, hits)

    def _answerable(self, query: Query, hits: list[Hit]) -> bool:
        """The best passages cover the question (or cover some of it and mean the same), and state the
        quantity a how-many question asks for."""
        if not hits or not _states_asked_quantity(query, [hit.chunk.normalized for hit in hits[:PASSAGES_READ]]):
            return False
        coverage = self.retriever.answerability(query, hits)
        if coverage >= self.threshold:
            return True
        return (
            coverage >= self.paraphrase_coverage
            and self.retriever.cosine(query, hits[0].chunk) >= self.paraphrase_cosine
        )

    def _generated(
        self, llm: UpstreamLLM, question: str, hits: list[Hit], temperature: float | None, max_tokens: int | None
    ) -> Answer | None:
        """The upstream model's answer over the numbered passages, or None when it cited none of them."""
        passages = hits[:_LLM_PASSAGES]
        text = llm.complete(grounded_prompt(question, passages), temperature, max_tokens)
        text, cited = checked_markers(text, len(passages))
        if not cited:
            logger.info("upstream answer cited no given passage; answering extractively")
            return None
        citations = []
        for number, passage in enumerate(cited, start=1):
            chunk = passages[passage - 1].chunk
            citations.append(Citation(number, chunk.source, chunk.chunk_id, chunk.start, chunk.end, chunk.text))
        return Answer(question, True, text, citations, hits, mode="llm")

    def _extractive(self, query: Query, hits: list[Hit]) -> Answer:
        if by_place := self._by_place(query, hits):  # each place's answer from its own report's passages
            picked = [self._pick_sentences(query, passages) for passages in by_place]
            chosen, context = [s for c, _ in picked for s in c], [s for _, c in picked for s in c]
        elif query.asks < 2 and _ASKS_COMMENCEMENT.search(query.normalized) and (stated := self._commencement(hits[0])):
            chosen, context = [stated], []
        else:
            chosen, context = self._pick_sentences(query, hits[:PASSAGES_READ])
        # nothing to quote; or a how-many question's passages state some figure, but the sentences that answer it
        # none of the kind asked (a question asking two things may be answered on its other one)
        if not chosen or (query.asks < 2 and not _states_asked_quantity(query, [s.normalized for s in chosen])):
            return Answer(query.text, False, refusal(query.text), [], hits)
        text, citations = _compose(chosen + context, self.documents, language(query.text))
        return Answer(query.text, True, text, citations, hits)

    def _commencement(self, hit: Hit) -> AnswerSentence | None:
        """The sentence of the hit's document that says when it takes effect: the last that says "本条例自…起施行",
        else its header line ("2020年1月1日 施行"); None when it states neither. Only a passage that holds one
        is split into sentences."""
        chunks = self.retriever.chunks_of(hit.chunk.source)
        articles = [(c, _COMMENCEMENT_ARTICLE) for c in reversed(chunks)]
        for chunk, pattern in articles + [(c, _COMMENCEMENT_HEADER) for c in chunks[:_HEADER_CHUNKS]]:
            if pattern.search(chunk.normalized):
                stating = [s for s in _sentences_of(0, Hit(chunk, hit.score)) if pattern.search(s.normalized)]
                if stating:
                    return stating[-1] if pattern is _COMMENCEMENT_ARTICLE else stating[0]
        return None

    def _by_place(self, query: Query, hits: list[Hit]) -> list[list[Hit]]:
        """For a question naming two or more places ("东阿县和郓城县各印发了多少份…"), the top passages of each
        place's own report (the best-ranked document naming it), places in rank order; none when a place has no
        passage among the hits or one document is the best naming two of them. A place named just before another
        is where that one lies ("聊城市东阿县"), no place compared."""
        named = list(dict.fromkeys(query.places))
        compared = [p for p in named if not any(p + other in query.normalized for other in named if other != p)]
        if len(compared) < 2:
            return []
        sources: list[str] = []
        for place in compared:
            source = next((h.chunk.source for h in hits if self.retriever.names(h.chunk.source, place)), None)
            if source is None or source in sources:
                return []
            sources.append(source)
        ranked = [source for source in dict.fromkeys(h.chunk.source for h in hits) if source in sources]
        return [[h for h in hits if h.chunk.source == source][:PASSAGES_READ] for source in ranked]

    def _pick_sentences(self, query: Query, hits: list[Hit]) -> tuple[list[AnswerSentence], list[AnswerSentence]]:
        """The sentences that answer, and the neighbours quoted with them as context."""
        sentences, vectors = self.sentences(hits)
        if not sentences:
            return [], []
        _, scores = self.scored_sentences(query, sentences, vectors)
        order = np.argsort(-scores, kind="stable")
        first = sentences[int(order[0])]
        text = self.documents[first.hit.chunk.source].text
        first_lead = lead_of(first, sentences, text)
        if asks_for_list(query) and (lead := first_lead):
            listed = self._with_items(lead, sentences, text, room=_MAX_ANSWER_CHARS)
            if first in listed:  # the whole list answers, not one item
                return listed, self._list_context(listed, sentences)
        if items := self._counted_items(query, sentences, order):
            return items, []
        # short and unbroken, and no item of a list read ("(二)擅自超职数配备领导成员的。")
        heading = bool(_HEADING.fullmatch(first.normalized.strip())) and first_lead is None
        if (is_lead(first) or heading) and (items := self._ordinal_items(first, sentences)):
            return items, []
        if is_lead(first):  # a list's lead: what answers is its items
            listed = self._with_items(first, sentences, text, room=_MAX_ANSWER_CHARS)
            return listed, self._list_context(listed, sentences)
        if heading:  # a heading names the topic; what follows answers
            return self._with_items(first, sentences, text, room=_MAX_ANSWER_CHARS, limit=_AFTER_HEADING), []
        best = float(scores[order[0]])
        chosen = [first]
        if query.asks > 1 and self.max_sentences > 1 and (beside := _beside(first, sentences, scores, order, text)):
            chosen.append(beside)
        length = sum(s.end - s.start for s in chosen)
        for i in order[1:]:
            sentence = sentences[int(i)]
            if len(chosen) >= self.max_sentences:
                break
            # another passage's sentence is usually context: it must score nearly as well as the best
            floor = _MIN_RELATIVE_SCORE if sentence.hit_rank == first.hit_rank else _OTHER_PASSAGE_RELATIVE_SCORE
            if _next_to(first, sentence, text):
                floor = _ADJACENT_RELATIVE_SCORE
            if (
                sentence in chosen
                or scores[i] < floor * best
                or length + sentence.end - sentence.start > _MAX_ANSWER_CHARS
            ):
                continue
            if is_lead(sentence):  # a lead is not quoted without its items
                text = self.documents[sentence.hit.chunk.source].text
                items = self._with_items(sentence, sentences, text, room=_MAX_ANSWER_CHARS - length)
                return chosen + [s for s in items if s not in chosen], []
            chosen.append(sentence)
            length += sentence.end - sentence.start
        if self.max_sentences == 1:  # one sentence asked for: no context either
            return chosen, []
        # an item means what its lead says of it ("有下列行为之一的，由…给予通报批评：…(五)擅自超职数…的；")
        leads = self._lead_paragraph(first, first_lead, sentences, text)
        lead_length = sum(s.end - s.start for s in leads)
        if any(s in chosen for s in leads) or length + lead_length > _MAX_ANSWER_CHARS:
            leads, lead_length = [], 0
        length += lead_length
        return chosen, leads + [
            s for s in self._context(chosen, sentences, room=_MAX_ANSWER_CHARS - length) if s not in leads
        ]

    def _context(
        self, chosen: list[AnswerSentence], sentences: list[AnswerSentence], *, room: int
    ) -> list[AnswerSentence]:
        """The sentences right before and after each chosen one (in the same article), the best one's first, that
        the answer has room for: a statute often states its subject in one sentence and the asked-about part in
        the next, and a neighbour between two chosen sentences makes them one citation."""
        context: list[AnswerSentence] = []
        for answering in chosen:
            text = self.documents[answering.hit.chunk.source].text
            for sentence in sentences:
                length = sentence.end - sentence.start
                if (
                    sentence not in chosen
                    and sentence not in context
                    and length <= room
                    and _next_to(answering, sentence, text)
                ):
                    context.append(sentence)
                    room -= length
        return context

    def _lead_paragraph(
        self, item: AnswerSentence, lead: AnswerSentence | None, sentences: list[AnswerSentence], text: str
    ) -> list[AnswerSentence]:
        """The paragraph ending in `lead`, the lead of the list `item` belongs to, in order ("有下列行为之一的，由…
        改正；情节严重的，…处分："), as read and within its article; none without a lead."""
        if lead is None:
            return []
        paragraph = [lead]
        for sentence in sorted(sentences, key=lambda s: s.start, reverse=True):
            earlier = paragraph[0]
            if _NEW_PART.match(earlier.normalized):  # the paragraph opens its article: no earlier one
                break
            if sentence.hit.chunk.source == item.hit.chunk.source and sentence.end <= earlier.start:
                between = text[sentence.end : earlier.start]
                if between.strip() or "\n" in between:
                    break
                paragraph.insert(0, sentence)
        return paragraph

    def _list_context(self, listed: list[AnswerSentence], sentences: list[AnswerSentence]) -> list[AnswerSentence]:
        """The sentences right before a list's lead and after its last item, in the same article, as context."""
        room = _MAX_ANSWER_CHARS - sum(s.end - s.start for s in listed)
        following = self._read_on(listed[-1], sentences, passages=1)[:1]
        return self._context(listed, [*sentences, *following], room=room)

    def _counted_items(
        self, query: Query, sentences: list[AnswerSentence], order: np.ndarray
    ) -> list[AnswerSentence] | None:
        """For a question asking for a counted set ("三个导向是什么"), the best-scored sentence read that names it
        ("二、突出“三个导向”，…") and is followed by its ordinal items, with their first sentences; when no sentence
        read names it, the numbered sections' headings of a document made of that many; else None."""
        counted = query.counted_set
        if counted is None:
            return None
        naming = [sentences[int(i)] for i in order if counted.name in sentences[int(i)].normalized]
        for sentence in naming:
            if items := self._ordinal_items(sentence, sentences, asked=counted.size):
                return items
        # a document's parts the text never counts ("三个部分") are its numbered sections
        if naming or not _PARTS.search(counted.name):
            return None
        return self._section_headings(sentences[int(order[0])], counted.size)

    def _section_headings(self, best: AnswerSentence, asked: int) -> list[AnswerSentence] | None:
        """The heading lines of the best sentence's document when it is made of exactly `asked` numbered sections
        ("一、…", "二、…", "三、…"): what a speech's or report's counted parts are when no "一是…" items name them
        ("发言分为哪三个部分"); None when it has another number of them."""
        source = best.hit.chunk.source
        if len(_SECTION_LINE.findall(self.documents[source].text)) != asked:  # a heading no chunk starts counts too
            return None
        headings: list[AnswerSentence] = []
        for chunk in self.retriever.chunks_of(source):
            if not _SECTION_NUMBER.match(chunk.normalized.lstrip()):
                continue
            opening = next(iter(_sentences_of(best.hit_rank, Hit(chunk, best.hit.score))), None)
            if opening is None or headings and opening.start <= headings[-1].start:
                continue  # no sentence, or the heading's passage went on in this one
            if _SECTION_NUMBER.match(opening.normalized.lstrip()):
                headings.append(opening)
        if len(headings) != asked:
            return None
        in_order = all(h.normalized.lstrip().startswith(NUMERALS[i] + "、") for i, h in enumerate(headings))
        return headings if in_order else None

    def _ordinal_items(
        self, heading: AnswerSentence, sentences: list[AnswerSentence], *, asked: int = len(NUMERALS)
    ) -> list[AnswerSentence] | None:
        """A heading or lead whose items are told by ordinals ("一是…。…二是…"), each a paragraph: the heading and
        each item's first sentence (what the item is), at most `asked` of them, read on through the document's
        next passages; None when no such items follow it."""
        following = self._read_on(heading, sentences, passages=_ITEM_PASSAGES)
        items: list[AnswerSentence] = []
        length = heading.end - heading.start
        for position, sentence in enumerate(following):
            opening = sentence.normalized.lstrip()
            if not items and position >= _ITEM_OPENING:  # the items must open right after the heading
                return None
            if opening.startswith(NUMERALS[len(items)] + "是"):
                length += sentence.end - sentence.start
                if length > _MAX_ANSWER_CHARS:
                    break
                items.append(sentence)
                if len(items) == asked:
                    break
            elif marker(opening) is not None or _NEW_PART.match(opening) or _ORDINAL_ITEM.match(opening):
                break  # the next section, or an item out of order
        return [heading, *items] if len(items) >= 2 else None

    def _read_on(
        self, sentence: AnswerSentence, sentences: list[AnswerSentence], *, passages: int
    ) -> list[AnswerSentence]:
        """The sentences after `sentence` in its document, in order: those read and those of up to `passages` of the
        document's next passages."""
        source = sentence.hit.chunk.source
        found = {(s.start, s.end): s for s in sentences if s.hit.chunk.source == source and s.start >= sentence.end}
        chunk = sentence.hit.chunk
        for _ in range(passages):
            next_chunk = self.retriever.next_chunk(chunk)
            if next_chunk is None:
                break
            chunk = next_chunk
            for s in _sentences_of(sentence.hit_rank, Hit(chunk, sentence.hit.score)):
                if s.start >= sentence.end:
                    found.setdefault((s.start, s.end), s)
        result, end = [], sentence.end
        for s in sorted(found.values(), key=lambda s: (s.start, -s.end)):
            if s.start >= end:  # overlapping passages cut a sentence at their ends: keep the whole one
                result.append(s)
                end = s.end
        return result

    def _with_items(
        self, lead: AnswerSentence, sentences: list[AnswerSentence], text: str, *, room: int, limit: int | None = None
    ) -> list[AnswerSentence]:
        """`with_items` over the sentences after the lead (a heading or a list's lead), those read and those of the
        passage after the lead's: what answers is what follows the lead, and it can run on past the passages read."""
        return with_items(lead, self._read_on(lead, sentences, passages=1), text, room=room, limit=limit)

    def scored_sentences(
        self, query: Query, sentences: list[AnswerSentence], vectors: np.ndarray
    ) -> tuple[list[Candidate], np.ndarray]:
        """Each sentence as a Candidate and how well it answers: the score without a model, blended half and half
        with the sentence model's when the reranker is on, the best of them then rescored by the cross-encoder."""
        candidates, scores = self.sentence_candidates(query, sentences, vectors)
        reranker = self.retriever.reranker
        if self.rerank and reranker is not None and len(sentences) > 1:
            relevance = reranker.sentence_scores(query, candidates, self.retriever)
            scores = (1 - _SENTENCE_MODEL_WEIGHT) * scores + _SENTENCE_MODEL_WEIGHT * min_max(relevance)
            scores = reranker.cross_encoded_sentences(query, candidates, scores)
        return candidates, scores

    def sentence_candidates(
        self, query: Query, sentences: list[AnswerSentence], vectors: np.ndarray
    ) -> tuple[list[Candidate], np.ndarray]:
        """Each sentence as the sentence model reads it (a short passage of its document, with its passage's
        score, its share of the question's words and its cosine), and its score without a model: cosine
        (min-max over the sentences), share of the question's words and its passage's rank."""
        similarity = vectors @ query.vector
        weights = {t: self.retriever.idf(t) for t in set(query.tokens)}
        total = sum(weights.values()) or 1.0
        overlap = np.asarray([sum(w for t, w in weights.items() if t in s.normalized) / total for s in sentences])
        rank_prior = np.asarray([1.0 / (1 + s.hit_rank) for s in sentences])
        scores = (
            _SENTENCE_COSINE_WEIGHT * min_max(similarity)
            + _SENTENCE_OVERLAP_WEIGHT * overlap
            + _SENTENCE_RANK_WEIGHT * rank_prior
        )
        candidates = [
            Candidate(replace(s.hit.chunk, normalized=s.normalized), s.hit.score, float(o), float(c), False)
            for s, o, c in zip(sentences, overlap, similarity, strict=True)
        ]
        return candidates, scores

    def sentences(self, hits: list[Hit]) -> tuple[list[AnswerSentence], np.ndarray]:
        """Sentences of the passages (first copy of each span) with their embeddings."""
        found: list[AnswerSentence] = []
        vectors: list[np.ndarray] = []
        seen: set[tuple[str, int, int]] = set()
        for rank, hit in enumerate(hits):
            cached, cached_vectors = self._cached_sentences(hit)
            for sentence, vector in zip(cached, cached_vectors, strict=True):
                key = (hit.chunk.source, sentence.start, sentence.end)
                if key not in seen:  # overlapping chunks repeat sentences
                    seen.add(key)
                    found.append(AnswerSentence(rank, hit, sentence.start, sentence.end, sentence.normalized))
                    vectors.append(vector)
        return found, np.vstack(vectors) if vectors else np.zeros((0, 1), dtype=np.float32)

    def _cached_sentences(self, hit: Hit) -> tuple[list[AnswerSentence], np.ndarray]:
        key = hit.chunk.chunk_id
        with self._cache_lock:
            if key in self._sentence_cache:
                self._sentence_cache.move_to_end(key)
                return self._sentence_cache[key]
        sentences = _sentences_of(0, hit)
        vectors = self.embedder.embed_documents([s.normalized for s in sentences])
        with self._cache_lock:
            self._sentence_cache[key] = (sentences, vectors)
            if len(self._sentence_cache) > _SENTENCE_CACHE:
                self._sentence_cache.popitem(last=False)
        return sentences, vectors


def _states_asked_quantity(query: Query, texts: list[str]) -> bool:
    """False when the question asks how many or how much and none of the (normalised) texts states such a
    quantity."""
    quantity = asked_quantity(query.normalized)
    return quantity is None or any(quantity.search(text) for text in texts)


def refusal(question: str) -> str:
    return REFUSALS[language(question)]


def language(text: str) -> str:
    if not _CJK.search(text):
        return "en"
    return "zh-Hant" if to_simplified(text) != text else "zh-Hans"


def _sentences_of(rank: int, hit: Hit) -> list[AnswerSentence]:
    chunk = hit.chunk
    norm = normalize(chunk.text)
    result = []
    for a, b in split_sentences(norm.text):
        if b - a < 4:  # a bare heading number or stray punctuation answers nothing
            continue
        start, end = norm.original_span(a, b)
        result.append(AnswerSentence(rank, hit, chunk.start + start, chunk.start + end, norm.text[a:b]))
    return result


def _compose(chosen: list[AnswerSentence], documents: dict[str, Document], script: str) -> tuple[str, list[Citation]]:
    """Readable order (sources as their first sentence was chosen, the best one's first; then by position); one
    citation per run of adjacent sentences."""
    source_order: dict[str, int] = {}
    for s in chosen:
        source_order.setdefault(s.hit.chunk.source, len(source_order))
    ordered = sorted(chosen, key=lambda s: (source_order[s.hit.chunk.source], s.start, -s.end))
    groups: list[tuple[list[AnswerSentence], int]] = []  # each run and where it ends
    for sentence in ordered:
        source = sentence.hit.chunk.source
        if groups and groups[-1][0][0].hit.chunk.source == source and _follows(groups[-1][1], sentence, documents):
            run, end = groups[-1]
            groups[-1] = (run + [sentence], max(end, sentence.end))
        else:
            groups.append(([sentence], sentence.end))
    parts, citations = [], []
    for number, (group, quote_end) in enumerate(groups, start=1):
        document = group[0].hit.chunk
        quote_start = group[0].start
        quote = documents[document.source].text[quote_start:quote_end]
        citations.append(Citation(number, document.source, document.chunk_id, quote_start, quote_end, quote))
        # the answer reads in the question's script; the citation quotes the original exactly
        parts.append(_in_script(display_text(quote).strip(), script) + f"[{number}]")
    return "".join(parts), citations


def _beside(
    first: AnswerSentence, sentences: list[AnswerSentence], scores: np.ndarray, order: np.ndarray, text: str
) -> AnswerSentence | None:
    """The better-scored neighbour of the best sentence, for a question asking two things ("有效期是几年？…要提前
    多久…": the second thing asked is usually stated right before or after the first); None when it scores under
    its floor, is a list's lead or makes the answer too long."""
    beside = [int(i) for i in order if _next_to(first, sentences[int(i)], text) and not is_lead(sentences[int(i)])]
    if not beside or scores[beside[0]] < _BESIDE_RELATIVE_SCORE * scores[order[0]]:
        return None
    sentence = sentences[beside[0]]
    fits = first.end - first.start + sentence.end - sentence.start <= _MAX_ANSWER_CHARS
    return sentence if fits else None


def _next_to(a: AnswerSentence, b: AnswerSentence, text: str) -> bool:
    """b is the sentence right before or after a in a's document, and the later of the two opens no new article,
    section or chapter, nor a line with a heading's or an item's marker ("二、") after anything but a list's lead
    (that is no continuation)."""
    if a is b or a.hit.chunk.source != b.hit.chunk.source:
        return False
    earlier, later = (a, b) if a.start <= b.start else (b, a)
    between = text[earlier.end : later.start]
    if between.strip() or _NEW_PART.match(later.normalized):
        return False
    return "\n" not in between or marker(later.normalized) is None or is_lead(earlier)


def _follows(end: int, sentence: AnswerSentence, documents: dict[str, Document]) -> bool:
    """The sentence starts where a run ending at `end` ends, with nothing but whitespace between (a list's indented
    items), or inside it (a mojibake sequence standing for the end of one sentence and the start of the next
    belongs to both)."""
    return not documents[sentence.hit.chunk.source].text[end : sentence.start].strip()


def _in_script(text: str, script: str) -> str:
    if script == "zh-Hant":
        return to_traditional(text)
    return to_simplified(text) if script == "zh-Hans" else text
