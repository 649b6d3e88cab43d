"""The evaluation report says where answer evidence recall is lost."""

from eval.dataset import EvalCase, Gold
from eval.report import build_report, recall_loss, render_markdown
from eval.runner import CaseResult, summarize

GOLD = (Gold("a.txt", ("任期为五年", "不得连任")),)


def _result(case_id: str, *, first: bool, answer: str | None, answerable: bool = True) -> CaseResult:
    case = EvalCase(case_id, "人民陪审员任期几年？", answerable, GOLD if answerable else ())
    reply = None if answer is None else {"answerable": bool(answer), "answer": answer or "资料中未找到。"}
    return CaseResult(case, "rerank", [], [first, not first], 1.0, answer=reply)


def test_recall_loss_names_each_question_missing_evidence_by_cause() -> None:
    results = [
        _result("declined", first=True, answer=""),
        _result("wrong_first", first=False, answer="人民陪审员由法院选任。"),
        _result("half", first=True, answer="人民陪审员的任期为五年。"),
        _result("whole", first=True, answer="人民陪审员的任期为五年，一般不得连任。"),
        _result("near_miss", first=False, answer="", answerable=False),
    ]
    loss = recall_loss(results)
    assert loss["declined, a supporting passage first"] == {"questions": ["declined"], "lost": 0.25}
    assert loss["declined, no supporting passage first"] == {"questions": [], "lost": 0.0}
    assert loss["answered from an unsupporting first passage"] == {"questions": ["wrong_first"], "lost": 0.25}
    assert loss["answered from a supporting first passage"] == {"questions": ["half"], "lost": 0.125}
    # the causes add up to what the metric misses: 1 - mean recall over the four answerable questions
    assert sum(entry["lost"] for entry in loss.values()) == 1 - (0 + 0 + 0.5 + 1) / 4

    context = {"dataset": "d.jsonl", "corpus": "c", "counts": "", "primary_mode": "rerank", "settings": {},
               "command": ""}  # fmt: skip
    report = build_report(context, {"rerank": summarize(results)}, {"rerank": results})
    markdown = render_markdown(report, {"rerank": results})
    assert "| answered from a supporting first passage | 1 | 0.125 | half |" in markdown
    assert "- problem: the answer quotes 50% of the evidence" in markdown
