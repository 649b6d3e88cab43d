"""Wire models of the v1 HTTP contract (docs/API.md)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError

Mode = Literal["hybrid", "dense", "lexical"]
MAX_QUERY_CHARS = 1000
MAX_SOURCES = 500
INVALID_UNICODE = "invalid_unicode"  # the validation error type that makes a request 400 rather than 422
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def valid_unicode(value: str) -> str:
    """A JSON string may escape a lone surrogate ("\\ud800"), which no UTF-8 text can hold: refused."""
    if _SURROGATE.search(value):
        raise PydanticCustomError(INVALID_UNICODE, "must be valid Unicode text (a lone surrogate was sent)")
    return value


Text = Annotated[str, AfterValidator(valid_unicode)]


def _distinct_sources(value: list[str] | None) -> list[str] | None:
    return None if value is None else list(dict.fromkeys(value))


Sources = Annotated[
    list[Text] | None,
    Field(None, max_length=MAX_SOURCES, description="only search these documents"),
    AfterValidator(_distinct_sources),
]


def _trimmed_query(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    if len(value) > MAX_QUERY_CHARS:
        raise ValueError(f"must be at most {MAX_QUERY_CHARS} characters")
    return value


class SearchRequest(BaseModel):
    query: Text = Field(description="1..1000 characters after trimming")
    top_k: int = Field(5, ge=1, le=50)
    mode: Mode = "hybrid"
    sources: Sources = None
    rerank: bool = Field(False, description="reorder the top hybrid candidates with the learned reranker")

    _check_query = field_validator("query")(_trimmed_query)


class AskRequest(BaseModel):
    question: Text = Field(description="1..1000 characters after trimming")
    top_k: int = Field(5, ge=1, le=50)
    mode: Mode = "hybrid"
    sources: Sources = None

    _check_question = field_validator("question")(_trimmed_query)


class HitOut(BaseModel):
    rank: int
    score: float
    chunk_id: str
    source: str
    title: str
    section: str
    text: str
    start: int
    end: int


class SearchResponse(BaseModel):
    query: str
    hits: list[HitOut]
    took_ms: float


class CitationOut(BaseModel):
    id: int
    source: str
    chunk_id: str
    start: int
    end: int
    quote: str


class AskResponse(BaseModel):
    question: str
    answerable: bool
    answer: str
    citations: list[CitationOut]
    passages: list[HitOut]
    mode: Literal["extractive", "llm"]
    took_ms: float


class DocumentSummary(BaseModel):
    source: str
    title: str
    chars: int
    chunks: int
    sha256: str


class DocumentList(BaseModel):
    documents: list[DocumentSummary]


class DocumentOut(BaseModel):
    source: str
    title: str
    text: str


class Access(BaseModel):
    writes: bool  # uploads, deletions and reindexing are allowed for this key


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    documents: int
    chunks: int
    index_version: str
    degraded: str | None = Field(
        None, description="only when the last build failed: why the index served is not the corpus's latest (extension)"
    )


class ReindexResponse(BaseModel):
    index_version: str
    summary: str
    added: list[str]
    changed: list[str]
    removed: list[str]
    chunks_embedded: int
    chunks_reused: int


class DocumentChangeOut(BaseModel):
    source: str
    sha256: str
    status: Literal["added", "replaced", "deleted"]
    index_version: str
    documents: int  # documents in the index after the change
    chunks_embedded: int
