"""Service settings: the retrieval and answering settings plus serving and access knobs, all RAGQA_* variables."""

from __future__ import annotations

import ipaddress
import os
from typing import Annotated

from pydantic import Field, field_validator, model_validator
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
    # Access: with api_keys set, every /v1 call needs "Authorization: Bearer <key>". Writes (uploads,
    # deletions, reindexing) are closed by default: they need one of admin_api_keys, or open_writes,
    # which only a service listening on loopback may set (`make run` does).
    api_keys: CommaList = []
    admin_api_keys: CommaList = []
    open_writes: bool = False
    rate_limit: int = Field(0, ge=0)  # requests per minute per API key (or client IP); 0: unlimited
    auth_failures_per_minute: int = Field(30, ge=1)  # failed authentications per client IP before 429
    # The service's address as users reach it (behind a proxy, say), for the links in chat citations;
    # unset: the request's own base URL.
    public_url: str | None = None
    # Proxies whose X-Forwarded-For names the client (uvicorn's forwarded_allow_ips): behind a gateway, per-IP
    # limits and logs see the real client. "*" only where nothing but the gateway reaches the service.
    forwarded_allow_ips: str = "127.0.0.1"
    cors_origins: CommaList = []  # browser origins allowed to call the API, e.g. https://chat.example.org
    access_log: bool = False  # uvicorn's per-request line; the service logs each search and ask itself
    max_body_bytes: int = Field(1 << 20, ge=1024)  # JSON request bodies
    max_upload_bytes: int = Field(20 << 20, ge=1024)  # uploaded documents
    max_header_bytes: int = Field(32 << 10, ge=1024)  # all request headers together (431 above)
    # Set by `python -m service` (for every worker) when its start-up build failed and the previous index is served.
    build_failure: str | None = None

    @model_validator(mode="after")
    def _cores_shared_by_workers(self) -> Settings:
        """Worker processes split the cores: each embeds queries on its share, never all of them (two
        workers with two ONNX threads each on two cores gave less throughput at concurrency 8 than one
        request at a time)."""
        if self.workers > 1 and self.embedding_threads == 0:
            self.embedding_threads = max(1, (os.cpu_count() or 1) // self.workers)
        return self

    @model_validator(mode="after")
    def _open_writes_only_on_loopback(self) -> Settings:
        if self.open_writes and not self.admin_api_keys and not _is_loopback(self.host):
            raise ValueError(
                f"RAGQA_OPEN_WRITES opens uploads and deletions to anyone who can reach {self.host}; "
                "set RAGQA_ADMIN_API_KEYS instead (open writes are for a loopback-only service)"
            )
        return self

    @property
    def writes(self) -> str:
        """How writes are guarded, for the start-up log."""
        if self.admin_api_keys:
            return "writes need an admin key"
        return "writes are open (loopback only)" if self.open_writes else "writes are closed (no admin key configured)"

    @field_validator("api_keys", "admin_api_keys", "cors_origins", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
