"""python -m eval run: writes report.json, report.md and a chart for a small dataset."""

import json
from pathlib import Path

from eval.__main__ import _settings_summary, main
from qa.settings import QASettings
from tests.conftest import MODEL, REPORTS


def test_eval_run_writes_the_report_files(tmp_path, monkeypatch) -> None:
    dataset = tmp_path / "mini.jsonl"
    rows = [
        {"id": "a", "question": "东阿县开展了几次双随机抽查？", "answerable": True,
         "gold": [{"source": "001_5545cfdd99bf609a.txt", "evidence": ["共开展双随机7次"]}]},
        {"id": "b", "question": "如何办理护照？", "answerable": False, "gold": []},
    ]  # fmt: skip
    dataset.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    monkeypatch.setenv("RAGQA_EMBEDDING_MODEL", str(MODEL))
    out = tmp_path / "out"
    args = ["run", "--dataset", str(dataset), "--corpus", str(REPORTS), "--index", str(tmp_path / "index")]
    assert main([*args, "--out", str(out), "--modes", "hybrid,lexical"]) == 0
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert set(report["metrics"]) == {"hybrid", "lexical"}
    hybrid = report["metrics"]["hybrid"]
    assert hybrid["hit_at_1"] == 1.0 and hybrid["no_answer_accuracy"] == 1.0 and hybrid["citation_exactness"] == 1.0
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert "| hybrid |" in markdown and "## Failed questions (hybrid)" in markdown
    assert (out / "charts.png").read_bytes().startswith(b"\x89PNG")


def test_eval_run_rejects_an_unknown_mode(tmp_path) -> None:
    dataset = tmp_path / "d.jsonl"
    dataset.write_text('{"id": "n", "question": "q", "answerable": false, "gold": []}\n', encoding="utf-8")
    assert main(["run", "--dataset", str(dataset), "--modes", "fuzzy", "--out", str(tmp_path)]) == 2


def test_eval_stages_tables_each_stage_with_its_cost(tmp_path, monkeypatch) -> None:
    dataset = tmp_path / "mini.jsonl"
    row = {"id": "a", "question": "东阿县开展了几次双随机抽查？", "answerable": True,
           "gold": [{"source": "001_5545cfdd99bf609a.txt", "evidence": ["共开展双随机7次"]}]}  # fmt: skip
    dataset.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    monkeypatch.setenv("RAGQA_EMBEDDING_MODEL", str(MODEL))
    out = tmp_path / "out"
    assert main(["stages", "--set", f"mini:{dataset}:{REPORTS}:{tmp_path / 'index'}", "--out", str(out)]) == 0
    stages = json.loads((out / "stages.json").read_text(encoding="utf-8"))
    labels = ["BM25 alone", "dense alone", "hybrid fusion", "hybrid + reranker", "+ cross-encoder"]
    assert [r[1] for r in stages["rows"]] == labels
    latency = stages["columns"].index("latency_p50_ms")
    assert all(r[0] == "mini" and r[latency] > 0 for r in stages["rows"])
    assert "| mini | + cross-encoder |" in (out / "stages.md").read_text(encoding="utf-8")


def test_a_report_names_the_answer_sentences_cross_encoder_only_when_answers_use_it() -> None:
    assert "cross_encoder_sentences" not in _settings_summary(QASettings(), {})
    used = _settings_summary(QASettings(cross_encoder_sentences=8, cross_encoder_sentence_model=Path("m")), {})
    assert (used["cross_encoder_sentences"], used["cross_encoder_sentence_model"]) == (8, "m")
    passages = _settings_summary(QASettings(cross_encoder_sentences=8), {})
    assert passages["cross_encoder_sentence_model"] == "the passage model"
