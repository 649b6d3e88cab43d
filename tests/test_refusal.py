"""The refusal decision: a passage answers when it covers the question, or covers some of it and means
the same (a paraphrase); never on meaning alone."""

import numpy as np
import pytest

from indexer.datatypes import Chunk, Hit
from qa.answer import Answerer
from qa.query import analyze

PASSAGE = "对全县机关事业单位开展“双随机”履职评估。"
CHUNK = Chunk("a.txt#0", "a.txt", 0, "a", "", 0, len(PASSAGE), PASSAGE, PASSAGE)


class _Retriever:
    """What the refusal reads of a retriever: the best passages' coverage and the top one's cosine."""

    def __init__(self, coverage: float, cosine: float) -> None:
        self.coverage, self.similarity = coverage, cosine

    def answerability(self, query, hits) -> float:
        return self.coverage

    def cosine(self, query, chunk) -> float:
        return self.similarity


@pytest.mark.parametrize(
    ("coverage", "cosine", "answered"),
    [
        (0.50, 0.10, True),  # covers the question
        (0.30, 0.85, True),  # a paraphrase: covers some of it and means the same
        (0.30, 0.70, False),  # covers some of it, means something else
        (0.20, 0.95, False),  # close in meaning, but shares almost nothing
    ],
)
def test_a_passage_answers_by_coverage_or_by_part_coverage_and_meaning(coverage, cosine, answered) -> None:
    answerer = Answerer(
        _Retriever(coverage, cosine), None, {}, threshold=0.45, paraphrase=(0.25, 0.82), max_sentences=2
    )
    query = analyze("县里怎样检查机关单位履职？", lambda text: np.zeros(4, dtype=np.float32))
    assert answerer._answerable(query, [Hit(CHUNK, 1.0)]) is answered
    assert answerer._answerable(query, []) is False
