"""Runs evaluation cases through the HTTP API, in-process (ASGI) or against a running server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from eval import metrics
from eval.dataset import EvalCase, match_normalize, supports_any

if TYPE_CHECKING:
    from service.config import Settings

SEARCH_DEPTH = 10  # MRR@10 and nDCG@10 need ten ranked passages


class Client(Protocol):
    """What the runner needs of an HTTP client: httpx's, or Starlette's TestClient (an httpx2 client)."""

    def post(self, url: str, *, json: Any = None) -> Any: ...
    def get(self, url: str) -> Any: ...


@dataclass
class CaseResult:
    case: EvalCase
    mode: str
    hits: list[dict[str, Any]]
    relevant: list[bool]
    search_ms: float
    answer: dict[str, Any] | None = None
    ask_ms: float = 0.0
    citation_support: list[bool] = field(default_factory=list)
    citation_exact: list[bool] = field(default_factory=list)

    @property
    def declined(self) -> bool:
        return self.answer is not None and not self.answer["answerable"]

    @property
    def decision_correct(self) -> bool:
        return self.answer is not None and self.answer["answerable"] == self.case.answerable

    def evidence_recall(self) -> float:
        evidence = [e for g in self.case.gold for e in g.evidence]
        if not evidence or self.answer is None:
            return 0.0
        answer = match_normalize(self.answer["answer"])
        return sum(match_normalize(e) in answer for e in evidence) / len(evidence)


@contextmanager
def in_process_client(settings: Settings) -> Iterator[Client]:
    """The real app, lifespan included, called through ASGI without a socket."""
    from fastapi.testclient import TestClient

    from service.app import create_app

    with TestClient(create_app(settings)) as client:
        yield client


@contextmanager
def http_client(url: str) -> Iterator[Client]:
    with httpx.Client(base_url=url.rstrip("/"), timeout=60) as client:
        yield client


def run_cases(client: Client, cases: list[EvalCase], mode: str, *, ask: bool, ask_top_k: int = 5) -> list[CaseResult]:
    documents = _DocumentCache(client)
    results = []
    # "rerank" is the hybrid search with the learned reranker ("rerank": true); /v1/ask reranks by default.
    retrieval = {"mode": "hybrid", "rerank": True} if mode == "rerank" else {"mode": mode}
    for case in cases:
        started = time.perf_counter()
        response = _ok(client.post("/v1/search", json={"query": case.question, "top_k": SEARCH_DEPTH, **retrieval}))
        search_ms = (time.perf_counter() - started) * 1000
        hits = response["hits"]
        relevant = [supports_any(case, h["source"], h["text"]) for h in hits]
        result = CaseResult(case, mode, hits, relevant, search_ms)
        if ask:
            started = time.perf_counter()
            result.answer = _ok(
                client.post("/v1/ask", json={"question": case.question, "top_k": ask_top_k, "mode": retrieval["mode"]})
            )
            result.ask_ms = (time.perf_counter() - started) * 1000
            for citation in result.answer["citations"]:
                result.citation_support.append(supports_any(case, citation["source"], citation["quote"]))
                text = documents.text(citation["source"])
                result.citation_exact.append(text[citation["start"] : citation["end"]] == citation["quote"])
        results.append(result)
    return results


def summarize(results: list[CaseResult]) -> dict[str, float]:
    """Every EVAL.md metric over one mode's results."""
    answerable = [r for r in results if r.case.answerable]
    summary = {
        "questions": float(len(results)),
        "answerable": float(len(answerable)),
        **{f"hit_at_{k}": metrics.mean([metrics.hit_at_k(r.relevant, k) for r in answerable]) for k in (1, 3, 5)},
        "mrr_at_10": metrics.mean([metrics.reciprocal_rank(r.relevant, 10) for r in answerable]),
        "ndcg_at_10": metrics.mean([metrics.ndcg_at_k(r.relevant, 10) for r in answerable]),
        "latency_p50_ms": metrics.percentile([r.search_ms for r in results], 50),
        "latency_p95_ms": metrics.percentile([r.search_ms for r in results], 95),
    }
    asked = [r for r in results if r.answer is not None]
    if asked:
        support = [s for r in answerable if r.answer for s in r.citation_support]
        exact = [e for r in asked for e in r.citation_exact]
        unanswerable = [r for r in asked if not r.case.answerable]
        summary |= {
            "citation_precision": metrics.mean([float(s) for s in support]),
            "citation_exactness": metrics.mean([float(e) for e in exact]) if exact else 1.0,
            "answer_evidence_recall": metrics.mean([r.evidence_recall() for r in answerable if r.answer]),
            "no_answer_accuracy": metrics.mean([float(r.decision_correct) for r in asked]),
            "answered_when_answerable": metrics.mean([float(not r.declined) for r in answerable if r.answer]),
            "ask_latency_p50_ms": metrics.percentile([r.ask_ms for r in asked], 50),
            "ask_latency_p95_ms": metrics.percentile([r.ask_ms for r in asked], 95),
        }
        if unanswerable:  # a set without unanswerable questions has no decline rate, not a zero one
            summary["declined_when_unanswerable"] = metrics.mean([float(r.declined) for r in unanswerable])
    return summary


class _DocumentCache:
    def __init__(self, client: Client) -> None:
        self._client = client
        self._texts: dict[str, str] = {}

    def text(self, source: str) -> str:
        if source not in self._texts:
            self._texts[source] = _ok(self._client.get(f"/v1/documents/{source}"))["text"]
        return self._texts[source]


def _ok(response: httpx.Response) -> dict[str, Any]:
    if response.status_code != 200:
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text[:200]}"
        )
    return response.json()
