"""Relevance features of a (question, candidate passage) pair, for the learned reranker.

Cheap by design (string tests on two short texts, no model call): the reranker scores the top
candidates of every hybrid search within a few milliseconds. Beside the retrieval scores they
describe what retrieval cannot see: whether the passage holds the kind of thing the question asks
for (a number, a date, a time limit, an organ, a list, a statute's condition, a sanction), whether
it is only the lead of a list, how much of the question its document title and section name, how
close together the question's words sit in it, and whether it holds the question's words that are
rare in its own document (the passage that says what is asked, not the lead that repeats the
document's topic). The sentence model reads the same features of each sentence an answer may quote.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from indexer.datatypes import Chunk
from indexer.normalize import normalize_query
from indexer.text import sub_words
from qa.fusion import min_max
from qa.query import Query

# What a question asks for, and how a passage that holds it looks (normalised, Simplified text).
_NUMERAL = r"(?:\d+(?:\.\d+)?|[一二三四五六七八九十百千万两零〇]+)"
_WANTS = {
    "number": re.compile(r"多少|几[个项次人名所家倍]|比例|比重|数额|金额|罚款|规模|增长|下降|目标"),
    "date": re.compile(r"何时|什么时候|哪一?年|哪一?天|哪一?日|日期|起施行|生效"),
    "duration": re.compile(r"多长时间|多久|期限|时限|几日|几天|几个月|多少天|多少日|多少个工作日|多少年"),
    "organ": re.compile(r"谁|哪个部门|哪些部门|哪个机关|哪一级|哪级|由哪|什么部门|什么机关|哪个机构|主管"),
    "list": re.compile(r"哪些|什么条件|哪几|什么情形|什么情况下|措施|包括什么|有什么"),
    "condition": re.compile(
        r"什么情况|什么情形|何种情形|哪些情形|哪种情况|什么条件|哪些条件|什么要求|什么限制|满足什么|符合什么"
    ),
    "penalty": re.compile(
        r"什么处罚|哪些处罚|何种处罚|怎么处罚|如何处罚|怎样处罚|什么处理|如何处理|怎么处理|怎样处理|什么法律责任|什么责任|"
        r"什么后果|受到什么|怎么罚|罚多少"
    ),
}
_HOLDS = {
    "number": re.compile(rf"{_NUMERAL}(?:%|个百分点|倍|万|亿|元|人|项|个|次|名|所|家|吨|公里|平方米|岁|周岁)"),
    "date": re.compile(r"\d{4}年\d{1,2}月(?:\d{1,2}日)?|\d{1,2}月\d{1,2}日"),
    "duration": re.compile(rf"{_NUMERAL}个?(?:工作日|日|天|个月|小时|年)(?:内|以内|之内|前|后|以上)"),
    "organ": re.compile(r"(?:部门|机关|人民政府|委员会|法院|检察院|国务院|办公室|总局)"),
    "list": re.compile(r"\([一二三四五六七八九十]+\)|下列|[一二三四五六七八九十]是"),
    # a statute's condition is a clause ending in "的," before what may, must or must not be done
    "condition": re.compile(r"的,[^。;]{0,12}?(?:可以|应当|不得|须|方可|有权|不予)"),
    "penalty": re.compile(
        r"处以|罚款|警告|拘留|处分|责令|吊销|没收|通报批评|追究[^。;]{0,8}责任|取缔|暂扣|撤销[^。;]{0,6}(?:资格|许可|登记)"
    ),
}
_WANT_KINDS = tuple(_WANTS)
_PARTS_CREDIT = 0.6  # a compound term absent as a whole counts by the share of its parts present
# A query word found only elsewhere in the passage's document counts for this much of one in the passage.
DOCUMENT_CREDIT = 0.7
_NEAR_CHARS = 10  # characters at which "beside the question's words" has faded to one half
FEATURES = (
    "fused", "fused_reciprocal_rank", "lexical", "dense", "dense_minmax",
    "coverage", "document_coverage", "title_coverage", "section_coverage", "matched_terms",
    "proximity", "log_length", "lead_only", "has_items",
    *(f"wants_{k}" for k in _WANT_KINDS), *(f"holds_{k}" for k in _WANT_KINDS),
    "answer_type_match", "place_match", "title_match", "title_contained", "best_title_match", "title_named",
    "answer_near_terms", "document_focus", "document_focus_best", "phrases", "first_chunk",
    "question_focus", "question_focus_rare",
)  # fmt: skip


class Corpus(Protocol):
    """What the features read of the indexed corpus (the Retriever provides it)."""

    def idf(self, term: str) -> float: ...
    def document_text(self, source: str) -> str: ...
    def title(self, source: str) -> str: ...
    def title_weight(self, term: str) -> float: ...
    def title_named(self, query: Query, source: str) -> float: ...
    def occurrences(self, source: str, term: str) -> int: ...


@dataclass(frozen=True, slots=True)
class Candidate:
    """A passage the retrieval proposed for a query, with the scores it had there."""

    chunk: Chunk
    fused: float  # the hybrid score, place boost included
    lexical: float  # BM25, max-scaled over the candidates (0 when the query's terms are absent)
    dense: float  # cosine of the query and passage vectors
    place_match: bool  # its document names a place the question names


def features(query: Query, candidates: Sequence[Candidate], corpus: Corpus) -> np.ndarray:
    """One row of FEATURES per candidate, in candidate order (which must be by descending fused score)."""
    terms, weights = question_terms(query, corpus)
    # Which document the question names: its terms weighed by how few titles hold them ("2025", "十八大",
    # a law's name), and whether a whole title (without its date) is quoted in the question.
    title_weights = {t: corpus.title_weight(t) for t in terms}
    title_total = sum(title_weights.values()) or 1.0
    title_match = [
        sum(w for t, w in title_weights.items() if t in corpus.title(c.chunk.source)) / title_total for c in candidates
    ]
    best_title = max(title_match, default=0.0)
    total = float(weights.sum()) or 1.0
    wants = [bool(_WANTS[k].search(query.normalized)) for k in _WANT_KINDS]
    fused = np.asarray([c.fused for c in candidates])
    dense = np.asarray([c.dense for c in candidates])
    fused_scaled = min_max(fused) if len(fused) else fused
    dense_scaled = min_max(dense) if len(dense) else dense
    focus = [document_focus(terms, weights, c.chunk, corpus) for c in candidates]
    best_focus: dict[str, float] = {}
    for candidate, value in zip(candidates, focus, strict=True):
        best_focus[candidate.chunk.source] = max(best_focus.get(candidate.chunk.source, 0.0), value)
    phrases = query.phrases
    asked = list(query.focus)
    asked_weights = np.asarray([corpus.idf(t) for t in asked]) if asked else np.zeros(0)
    asked_total = float(asked_weights.sum()) or 1.0
    rows = []
    for rank, candidate in enumerate(candidates):
        chunk = candidate.chunk
        text = chunk.normalized
        present = np.asarray([presence(t, text) for t in terms])
        in_document = np.asarray([presence(t, corpus.document_text(chunk.source)) for t in terms])
        title = corpus.title(chunk.source)
        section = normalize_query(chunk.section)
        holds = [bool(_HOLDS[k].search(text)) for k in _WANT_KINDS]
        rows.append([
            fused_scaled[rank], 1.0 / (1 + rank), candidate.lexical, candidate.dense, dense_scaled[rank],
            float(weights @ present) / total if terms else 0.0,
            float(weights @ np.maximum(present, DOCUMENT_CREDIT * in_document)) / total if terms else 0.0,
            _share(terms, weights, total, title), _share(terms, weights, total, section),
            float((present == 1.0).sum()),
            _proximity(terms, text), math.log1p(len(text)),
            float(text.rstrip().endswith((":", "："))), float("(一)" in text or "(1)" in text),
            *map(float, wants), *map(float, holds),
            float(any(w and h for w, h in zip(wants, holds, strict=True))), float(candidate.place_match),
            title_match[rank], float(len(title) >= 4 and _bare_title(title) in query.normalized),
            float(best_title > 0 and title_match[rank] == best_title), corpus.title_named(query, chunk.source),
            _answer_near(terms, text, [k for k, w in zip(_WANT_KINDS, wants, strict=True) if w]),
            focus[rank], focus[rank] / best_focus[chunk.source] if best_focus[chunk.source] else 0.0,
            sum(p in text for p in phrases) / len(phrases) if phrases else 0.0, float(chunk.position == 0),
            float(asked_weights @ [presence(t, text) for t in asked]) / asked_total if asked else 0.0,
            document_focus(asked, asked_weights, chunk, corpus),
        ])  # fmt: skip
    return np.asarray(rows, dtype=np.float32).reshape(len(candidates), len(FEATURES))


def asks_for_list(query: Query) -> bool:
    """Whether the question asks for the items of a list (conditions, cases, measures, "哪些")."""
    return bool(_WANTS["list"].search(query.normalized))


def presence(term: str, text: str) -> float:
    if term in text:
        return 1.0
    parts = sub_words(term)
    return _PARTS_CREDIT * sum(p in text for p in parts) / len(parts) if parts else 0.0


def _share(terms: list[str], weights: np.ndarray, total: float, text: str) -> float:
    if not terms or not text:
        return 0.0
    return float(sum(w for t, w in zip(terms, weights, strict=True) if t in text)) / total


def _proximity(terms: list[str], text: str) -> float:
    """How tightly the question's terms found in the passage sit: 1 when adjacent, towards 0 when spread."""
    positions = sorted(text.find(t) for t in terms if t in text)
    if len(positions) < 2:
        return 0.0
    spread = positions[-1] - positions[0]
    return min(1.0, sum(len(t) for t in terms if t in text) / max(spread, 1))


