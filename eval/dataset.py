"""Evaluation cases in the EVAL.md JSONL format, and the matching normalisation it defines."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from indexer.normalize import strip_pinyin
from indexer.script import to_simplified

_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Gold:
    source: str
    evidence: tuple[str, ...]  # empty: any passage of the source supports it


@dataclass(frozen=True, slots=True)
class EvalCase:
    id: str
    question: str
    answerable: bool
    gold: tuple[Gold, ...]
    meta: dict = field(default_factory=dict)  # extra fields such as "type"


def load_cases(path: Path) -> list[EvalCase]:
    """Read and validate a dataset; raises ValueError naming the line of the first problem."""
    cases, seen = [], set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            case = _parse(json.loads(line))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{number}: {exc}") from exc
        if case.id in seen:
            raise ValueError(f"{path}:{number}: duplicate id {case.id}")
        seen.add(case.id)
        cases.append(case)
    if not cases:
        raise ValueError(f"{path} holds no cases")
    return cases


def match_normalize(text: str) -> str:
    """EVAL.md: t2s, pinyin annotations removed, NFKC, all whitespace removed."""
    text = to_simplified(strip_pinyin(text))
    return _WHITESPACE.sub("", unicodedata.normalize("NFKC", text))


def supports(gold: Gold, source: str, text: str) -> bool:
    """A passage supports a gold entry when it is from that source and holds one evidence string."""
    if source != gold.source:
        return False
    if not gold.evidence:
        return True
    normalized = match_normalize(text)
    return any(match_normalize(e) in normalized for e in gold.evidence)


def supports_any(case: EvalCase, source: str, text: str) -> bool:
    return any(supports(g, source, text) for g in case.gold)


def _parse(row: dict) -> EvalCase:
    question = row["question"]
    if not isinstance(question, str) or not question.strip():
        raise ValueError("question must be a non-empty string")
    answerable = row["answerable"]
    if not isinstance(answerable, bool):
        raise ValueError("answerable must be true or false")
    gold = tuple(Gold(g["source"], tuple(g.get("evidence", []))) for g in row.get("gold", []))
    if answerable and not gold:
        raise ValueError("an answerable case needs at least one gold entry")
    meta = {k: v for k, v in row.items() if k not in {"id", "question", "answerable", "gold"}}
    return EvalCase(str(row["id"]), question, answerable, gold, meta)
