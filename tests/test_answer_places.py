"""A question naming two places, each with a report of its own among the passages ("东阿县和郓城县各印发了
多少份…"), is answered from each place's report; a question naming one place, places one report names
together, or a place with the one it lies in ("聊城市东阿县"), reads the top passages."""

import numpy as np
import pytest

from indexer.datatypes import Chunk, Document, Hit
from indexer.normalize import normalize_query
from qa.answer import Answerer
from qa.query import analyze
from tests.answer_doubles import ClosestEmbedder, DocumentRetriever

DONGE = ("东阿县把《条例》列入县委常委会议程，逐字逐句学。", "东阿县印发口袋书5000余本，发放到各级党组织。")
YUNCHENG = "郓城县印发宣传册500余册，实现人手一册。"


class _PlaceRetriever(DocumentRetriever):
    """As DocumentRetriever, over documents that name places."""

    def __init__(self, documents: dict[str, Document]) -> None:
        super().__init__()
        self.documents = documents

    def names(self, source: str, place: str) -> bool:
        return place in self.documents[source].text


def _chunk(source: str, position: int, start: int, text: str) -> Chunk:
    return Chunk(
        f"{source}#{position}", source, position, "", "", start, start + len(text), text, normalize_query(text)
    )


def _answer(question: str, donge: tuple[str, str] = DONGE, yuncheng: str = YUNCHENG):
    documents = {
        "donge.txt": Document("donge.txt", "东阿县", "".join(donge), "0"),
        "yuncheng.txt": Document("yuncheng.txt", "郓城县", yuncheng, "0"),
    }
    # 东阿's report holds the two best passages, 郓城's the third
    hits = [
        Hit(_chunk("donge.txt", 0, 0, donge[0]), 3.0),
        Hit(_chunk("donge.txt", 1, len(donge[0]), donge[1]), 2.0),
        Hit(_chunk("yuncheng.txt", 0, 0, yuncheng), 1.0),
    ]
    retriever = _PlaceRetriever(documents)
    answerer = Answerer(retriever, ClosestEmbedder("印发"), documents, threshold=0.45, max_sentences=2)
    query = analyze(question, lambda text: np.asarray([1.0, 0.0], dtype=np.float32))
    return answerer._extractive(query, hits)


@pytest.mark.parametrize(
    "question",
    [
        "东阿县和郓城县各印发了多少份学习资料？",
        "郓城县和东阿县各印发了多少份学习资料？",  # places in rank order, not as named
        "东阿县和郓城县各印发了多少份学习资料，东阿县印发的是什么？",  # a place named twice
    ],
)
def test_a_question_naming_two_places_is_answered_from_each_places_report(question) -> None:
    answer = _answer(question)
    assert "口袋书5000余本" in answer.text and "宣传册500余册" in answer.text
    assert [c.source for c in answer.citations] == ["donge.txt", "yuncheng.txt"]
    texts = {"donge.txt": "".join(DONGE), "yuncheng.txt": YUNCHENG}
    assert all(texts[c.source][c.start : c.end] == c.quote for c in answer.citations)


def test_a_question_naming_one_place_reads_the_top_passages() -> None:
    answer = _answer("东阿县印发了多少份学习资料？")
    assert "口袋书5000余本" in answer.text and "宣传册" not in answer.text


def test_places_one_report_names_together_are_answered_from_the_top_passages() -> None:
    # 东阿's report, ranked first, names 郓城 too: it is the best-ranked report naming either place
    donge = ("东阿县向郓城县介绍学习《条例》的经验。", DONGE[1])
    answer = _answer("东阿县和郓城县各印发了多少份学习资料？", donge=donge)
    assert [c.source for c in answer.citations] == ["donge.txt"]


def test_a_place_and_the_one_it_lies_in_are_no_comparison() -> None:
    answer = _answer("聊城市东阿县印发了多少份学习资料？", yuncheng="聊城市郓城县印发宣传册500余册。")
    assert "宣传册" not in answer.text
