"""HTTP routes of the v1 contract: thin handlers that delegate to the loaded index and the index manager."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.datastructures import UploadFile as StarletteUploadFile

from indexer.datatypes import Hit
from qa.errors import InvalidInput
from qa.loaded import LoadedIndex
from qa.manager import DocumentChange
from service.deps import IndexDep, ManagerDep, SettingsDep
from service.errors import InvalidRequest, PayloadTooLarge, error_body
from service.schemas import (
    Access,
    AskRequest,
    AskResponse,
    CitationOut,
    DocumentChangeOut,
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
from service.security import authorize, may_write, require_admin

logger = logging.getLogger(__name__)
public_router = APIRouter()  # the page and the probes: open even when API keys are configured
router = APIRouter(dependencies=[Depends(authorize)])
_ADMIN = [Depends(require_admin)]


_PAGE = Path(__file__).with_name("static") / "index.html"


@public_router.get("/", include_in_schema=False)
def page() -> FileResponse:
    """The question-answering web page: plain HTML and JavaScript, no build step, no CDN."""
    return FileResponse(_PAGE, media_type="text/html; charset=utf-8")


_FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#b3261e"/>'
    '<text x="16" y="23" font-size="20" text-anchor="middle" fill="#fff" font-family="sans-serif">问</text></svg>'
)


@public_router.get("/favicon.ico", include_in_schema=False)
def favicon() -> Response:
    return Response(_FAVICON, media_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"})


@public_router.get("/healthz", response_model=Health)
def healthz() -> Health:
    return Health(status="ok")


@public_router.get(
    "/readyz", response_model=Readiness, response_model_exclude_none=True,
    responses={503: {"description": "no index loaded"}},
)  # fmt: skip
def readyz(manager: ManagerDep):
    index = manager.current
    if index is None:
        return JSONResponse(error_body("index_unavailable", manager.load_error or "no index loaded"), status_code=503)
    return Readiness(
        status="ready", documents=len(index.documents), chunks=index.chunks, index_version=index.version,
        degraded=manager.degraded,
    )  # fmt: skip


@router.post("/v1/search", response_model=SearchResponse)
async def search(request: SearchRequest, index: IndexDep) -> SearchResponse:
    # A short query runs on the event loop: a search is CPU-bound and short (a cached query costs
    # 0.3 ms, a new one a ~2 ms embedding), the GIL serialises it anyway, and the hop to a worker
    # thread and back cost more than the search itself (docs/performance.md). A long one (up to
    # 1,000 characters: ~50 ms of segmenting and embedding) goes to the thread pool, so that it
    # never holds up other requests, health checks included.
    started = time.perf_counter()
    index.check_sources(request.sources)
    if len(request.query) > _INLINE_QUERY_CHARS:
        hits = await run_in_threadpool(_search_hits, index, request)
    else:
        hits = _search_hits(index, request)
    took = _elapsed_ms(started)
    logger.info("search top_k=%d mode=%s hits=%d latency_ms=%.1f", request.top_k, request.mode, len(hits), took)
    return SearchResponse(query=request.query, hits=_hits_out(hits), took_ms=took)


_INLINE_QUERY_CHARS = 64


def _search_hits(index: LoadedIndex, request: SearchRequest) -> list[Hit]:
    query = index.analyze(request.query)
    return index.retriever.search(query, request.top_k, request.mode, request.sources, rerank=request.rerank)


@router.post("/v1/ask", response_model=AskResponse)
def ask(request: AskRequest, index: IndexDep) -> AskResponse:
    started = time.perf_counter()
    index.check_sources(request.sources)
    answer = index.answerer.answer(index.analyze(request.question), request.top_k, request.mode, request.sources)
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


@router.get("/v1/access", response_model=Access)
def access(request: Request) -> Access:
    """What the presented key may do (extension: the page shows upload and delete only when it may write)."""
    return Access(writes=may_write(request))


@router.get("/v1/documents", response_model=DocumentList)
def list_documents(index: IndexDep) -> DocumentList:
    counts = index.chunk_counts
    return DocumentList(
        documents=[
            DocumentSummary(
                source=d.source, title=d.title, chars=len(d.text), chunks=counts.get(d.source, 0), sha256=d.sha256
            )
            for d in index.documents.values()
        ]
    )


_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            }
        },
    }
}


@router.post(
    "/v1/documents", response_model=DocumentChangeOut, status_code=201, dependencies=_ADMIN,
    openapi_extra=_UPLOAD_BODY,
    responses={400: {"description": "unsupported or unreadable file"}, 409: {"description": "duplicate content"},
               413: {"description": "file too large"}},
)  # fmt: skip
async def upload_document(request: Request, manager: ManagerDep, settings: SettingsDep) -> DocumentChangeOut:
    """Store the file in the corpus (its sanitised name is its source), then index it incrementally.

    The body is parsed here, after the admin check: a request without the right key is refused
    before any of its (up to 20 MB) body is read.
    """
    limit = settings.max_upload_bytes
    async with request.form(max_files=1, max_fields=4, max_part_size=limit + 1) as form:
        file = form.get("file")
        if not isinstance(file, StarletteUploadFile):
            raise InvalidRequest("the multipart body needs one file in the field `file`")
        data = await file.read(limit + 1)
        filename = file.filename or ""
    if len(data) > limit:
        raise PayloadTooLarge(f"the file is larger than {limit} bytes")
    change = await run_in_threadpool(manager.add_document, filename, data)
    logger.info("document %s %s (%d bytes)", change.source, change.status, len(data))
    return _change_out(change)


@router.delete("/v1/documents/{source:path}", response_model=DocumentChangeOut, dependencies=_ADMIN)
def delete_document(source: str, manager: ManagerDep) -> DocumentChangeOut:
    """Remove the file from the corpus, then its passages from the index."""
    change = manager.delete_document(source)
    logger.info("document %s deleted", change.source)
    return _change_out(change)


@router.get("/v1/documents/{source:path}", response_model=DocumentOut)
def get_document(source: str, index: IndexDep) -> DocumentOut:
    # Documents are served from the loaded index, never from the file system: no path can escape.
    if ".." in source.split("/") or source.startswith("/") or "\\" in source:
        raise InvalidInput("source must be a path inside the corpus")
    document = index.document(source)
    return DocumentOut(source=document.source, title=document.title, text=document.text)


@router.post("/v1/admin/reindex", response_model=ReindexResponse, dependencies=_ADMIN)
async def reindex(manager: ManagerDep) -> ReindexResponse:
    report = await run_in_threadpool(manager.reindex)
    return ReindexResponse(
        index_version=report.index_version,
        summary=report.summary(),
        added=report.added,
        changed=report.changed,
        removed=report.removed,
        chunks_embedded=report.chunks_embedded,
        chunks_reused=report.chunks_reused,
    )


def _change_out(change: DocumentChange) -> DocumentChangeOut:
    return DocumentChangeOut(
        source=change.source,
        sha256=change.sha256,
        status=change.status,
        index_version=change.report.index_version,
        documents=len(change.report.added) + len(change.report.changed) + len(change.report.unchanged),
        chunks_embedded=change.report.chunks_embedded,
    )


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
