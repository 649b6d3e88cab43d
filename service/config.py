"""Service settings: the index settings plus serving and answering knobs, all RAGQA_* variables."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from indexer.settings import IndexSettings

CommaList = Annotated[list[str], NoDecode]  # RAGQA_API_KEYS=a,b,c rather than a JSON array


class Settings(IndexSettings):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    log_level: str = "INFO"
    workers: int = Field(1, ge=1, le=64)  # uvicorn worker processes; they share the memory-mapped vectors
    build_on_start: bool = True  # `python -m service` builds a missing or stale index first
    reload_interval: float = Field(2.0, ge=0.0)  # seconds between checks for a new index version; 0: never
    # Hybrid fusion: weight of the min-max normalised dense score against the lexical one.
    dense_weight: float = Field(0.3, ge=0.0, le=1.0)
    candidates: int = Field(100, ge=10, le=2000)  # per retriever, before fusion
    query_cache: int = Field(2048, ge=0, le=1_000_000)  # query embeddings kept (LRU); 0 turns the cache off
    query_batch: int = Field(32, ge=0, le=1024)  # concurrent query embeddings batched together; 0: no batching
    # Refusal: the best passage must cover this share of the question (calibrated on the dev set).
    answer_threshold: float = Field(0.45, ge=0.0, le=1.0)
    # Optional upstream model (any OpenAI-compatible server); unset: extractive answers only.
    llm_base_url: str | None = None  # e.g. http://127.0.0.1:11434/v1 (Ollama) or a vLLM server
    llm_model: str = ""
    llm_api_key: SecretStr | None = None
    llm_timeout: float = Field(20.0, gt=0, le=600)
    answer_sentences: int = Field(2, ge=1, le=10)  # 2: best citation precision for equal recall (dev set)
    # Access: with api_keys set, every /v1 call needs "Authorization: Bearer <key>"; with admin_api_keys
    # set too, uploads, deletions and reindexing need one of those.
    api_keys: CommaList = []
    admin_api_keys: CommaList = []
    rate_limit: int = Field(0, ge=0)  # requests per minute per API key (or client IP); 0: unlimited
    cors_origins: CommaList = []  # browser origins allowed to call the API, e.g. https://chat.example.org
    access_log: bool = False  # uvicorn's per-request line; the service logs each search and ask itself
    max_body_bytes: int = Field(1 << 20, ge=1024)  # JSON request bodies
    max_upload_bytes: int = Field(20 << 20, ge=1024)  # uploaded documents

    @field_validator("api_keys", "admin_api_keys", "cors_origins", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value
