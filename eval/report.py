"""Writes an evaluation report: report.json, report.md and PNG charts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eval.runner import CaseResult

_TABLE_METRICS = ["hit_at_1", "hit_at_3", "hit_at_5", "mrr_at_10", "ndcg_at_10", "latency_p50_ms", "latency_p95_ms"]
_ASK_METRICS = [
    "citation_precision", "citation_exactness", "answer_evidence_recall", "no_answer_accuracy",
    "answered_when_answerable", "declined_when_unanswerable", "ask_latency_p50_ms", "ask_latency_p95_ms",
]  # fmt: skip


def build_report(context: dict[str, Any], summaries: dict[str, dict], results: dict[str, list[CaseResult]]) -> dict:
    primary = context["primary_mode"]
    return {
        **context,
        "metrics": summaries,
        "recall_loss": {primary: recall_loss(results[primary])},
        "questions": {mode: [_case_row(r) for r in rows] for mode, rows in results.items()},
    }


def recall_loss(results: list[CaseResult]) -> dict[str, dict[str, Any]]:
    """Where answer_evidence_recall falls short of 1, by cause (`_loss_cause`): the questions whose answer misses
    evidence and the recall each cause costs (their missing shares summed over the metric's questions: the
    answerable ones asked, declined ones included), so the causes add up to 1 - answer_evidence_recall."""
    asked = [r for r in results if r.case.answerable and r.answer]  # as summarize() counts them
    loss: dict[str, dict[str, Any]] = {cause: {"questions": [], "lost": 0.0} for cause in _LOSS_CAUSES}
    for r in asked:
        recall = r.evidence_recall()
        if recall == 1:
            continue
        cause = _loss_cause(r)
        loss[cause]["questions"].append(r.case.id)
        loss[cause]["lost"] += (1 - recall) / len(asked)
    return loss


_LOSS_CAUSES = (
    "declined, a supporting passage first",
    "declined, no supporting passage first",
    "answered from an unsupporting first passage",
    "answered from a supporting first passage",
)


def _loss_cause(r: CaseResult) -> str:
    """Why an answer misses evidence: a refusal (which the right passage first makes a wrong one), or the
    passage it was drawn from."""
    if r.declined:
        return _LOSS_CAUSES[0] if _first_supports(r) else _LOSS_CAUSES[1]
    return _LOSS_CAUSES[3] if _first_supports(r) else _LOSS_CAUSES[2]


def _first_supports(r: CaseResult) -> bool:
    return bool(r.relevant[:1] and r.relevant[0])


def write_report(out: Path, report: dict, results: dict[str, list[CaseResult]]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (out / "report.md").write_text(render_markdown(report, results), encoding="utf-8")
    return [out / "report.json", out / "report.md", *_charts(out, report, results)]


def render_markdown(report: dict, results: dict[str, list[CaseResult]]) -> str:
    modes = list(report["metrics"])
    primary = report["primary_mode"]
    lines = [
        f"# Evaluation: {report['dataset']}",
        "",
        f"Corpus `{report['corpus']}` · {report['counts']}",
        "",
        "## Retrieval",
        "",
        table(["mode", *_TABLE_METRICS], [[m, *(report["metrics"][m][k] for k in _TABLE_METRICS)] for m in modes]),
        "",
        *_by_type(results[primary]),
        f"## Answers ({primary})",
        "",
        table(
            ["metric", "value"],
            [[k, report["metrics"][primary][k]] for k in _ASK_METRICS if k in report["metrics"][primary]],
        ),
        "",
        *_recall_loss_table(report["recall_loss"][primary]),
        "## Settings",
        "",
        *(f"- {key}: `{value}`" for key, value in report["settings"].items()),
        "",
        f"Command: `{report['command']}`",
        "",
        f"## Failed questions ({primary})",
        "",
        *_failures(results[primary]),
    ]
    return "\n".join(lines) + "\n"


def table(header: list[str], rows: list[list[Any]]) -> str:
    def cell(value: Any) -> str:
        return f"{value:.3f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _by_type(results: list[CaseResult]) -> list[str]:
    """Retrieval and decisions per question type, when the dataset labels its questions."""
    groups: dict[str, list[CaseResult]] = {}
    for r in results:
        if "type" in r.case.meta:
            groups.setdefault(r.case.meta["type"], []).append(r)
    if not groups:
        return []
    rows = []
    for kind, members in sorted(groups.items()):
        answerable = [r for r in members if r.case.answerable]
        hit1 = sum(_first_supports(r) for r in answerable) / len(answerable) if answerable else ""
        hit5 = sum(any(r.relevant[:5]) for r in answerable) / len(answerable) if answerable else ""
        decided = [r for r in members if r.answer is not None]
        correct = sum(r.decision_correct for r in decided) / len(decided) if decided else ""
        rows.append([kind, len(members), hit1, hit5, correct])
    header = ["question type", "questions", "hit_at_1", "hit_at_5", "answer/decline correct"]
    return ["## By question type", "", table(header, rows), ""]


def _recall_loss_table(loss: dict[str, dict[str, Any]]) -> list[str]:
    """`recall_loss` as a table, the first questions of each cause named; nothing when no answer misses evidence."""
    if not any(entry["questions"] for entry in loss.values()):
        return []
    rows = [[cause, len(entry["questions"]), entry["lost"], _clip(" ".join(entry["questions"]), 120)]
            for cause, entry in loss.items()]  # fmt: skip
    header = ["where evidence is missing", "questions", "recall lost", "which"]
    return ["### Evidence recall lost", "", table(header, rows), ""]


def _failures(results: list[CaseResult]) -> list[str]:
    lines: list[str] = []
    for r in results:
        problems = []
        if r.case.answerable and not any(r.relevant[:5]):
            problems.append("no supporting passage in the top 5")
        if r.answer is not None and not r.decision_correct:
            problems.append(
                "declined an answerable question" if r.case.answerable else "answered an unanswerable question"
            )
        if r.case.answerable and r.answer is not None and not r.declined and (recall := r.evidence_recall()) < 1:
            problems.append(f"the answer quotes {recall:.0%} of the evidence")
        if r.answer is not None and not all(r.citation_exact):
            problems.append("a citation is not exact")
        if not problems:
            continue
        gold = "; ".join(f"{g.source}: {' / '.join(g.evidence)}" for g in r.case.gold) or "(unanswerable)"
        lines += [f"### {r.case.id} {r.case.question}", "", f"- problem: {', '.join(problems)}", f"- gold: {gold}"]
        for hit in r.hits[:3]:
            lines.append(
                f"- returned #{hit['rank']} `{hit['source']}` [{hit['start']}:{hit['end']}]: {_clip(hit['text'])}"
            )
        if r.answer is not None:
            lines.append(f"- answer: {_clip(r.answer['answer'], 160)}")
        lines.append("")
    return lines or ["None."]


def _case_row(r: CaseResult) -> dict:
    row = {
        "id": r.case.id,
        "question": r.case.question,
        "answerable": r.case.answerable,
        "first_relevant_rank": next((i + 1 for i, rel in enumerate(r.relevant) if rel), None),
        "top_hits": [f"{h['source']}[{h['start']}:{h['end']}]" for h in r.hits[:5]],
        "search_ms": round(r.search_ms, 2),
    }
    if r.answer is not None:
        row |= {"answered": r.answer["answerable"], "answer": r.answer["answer"], "ask_ms": round(r.ask_ms, 2),
                "citations_supporting": r.citation_support, "citations_exact": r.citation_exact}  # fmt: skip
    return row


def _charts(out: Path, report: dict, results: dict[str, list[CaseResult]]) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    modes = list(report["metrics"])
    ks = ["hit_at_1", "hit_at_3", "hit_at_5", "mrr_at_10"]
    width = 0.8 / len(modes)
    for i, mode in enumerate(modes):
        left.bar([x + i * width for x in range(len(ks))], [report["metrics"][mode][k] for k in ks], width, label=mode)
    left.set_xticks([x + width * (len(modes) - 1) / 2 for x in range(len(ks))], ks)
    left.set_ylim(0, 1.05)
    left.set_title("retrieval quality by mode")
    left.legend(loc="lower right")
    for mode in modes:
        right.hist([r.search_ms for r in results[mode]], bins=30, alpha=0.6, label=f"search ({mode})")
    primary = report["primary_mode"]
    right.hist([r.ask_ms for r in results[primary] if r.answer], bins=30, alpha=0.6, label=f"ask ({primary})")
    right.set_xlabel("latency (ms, client side)")
    right.set_title("latency distribution")
    right.legend()
    figure.suptitle(report["dataset"])
    figure.tight_layout()
    path = out / "charts.png"
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return [path]


def _clip(text: str, size: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= size else text[:size] + "…"
