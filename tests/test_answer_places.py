"""A question naming two places, each with a report of its own among the passages ("东阿县和郓城县各印发了
多少份…"), is answered from each place's report; a question naming one place reads the top passages."""

import numpy as np

from indexer.datatypes import Chunk, Document, Hit
from indexer.normalize import normalize_query
from qa.answer import Answerer
from qa.query import analyze
from tests.answer_doubles import ClosestEmbedder, DocumentRetriever

DONGE = ("东阿县把《条例》列入县委常委会议程，逐字逐句学。", "东阿县印发口袋书5000余本，发放到各级党组织。")
YUNCHENG = "郓城县印发宣传册500余册，实现人手一册。"
DOCUMENTS = {
    "donge.txt": Document("donge.txt", "东阿县", "".join(DONGE), "0"),
    "yuncheng.txt": Document("yuncheng.txt", "郓城县", YUNCHENG, "0"),
}


class _PlaceRetriever(DocumentRetriever):
    """As DocumentRetriever, over documents that name places."""

    def names(self, source: str, place: str) -> bool:
        return place in DOCUMENTS[source].text


def _chunk(source: str, position: int, start: int, text: str) -> Chunk:
    return Chunk(
        f"{source}#{position}", source, position, "", "", start, start + len(text), text, normalize_query(text)
    )


def _answer(question: str):
    # 东阿's report holds the two best passages, 郓城's the third
    hits = [
        Hit(_chunk("donge.txt", 0, 0, DONGE[0]), 3.0),
        Hit(_chunk("donge.txt", 1, len(DONGE[0]), DONGE[1]), 2.0),
        Hit(_chunk("yuncheng.txt", 0, 0, YUNCHENG), 1.0),
    ]
    answerer = Answerer(_PlaceRetriever(), ClosestEmbedder("印发"), DOCUMENTS, threshold=0.45, max_sentences=1)
    query = analyze(question, lambda text: np.asarray([1.0, 0.0], dtype=np.float32))
    return answerer._extractive(query, hits)


def test_a_question_naming_two_places_is_answered_from_each_places_report() -> None:
    answer = _answer("东阿县和郓城县各印发了多少份学习资料？")
    assert "口袋书5000余本" in answer.text and "宣传册500余册" in answer.text
    assert [c.source for c in answer.citations] == ["donge.txt", "yuncheng.txt"]
    assert all(DOCUMENTS[c.source].text[c.start : c.end] == c.quote for c in answer.citations)


def test_a_question_naming_one_place_reads_the_top_passages() -> None:
    answer = _answer("东阿县印发了多少份学习资料？")
    assert "口袋书5000余本" in answer.text and "宣传册" not in answer.text
