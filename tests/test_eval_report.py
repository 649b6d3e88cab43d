"""The evaluation report says where answer evidence recall is lost."""

import pytest

from eval.dataset import EvalCase, Gold
from eval.report import build_report, recall_loss, render_markdown
from eval.runner import CaseResult, summarize

GOLD = (Gold("a.txt", ("任期为五年", "不得连任")),)


def _result(case_id: str, *, first: bool | None, answer: str, answerable: bool = True) -> CaseResult:
    """A question's result: `first` whether the first passage supports it (None: nothing found), `answer` the
    answer's text ("": declined)."""
    case = EvalCase(case_id, "人民陪审员任期几年？", answerable, GOLD if answerable else ())
    reply = {"answerable": bool(answer), "answer": answer or "资料中未找到。"}
    return CaseResult(case, "rerank", [], [] if first is None else [first, not first], 1.0, answer=reply)


def test_recall_loss_names_each_question_missing_evidence_by_cause() -> None:
    results = [
        _result("declined", first=True, answer=""),
        _result("nothing_found", first=None, answer=""),
        _result("wrong_first", first=False, answer="人民陪审员由法院选任。"),
        _result("half", first=True, answer="人民陪审员的任期为五年。"),
        _result("whole", first=True, answer="人民陪审员的任期为五年，一般不得连任。"),
        _result("near_miss", first=False, answer="", answerable=False),
    ]
    loss = recall_loss(results)
    assert loss["declined, a supporting passage first"] == {"questions": ["declined"], "lost": 0.2}
    assert loss["declined, no supporting passage first"] == {"questions": ["nothing_found"], "lost": 0.2}
    assert loss["answered from an unsupporting first passage"] == {"questions": ["wrong_first"], "lost": 0.2}
    assert loss["answered from a supporting first passage"] == {"questions": ["half"], "lost": 0.1}
    # the causes add up to what the metric misses, over the same questions (the five answerable ones)
    recall = summarize(results)["answer_evidence_recall"]
    assert sum(entry["lost"] for entry in loss.values()) == pytest.approx(1 - recall)
    assert recall == pytest.approx((0 + 0 + 0 + 0.5 + 1) / 5)

    context = {"dataset": "d.jsonl", "corpus": "c", "counts": "", "primary_mode": "rerank", "settings": {},
               "command": ""}  # fmt: skip
    report = build_report(context, {"rerank": summarize(results)}, {"rerank": results})
    markdown = render_markdown(report, {"rerank": results})
    assert "| answered from a supporting first passage | 1 | 0.100 | half |" in markdown
    assert "- problem: the answer quotes 50% of the evidence" in markdown
