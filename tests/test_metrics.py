"""EVAL.md metrics and matching, on hand-computed examples."""

import math

import pytest

from eval import metrics
from eval.dataset import EvalCase, Gold, load_cases, match_normalize, supports, supports_any
from tests.conftest import REPORTS, ROOT


def test_hit_at_k_and_reciprocal_rank() -> None:
    relevant = [False, False, True, False, True]
    assert metrics.hit_at_k(relevant, 1) == 0.0 and metrics.hit_at_k(relevant, 3) == 1.0
    assert metrics.reciprocal_rank(relevant) == pytest.approx(1 / 3)
    assert metrics.reciprocal_rank([False] * 10 + [True]) == 0.0, "only the top 10 count"


def test_ndcg_uses_relevant_passages_found_in_the_top_k_as_ideal() -> None:
    relevant = [False, True, False, True]
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    ideal = 1 / math.log2(2) + 1 / math.log2(3)
    assert metrics.ndcg_at_k(relevant) == pytest.approx(dcg / ideal)
    assert metrics.ndcg_at_k([True, True]) == 1.0 and metrics.ndcg_at_k([False] * 5) == 0.0


def test_percentile_interpolates() -> None:
    assert metrics.percentile([1, 2, 3, 4], 50) == 2.5
    assert metrics.percentile([5], 95) == 5 and metrics.percentile([], 50) == 0.0


def test_matching_normalisation_follows_eval_md() -> None:
    assert match_normalize("學(xué)習(xí) 機構\n編制") == "学习机构编制"
    assert match_normalize("（试行）　ＡＢ") == "(试行)AB"


def test_a_traditional_passage_supports_simplified_evidence() -> None:
    gold = Gold("000.txt", ("研究出台了",))
    assert supports(gold, "000.txt", "2019年以來研究出臺(tái)了《中共肥東縣委")
    assert not supports(gold, "001.txt", "研究出台了")
    assert supports(Gold("000.txt", ()), "000.txt", "anything"), "empty evidence: any passage of the source"


def test_supports_any_gold_entry() -> None:
    case = EvalCase("q", "?", True, (Gold("a.txt", ("甲",)), Gold("b.txt", ("乙",))))
    assert supports_any(case, "b.txt", "有乙") and not supports_any(case, "a.txt", "有乙")


def test_every_dev_evidence_string_occurs_in_its_source() -> None:
    cases = load_cases(ROOT / "eval" / "datasets" / "dev_reports.jsonl")
    texts = {p.name: match_normalize(p.read_text(encoding="utf-8")) for p in REPORTS.iterdir()}
    assert len(cases) >= 60 and sum(not c.answerable for c in cases) >= 10
    assert {g.source for c in cases for g in c.gold} == set(texts), "every report is covered"
    for case in cases:
        for gold in case.gold:
            for evidence in gold.evidence:
                assert match_normalize(evidence) in texts[gold.source], (case.id, evidence)


def test_bad_dataset_lines_are_reported_with_their_line_number(tmp_path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a", "question": "q", "answerable": true, "gold": []}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="bad.jsonl:1: an answerable case needs"):
        load_cases(path)


GOV_DOCS = ROOT.parent / "shared" / "extdata" / "gov_docs"


@pytest.mark.skipif(not GOV_DOCS.is_dir(), reason="../shared/extdata/gov_docs is not beside the repository")
def test_every_policy_evidence_string_occurs_in_its_source() -> None:
    cases = load_cases(ROOT / "eval" / "datasets" / "dev_policy.jsonl")
    answerable = [c for c in cases if c.answerable]
    assert len(cases) >= 150 and 0.12 <= 1 - len(answerable) / len(cases) <= 0.18
    sources = {g.source for c in answerable for g in c.gold}
    assert len(sources) >= 60
    texts = {s: match_normalize((GOV_DOCS / s).read_text(encoding="utf-8")) for s in sources}
    for case in answerable:
        for gold in case.gold:
            assert gold.evidence, case.id
            for evidence in gold.evidence:
                assert match_normalize(evidence) in texts[gold.source], (case.id, evidence)
