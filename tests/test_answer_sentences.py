"""Which sentences answer: the one beside the best for a question that asks two things, the sentence right
after the best one at a lower bar than any other, the best one's neighbours quoted with it as context, and
none when a how-many question's best sentences state no quantity of the kind asked for."""

import numpy as np

from indexer.datatypes import Chunk, Document, Hit
from indexer.normalize import normalize_query
from qa.answer import REFUSALS, Answerer, AnswerSentence, _compose
from qa.query import analyze
from tests.answer_doubles import ClosestEmbedder, DocumentRetriever

LAW = (
    "第九条 安全生产许可证的有效期为3年。"
    "安全生产许可证有效期满需要延期的，企业应当于期满前3个月向原颁发管理机关办理延期手续。\n"
    "第十条 企业应当建立健全安全生产责任制。\n"
    "第十一条 未取得安全生产许可证擅自进行生产的，责令停止生产，并处10万元以上50万元以下的罚款。"
)


def _answer(question: str, closest: str, max_sentences: int = 2):
    documents = {"law.txt": Document("law.txt", "安全生产许可证条例", LAW, "0")}
    answerer = Answerer(
        DocumentRetriever(), ClosestEmbedder(closest), documents, threshold=0.45, max_sentences=max_sentences
    )
    chunk = Chunk("law.txt#0", "law.txt", 0, "安全生产许可证条例", "", 0, len(LAW), LAW, normalize_query(LAW))
    query = analyze(question, lambda text: np.asarray([1.0, 0.0], dtype=np.float32))
    return answerer._extractive(query, [Hit(chunk, 1.0)])


def test_a_question_asking_two_things_is_answered_with_the_sentence_beside_the_best() -> None:
    question = "安全生产许可证的有效期是几年？到期需要延期的，企业要提前多久办理延期手续？"
    answer = _answer(question, closest="期满前3个月")
    assert "有效期为3年" in answer.text and "期满前3个月" in answer.text
    # one statement, one citation quoting the original exactly
    (citation,) = answer.citations
    assert LAW[citation.start : citation.end] == citation.quote


def test_the_best_sentence_is_quoted_with_its_neighbours_in_its_article() -> None:
    answer = _answer("企业要提前多久办理安全生产许可证的延期手续？", closest="期满前3个月")
    # the sentence before states the subject; the next article is another statement
    assert "期满前3个月" in answer.text and "有效期为3年" in answer.text and "第十条" not in answer.text
    (citation,) = answer.citations
    assert citation.quote.startswith("第九条") and LAW[citation.start : citation.end] == citation.quote


def test_sentences_overlapping_in_the_document_are_quoted_as_one_citation() -> None:
    # a mojibake sequence ("??h" for "。縣") stands for the end of one sentence and the start of the next
    text = "工作是黨的重要工作??h委編辦牢牢把握角色定位。"
    chunk = Chunk("r.txt#0", "r.txt", 0, "", "", 0, len(text), text, normalize_query(text))
    hit = Hit(chunk, 1.0)
    first = AnswerSentence(0, hit, 0, 12, "工作是党的重要工作。县")
    second = AnswerSentence(0, hit, 9, len(text), "。县委编办牢牢把握角色定位。")
    _, (citation,) = _compose([second, first], {"r.txt": Document("r.txt", "", text, "0")}, "zh-Hans")
    assert (citation.start, citation.end, citation.quote) == (0, len(text), text)


def test_one_sentence_answers_stay_one_sentence_for_a_two_part_question() -> None:
    question = "安全生产许可证的有效期是几年？到期需要延期的，企业要提前多久办理延期手续？"
    answer = _answer(question, closest="期满前3个月", max_sentences=1)
    # answered on the other thing it asks, though its sentence states no number of years
    assert answer.answerable and "期满前3个月" in answer.text and "有效期为3年" not in answer.text


def test_a_how_many_question_whose_answer_states_no_such_quantity_is_declined() -> None:
    # the passage states an amount of money (the fine), but the sentence that answers states none
    answer = _answer("企业办理延期手续要交多少元工本费？", closest="办理延期手续")
    assert not answer.answerable and answer.text == REFUSALS["zh-Hans"] and not answer.citations


def test_a_how_many_question_whose_answer_states_the_quantity_is_answered() -> None:
    answer = _answer("擅自进行生产的，最高罚款多少万元？", closest="擅自进行生产")
    assert answer.answerable and "50万元" in answer.text


def test_a_question_counts_the_things_it_asks() -> None:
    def asks(question: str) -> int:
        return analyze(question, lambda text: np.zeros(2, dtype=np.float32)).asks

    assert asks("安全生产许可证的有效期是几年？到期需要延期的，企业要提前多久办理延期手续？") == 2
    assert asks("建设项目临时用地最长可以使用多久？基础设施项目有没有例外？") == 2
    assert asks("東阿縣如何開展雙隨機檢查？") == 1
    # one clause asks one thing, whatever its question words; 哪怕 and 几乎 ask nothing
    assert asks("征收补偿包括哪几项？") == 1
    assert asks("法律援助机构在多长时间内决定是否给予援助？") == 1
    assert asks("哪怕只有一个人，也能申请吗？") == 1
    assert asks("几乎所有企业都要缴纳这项税吗？") == 1


