"""Synthetic questions from policy text: a statement turned into the question it answers.

"申请人应当自收到决定之日起十五日内提出异议" becomes "申请人应当自收到决定之日起多长时间内提出异议？",
with the answer span ("十五日内") kept so the passage holding it can be labelled. Rules cover what
citizens and officials ask of laws, regulations and work reports: deadlines, amounts and figures,
dates, the organ that decides, the conditions, cases and measures a list enumerates. Questions are
then roughened like typed ones: the article number dropped, some words left out, the document's
title sometimes named.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from indexer.chunking import split_sentences
from indexer.text import words as _words

_NUM = r"(?:\d+(?:\.\d+)?|[一二三四五六七八九十百千万两零〇]+)"
_ORGAN = r"[^，。；：,;:]{2,24}?(?:部门|机关|政府|委员会|法院|检察院|机构|办公室|总局|部|局|厅|委|院)"


@dataclass(frozen=True, slots=True)
class _Rule:
    kind: str
    pattern: re.Pattern[str]
    question: str  # replaces group "answer"


_RULES = (
    _Rule("deadline", re.compile(rf"(?P<answer>{_NUM}个?(?:工作日|日|天|个月|小时|年))(?:内|以内|之内)"), "多长时间"),
    _Rule("figure", re.compile(rf"(?P<answer>{_NUM}(?:万|亿)?元(?:以上{_NUM}(?:万|亿)?元以下)?)"), "多少钱"),
    _Rule(
        "figure",
        re.compile(
            rf"(?P<answer>{_NUM}(?:%|个百分点|倍|万人|亿人|万户|万吨|亿吨|公里|万公里|平方米|周岁|岁|名|人|项|家|所))"
        ),
        "多少",
    ),
    _Rule("date", re.compile(r"(?P<answer>\d{4}年\d{1,2}月\d{1,2}日)"), "何时"),
    _Rule(
        "who",
        re.compile(
            rf"由(?P<answer>{_ORGAN})(?:负责|批准|决定|审批|审核|审查|制定|组织|办理|确定|发布|备案|任免|核发|颁发|指定|认定|登记)"
        ),
        "哪个部门",
    ),
    _Rule("who", re.compile(rf"^(?P<answer>{_ORGAN})(?:负责|主管|统一领导|领导)"), "哪个部门"),
    _Rule("who", re.compile(rf"(?:报|报请|报经|经)(?P<answer>{_ORGAN})(?:批准|审批|同意|备案|审核)"), "哪个部门"),
)
_LIST_LEAD = re.compile(
    r"(?P<subject>[^。；]*?)(?:应当|须|必须|可以|要)?(?:具备|符合|采取|包括|有)下列(?P<what>[^：:，,]{1,8})[：:]$"
)
_ARTICLE = re.compile(r"^第[一二三四五六七八九十百零〇\d]+条\s*")
_BEFORE, _AFTER = 30, 18  # characters of the statement kept around the question word
# Share of words dropped before and after the question word (before: 0.2, before it only, in three questions
# of ten); measured on the three dev sets in docs/evaluation.md (step v7).
_DROP_BEFORE, _DROP_AFTER = 0.35, 0.175
_TITLE_MARK = "\x00"
_SELF_REFERENCE = re.compile(r"本(?:条例|法|办法|规定|细则|决定)")


@dataclass(frozen=True, slots=True)
class SyntheticQuestion:
    question: str
    kind: str  # deadline, figure, date, who, list, sentence, section
    answer: str  # a span of the passage that answers it (normalised text)


def questions_from(text: str, title: str, rng: random.Random, *, limit: int = 3) -> list[SyntheticQuestion]:
    """Up to `limit` questions that sentences of `text` (normalised) answer, in a random order of kinds."""
    found: list[SyntheticQuestion] = []
    for start, end in split_sentences(text):
        sentence = _ARTICLE.sub("", text[start:end]).strip()
        found += _rule_questions(sentence)
        lead = _LIST_LEAD.search(sentence)
        if lead and end < len(text):
            items = text[end : end + 60].strip()
            if items:
                subject = lead.group("subject").strip("，, ") or "此事"
                found.append(SyntheticQuestion(f"{subject}需要满足哪些{lead.group('what')}", "list", items[:20]))
    rng.shuffle(found)
    return [_roughen(q, title, rng) for q in found[:limit]]


def sentence_query(text: str, title: str, rng: random.Random) -> SyntheticQuestion | None:
    """A keyword query made from one sentence of the passage (some words dropped), or None if none fits."""
    sentences = [(a, b) for a, b in split_sentences(text) if 12 <= b - a <= 120]
    if not sentences:
        return None
    start, end = rng.choice(sentences)
    sentence = _ARTICLE.sub("", text[start:end])
    words = [w for w in _words(sentence) if rng.random() > 0.35]
    if len(words) < 3:
        return None
    return _roughen(SyntheticQuestion("".join(words[:12]), "sentence", sentence[:20]), title, rng)


_HEADING_NUMBER = re.compile(r"^[（(]?[一二三四五六七八九十]+[)）、]\s*")
_SECTION_TEMPLATES = ("{}有哪些具体措施", "在{}方面采取了哪些做法", "如何{}", "{}的主要内容是什么", "{}提出了什么")


def section_question(text: str, section: str, title: str, rng: random.Random) -> SyntheticQuestion | None:
    """A question about what a numbered heading's section says ("如何深化重要领域和关键环节改革"), answered
    by a passage under the heading that does not merely repeat it; None when the section is no such heading."""
    heading = section.split(" / ")[-1]
    if not _HEADING_NUMBER.match(heading):
        return None  # an article's first sentence or no heading: no topic to ask about
    topic = re.split(r"[，,。；;]", _HEADING_NUMBER.sub("", heading), maxsplit=1)[0].strip()
    body = [text[a:b] for a, b in split_sentences(text) if topic not in text[a:b] and b - a >= 12]
    if not 4 <= len(topic) <= 24 or not body:
        return None
    question = rng.choice(_SECTION_TEMPLATES).format(topic)
    return _roughen(SyntheticQuestion(question, "section", body[0][:16]), title, rng)


def _rule_questions(sentence: str) -> list[SyntheticQuestion]:
    result = []
    for rule in _RULES:
        match = rule.pattern.search(sentence)
        if match is None:
            continue
        answer_start, answer_end = match.span("answer")
        before = sentence[max(0, answer_start - _BEFORE) : answer_start]
        after = re.split(r"[。；;]", sentence[answer_end : answer_end + _AFTER], maxsplit=1)[0]
        question = before + rule.question + after
        if len(question) >= 8:
            result.append(SyntheticQuestion(question, rule.kind, match.group("answer")))
    return result


def _roughen(question: SyntheticQuestion, title: str, rng: random.Random) -> SyntheticQuestion:
    """Typed-question noise: the leading clause mark gone, words dropped on both sides of the question word
    (a person asks in fewer words than the statement: a question that copies it teaches the model only the
    lexical match), the title named now and then (always where the statement says "本条例": a question
    names the regulation it asks about)."""
    text = question.question.lstrip("，,、：:；; ").rstrip("，,。 ")
    short_title = re.sub(r"^中华人民共和国|\(.*?\)$|（.*?）$", "", title).strip()
    names_itself = bool(short_title and _SELF_REFERENCE.search(text))
    if names_itself:
        text = _SELF_REFERENCE.sub(_TITLE_MARK, text, count=1)  # kept whole while words are dropped
    if question.kind != "sentence":
        head, wh, tail = _split_at_question_word(text)
        text = _drop_words(head, _DROP_BEFORE, rng) + wh + _drop_words(tail, _DROP_AFTER, rng)
    if names_itself:
        text = text.replace(_TITLE_MARK, f"《{short_title}》")
    elif short_title and rng.random() < 0.35:
        text = f"{rng.choice(['按照', '根据', '依照', ''])}《{short_title}》，{text}"
    return SyntheticQuestion(text + ("？" if question.kind != "sentence" else ""), question.kind, question.answer)


def _drop_words(text: str, share: float, rng: random.Random) -> str:
    """The text with each word left out at the given chance; the title mark always stays."""
    pieces = text.split(_TITLE_MARK)
    return _TITLE_MARK.join("".join(w for w in _words(piece) if rng.random() > share) for piece in pieces)


def _split_at_question_word(text: str) -> tuple[str, str, str]:
    match = re.search(r"多长时间|多少钱|多少|何时|哪个部门|哪些", text)
    if match is None:
        return text, "", ""
    return text[: match.start()], match.group(), text[match.end() :]
