""" "…从什么时候开始施行" is answered by the article saying when the statute takes effect (its header line when it
has no such article), wherever it stands in the document, not by the passage that matched the question best."""

import numpy as np
import pytest

from indexer.datatypes import Chunk, Document, Hit
from indexer.normalize import normalize_query
from qa.answer import Answerer
from qa.query import analyze
from tests.answer_doubles import ClosestEmbedder, DocumentRetriever

HEAD = (
    "# 优化营商环境条例\n\n2019年10月8日 国务院第66次常务会议通过\n\n"
    "2019年10月22日 中华人民共和国国务院令第722号公布\n\n2020年1月1日 施行\n\n"
)
BODY = (
    "第一条 为了持续优化营商环境，制定本条例。\n\n"
    "第二条 本条例所称营商环境，是指市场主体在市场经济活动中所涉及的体制机制性因素和条件。\n\n"
)
ARTICLE = "第七十二条 本条例自2020年1月1日起施行。"


def _answer(text: str, question: str, *, closest: str = "优化营商环境条例", read: int = 1):
    documents = {"law.txt": Document("law.txt", "优化营商环境条例", text, "0")}
    cut = text.index("第一条")
    chunks = [
        Chunk(f"law.txt#{i}", "law.txt", i, "优化营商环境条例", "", start, end, text[start:end],
              normalize_query(text[start:end]))
        for i, (start, end) in enumerate([(0, cut), (cut, len(text))])
    ]  # fmt: skip
    answerer = Answerer(DocumentRetriever(chunks), ClosestEmbedder(closest), documents, threshold=0.45, max_sentences=2)
    query = analyze(question, lambda _: np.asarray([1.0, 0.0], dtype=np.float32))
    # by default the title's passage is read, the article's not
    return answerer._extractive(query, [Hit(chunk, 1.0 - i) for i, chunk in enumerate(chunks[:read])])


@pytest.mark.parametrize(
    "question",
    ["《优化营商环境条例》从哪一天开始施行？", "优化营商环境条例何时起施行", "《優化營商環境條例》從哪一天開始施行？"],
)
def test_a_commencement_question_is_answered_by_the_article_that_states_it(question) -> None:
    text = HEAD + BODY + ARTICLE
    answer = _answer(text, question)
    assert answer.answerable  # the text in the question's script, the quote as the document has it
    assert [c.quote for c in answer.citations] == [ARTICLE] == [text[c.start : c.end] for c in answer.citations]


def test_without_such_an_article_the_header_line_answers() -> None:
    answer = _answer(HEAD + BODY, "《优化营商环境条例》从哪一天开始施行？")
    assert [c.quote.strip() for c in answer.citations] == ["2020年1月1日 施行"]


def test_other_questions_about_the_statute_are_answered_as_before() -> None:
    answer = _answer(HEAD + BODY + ARTICLE, "《优化营商环境条例》是哪次会议通过的？")
    assert "本条例自2020年1月1日起施行" not in answer.text


def test_the_statute_s_own_commencement_is_told_from_a_provision_taking_effect() -> None:
    """ "…决定自作出之日起生效" says when a decision takes effect, not the statute: "本条例自…起施行" answers."""
    provision = "第七十一条 行政处理决定自作出之日起生效。"
    text = HEAD + BODY + provision + ARTICLE
    answer = _answer(text, "《优化营商环境条例》从哪一天开始施行？")
    assert [c.quote for c in answer.citations] == [ARTICLE]


def test_a_question_about_when_a_provision_takes_effect_is_answered_by_the_provision() -> None:
    provision = "第七十一条 行政处理决定自作出之日起生效。"
    text = HEAD + BODY + provision + ARTICLE
    answer = _answer(text, "行政处理决定什么时候生效？", closest="行政处理决定", read=2)
    assert "行政处理决定自作出之日起生效" in answer.text and not answer.text.startswith(ARTICLE)