def question_terms(query: Query, corpus: Corpus) -> tuple[list[str], np.ndarray]:
    """The question's content words (its tokens when it has none), each once, and their IDF weights."""
    terms = list(dict.fromkeys(query.key_terms or query.tokens))
    return terms, np.asarray([corpus.idf(t) for t in terms]) if terms else np.zeros(0)


def focus_weights(terms: list[str], weights: np.ndarray, source: str, corpus: Corpus) -> dict[str, float]:
    """The question's words found in a document, each weighed by its IDF over how often the document repeats
    it: the document's topic words weigh little, the word that singles out the asked-about part ("担保",
    "学前教育") much."""
    local = {}
    for term, weight in zip(terms, weights, strict=True):
        count = corpus.occurrences(source, term)
        if count:
            local[term] = float(weight) / count
    return local


def focus_share(local: dict[str, float], text: str) -> float:
    """0..1: the share of a document's focus weights (`focus_weights`) that a passage of it holds."""
    total = sum(local.values())
    return sum(w for term, w in local.items() if term in text) / total if total else 0.0


def document_focus(terms: list[str], weights: np.ndarray, chunk: Chunk, corpus: Corpus) -> float:
    """0..1: the share of the question's words found in the passage's document that the passage holds,
    weighed by their rarity in that document (`focus_weights`)."""
    return focus_share(focus_weights(terms, weights, chunk.source, corpus), chunk.normalized)


def _answer_near(terms: list[str], text: str, kinds: list[str]) -> float:
    """1 when something of the asked-for kind sits right beside the question's words, towards 0 with distance:
    "自2020年1月1日起施行" answers "何时施行"; a header's publication date far from "施行" does not."""
    anchors = [m.start() for t in terms for m in re.finditer(re.escape(t), text)]
    answers = [m.start() for k in kinds for m in _HOLDS[k].finditer(text)]
    if not anchors or not answers:
        return 0.0
    distance = min(abs(a - b) for a in anchors for b in answers)
    return 1.0 / (1.0 + distance / _NEAR_CHARS)


def _bare_title(title: str) -> str:
    """A title as questions quote it: without "中华人民共和国", a trailing date or the 《》 marks."""
    return re.sub(r"^中华人民共和国|[(（][^()（）]*[)）]$|[《》#\s]", "", title)