class _NearEmbedder(ClosestEmbedder):
    """As ClosestEmbedder, and the sentences holding `near` at cosine 0.2 to the question."""

    def __init__(self, closest: str, near: str) -> None:
        super().__init__(closest)
        self.near = near

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        vectors = super().embed_documents(texts)
        vectors[[self.near in t for t in texts]] = [0.2, 0.98]
        return vectors


def _relative_scores_and_answer(text: str, closest: str, near: str = "") -> tuple[np.ndarray, str, int]:
    """Each sentence's score as a share of the best one's, the answer's text and its number of citations."""
    documents = {"law.txt": Document("law.txt", "安全生产许可证条例", text, "0")}
    embedder = _NearEmbedder(closest, near) if near else ClosestEmbedder(closest)
    answerer = Answerer(DocumentRetriever(), embedder, documents, threshold=0.45, max_sentences=3)
    chunk = Chunk("law.txt#0", "law.txt", 0, "安全生产许可证条例", "", 0, len(text), text, normalize_query(text))
    query = analyze("企业办理安全生产许可证延期手续？", lambda _: np.asarray([1.0, 0.0], dtype=np.float32))
    sentences, vectors = answerer.sentences([Hit(chunk, 1.0)])
    _, scores = answerer.scored_sentences(query, sentences, vectors)
    answer = answerer._extractive(query, [Hit(chunk, 1.0)])
    return scores / scores.max(), answer.text, len(answer.citations)


def test_the_sentence_right_after_the_best_needs_a_lower_score_than_one_further_away() -> None:
    text = (
        "第五条 企业办理安全生产许可证延期手续，应当提交申请书。"
        "企业办理安全生产许可证延期手续的，应当于期满前3个月提出。\n"
        "第六条 本条例由应急管理部负责解释。\n"
        "第七条 企业办理安全生产许可证延期手续，不收取费用。"
    )
    shares, answer, citations = _relative_scores_and_answer(text, closest="提交申请书")
    # the same words, the same distance from the question: the same score, between the two bars
    assert 0.5 <= shares[1] == shares[3] < 0.7
    assert "提交申请书" in answer and "期满前3个月" in answer and "不收取费用" not in answer
    assert citations == 1  # one span


def test_a_sentence_scoring_between_the_bars_does_not_keep_out_the_one_next_to_the_best() -> None:
    text = (
        "第五条 企业办理安全生产许可证延期手续，应当提交申请书。"
        "企业办理安全生产许可证延期手续的，应当于期满前3个月提出。\n"
        "第七条 企业办理安全生产许可证延期手续，不收取费用。"
    )
    shares, answer, _ = _relative_scores_and_answer(text, closest="提交申请书", near="不收取费用")
    assert 0.5 <= shares[1] < shares[2] < 0.7
    # the further sentence, scored higher, falls short of its bar; the one next to the best still clears its own
    assert "期满前3个月" in answer and "不收取费用" not in answer


def test_the_next_article_is_no_continuation_of_the_best_sentence() -> None:
    text = (
        "第五条 企业办理安全生产许可证延期手续，应当提交申请书。\n"
        "第六条 企业办理安全生产许可证延期手续的，应当于期满前3个月提出。"
    )
    shares, answer, _ = _relative_scores_and_answer(text, closest="提交申请书")
    assert 0.5 <= shares[1] < 0.7 and "期满前3个月" not in answer


def test_each_answering_sentence_is_quoted_with_its_neighbours_in_its_article() -> None:
    text = (
        "第五条 企业办理安全生产许可证延期手续，应当提交申请书。\n"
        "第六条 本条例由应急管理部负责解释。\n"
        "第七条 企业办理安全生产许可证延期手续的，应当于期满前3个月提交申请书。"
        "逾期提出的，原颁发管理机关不予受理。\n"
        "第八条 本条例自公布之日起施行。"
    )
    _, answer, citations = _relative_scores_and_answer(text, closest="提交申请书")
    # the second answering sentence brings the one after it; articles between and after are other statements
    assert "期满前3个月" in answer and "不予受理" in answer
    assert "负责解释" not in answer and "公布之日" not in answer
    assert citations == 2


def test_a_sentence_inside_a_run_does_not_split_it() -> None:
    # a fragment of the first sentence (overlapping passages cut it) comes between it and the next one
    text = "第一条 甲乙丙丁戊。第二条 己庚辛壬癸。"
    chunk = Chunk("r.txt#0", "r.txt", 0, "", "", 0, len(text), text, normalize_query(text))
    hit = Hit(chunk, 1.0)
    whole, fragment, after = (
        AnswerSentence(0, hit, 0, 10, text[0:10]),
        AnswerSentence(0, hit, 0, 6, text[0:6]),
        AnswerSentence(0, hit, 10, len(text), text[10:]),
    )
    _, (citation,) = _compose([whole, fragment, after], {"r.txt": Document("r.txt", "", text, "0")}, "zh-Hans")
    assert (citation.start, citation.end, citation.quote) == (0, len(text), text)


def test_a_neighbour_on_a_new_line_under_another_heading_is_no_context() -> None:
    text = "一是强化政治意识。坚持党管机构编制原则，严格执行请示报告制度。\n二、突出目标导向，实现改革发展"
    _, answer, _ = _relative_scores_and_answer(text, closest="请示报告")
    assert "请示报告制度" in answer and "强化政治意识" in answer and "突出目标导向" not in answer
