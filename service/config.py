"""Service settings: the retrieval and answering settings plus serving and access knobs, all RAGQA_* variables."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from qa.settings import QASettings

CommaList = Annotated[list[str], NoDecode]  # RAGQA_API_KEYS=a,b,c rather than a JSON array


class Settings(QASettings):
    """Everything the service reads: the index, retrieval and answering settings, then serving and access."""

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    log_level: str = "INFO"
    workers: int = Field(1, ge=1, le=64)  # uvicorn worker processes; they share the memory-mapped vectors
    build_on_start: bool = True  # `python -m service` builds a missing or stale index first
    reload_interval: float = Field(2.0, ge=0.0)  # seconds between checks for a new index version; 0: never
    # Access: with api_keys set, every /v1 call needs "Authorization: Bearer <key>"; with admin_api_keys
    # set too, uploads, deletions and reindexing need one of those.
    api_keys: CommaList = []
    admin_api_keys: CommaList = []
    rate_limit: int = Field(0, ge=0)  # requests per minute per API key (or client IP); 0: unlimited
    cors_origins: CommaList = []  # browser origins allowed to call the API, e.g. https://chat.example.org
    access_log: bool = False  # uvicorn's per-request line; the service logs each search and ask itself
    max_body_bytes: int = Field(1 << 20, ge=1024)  # JSON request bodies
    max_upload_bytes: int = Field(20 << 20, ge=1024)  # uploaded documents
    # Set by `python -m service` (for every worker) when its start-up build failed and the previous index is served.
    build_failure: str | None = None

    @field_validator("api_keys", "admin_api_keys", "cors_origins", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value
