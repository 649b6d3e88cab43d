"""HTTP routes of the v1 contract: thin handlers that delegate to the answerer and the index."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse

from indexer.datatypes import Hit
from service.deps import AnswererDep, StateDep
from service.errors import InvalidRequest, NotFound, error_body
from service.schemas import (
    AskRequest,
    AskResponse,
    CitationOut,
    DocumentList,
    DocumentOut,
    DocumentSummary,
    Health,
    HitOut,
    Readiness,
    ReindexResponse,
    SearchRequest,
    SearchResponse,
)

logger = logging.getLogger(__name__)
router = APIRouter()


_PAGE = Path(__file__).with_name("static") / "index.html"


@router.get("/", include_in_schema=False)
def page() -> FileResponse:
    """The question-answering web page: plain HTML and JavaScript, no build step, no CDN."""
    return FileResponse(_PAGE, media_type="text/html; charset=utf-8")


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, responses={503: {"description": "no index loaded"}})
def readyz(state: StateDep):
    if state.answerer is None:
        return JSONResponse(error_body("index_unavailable", state.load_error or "no index loaded"), status_code=503)
    store = state.answerer.retriever.store
    return Readiness(
        status="ready", documents=len(store.documents), chunks=len(store.chunks), index_version=store.version
    )


@router.post("/v1/search", response_model=SearchResponse)
def search(request: SearchRequest, answerer: AnswererDep) -> SearchResponse:
    started = time.perf_counter()
    _check_sources(request.sources, answerer)
    hits = answerer.retriever.search(request.query, request.top_k, request.mode, request.sources)
    took = _elapsed_ms(started)
    logger.info("search top_k=%d mode=%s hits=%d latency_ms=%.1f", request.top_k, request.mode, len(hits), took)
    return SearchResponse(query=request.query, hits=_hits_out(hits), took_ms=took)


@router.post("/v1/ask", response_model=AskResponse)
def ask(request: AskRequest, answerer: AnswererDep) -> AskResponse:
    started = time.perf_counter()
    _check_sources(request.sources, answerer)
    answer = answerer.answer(request.question, request.top_k, request.mode, request.sources)
    took = _elapsed_ms(started)
    logger.info("ask top_k=%d answerable=%s latency_ms=%.1f", request.top_k, answer.answerable, took)
    return AskResponse(
        question=request.question,
        answerable=answer.answerable,
        answer=answer.text,
        citations=[CitationOut(**_fields(c)) for c in answer.citations],
        passages=_hits_out(answer.passages),
        mode=answer.mode,
        took_ms=took,
    )


@router.get("/v1/documents", response_model=DocumentList)
def list_documents(answerer: AnswererDep) -> DocumentList:
    store = answerer.retriever.store
    counts = answerer.retriever.chunk_counts()
    return DocumentList(
        documents=[
            DocumentSummary(
                source=d.source, title=d.title, chars=len(d.text), chunks=counts.get(d.source, 0), sha256=d.sha256
            )
            for d in store.documents.values()
        ]
    )


@router.get("/v1/documents/{source:path}", response_model=DocumentOut)
def get_document(source: str, answerer: AnswererDep) -> DocumentOut:
    # Documents are served from the loaded index, never from the file system: no path can escape.
    if ".." in source.split("/") or source.startswith("/") or "\\" in source:
        raise InvalidRequest("source must be a path inside the corpus")
    document = answerer.retriever.store.documents.get(source)
    if document is None:
        raise NotFound(f"unknown source: {source}")
    return DocumentOut(source=document.source, title=document.title, text=document.text)


@router.post("/v1/admin/reindex", response_model=ReindexResponse)
async def reindex(state: StateDep) -> ReindexResponse:
    report = await run_in_threadpool(state.reindex)
    return ReindexResponse(
        index_version=report.index_version,
        summary=report.summary(),
        added=report.added,
        changed=report.changed,
        removed=report.removed,
        chunks_embedded=report.chunks_embedded,
        chunks_reused=report.chunks_reused,
    )


def _check_sources(sources: list[str] | None, answerer) -> None:
    if sources is None:
        return
    unknown = [s for s in sources if s not in answerer.retriever.sources]
    if unknown:
        raise InvalidRequest(f"unknown source(s): {', '.join(unknown[:5])}")


def _hits_out(hits: list[Hit]) -> list[HitOut]:
    return [
        HitOut(
            rank=rank,
            score=round(hit.score, 6),
            chunk_id=hit.chunk.chunk_id,
            source=hit.chunk.source,
            title=hit.chunk.title,
            section=hit.chunk.section,
            text=hit.chunk.text,
            start=hit.chunk.start,
            end=hit.chunk.end,
        )
        for rank, hit in enumerate(hits, start=1)
    ]


def _fields(obj) -> dict:
    return {name: getattr(obj, name) for name in obj.__slots__}


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
