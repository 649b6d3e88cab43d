"""Access control for /v1: API keys, admin keys for writes, per-client rate limits, body size limits."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.config import Settings
from service.errors import Forbidden, RateLimited, Unauthorized, error_body

_BEARER = "bearer "


async def authorize(request: Request) -> None:
    """Dependency of every /v1 route: a valid key when keys are configured, then the rate limit."""
    settings: Settings = request.app.state.settings
    key = _presented_key(request)
    if settings.api_keys:  # admin keys alone protect only the write routes
        if key is None:
            raise Unauthorized("an API key is required: Authorization: Bearer <key>", {"WWW-Authenticate": "Bearer"})
        if not _matches(key, [*settings.api_keys, *settings.admin_api_keys]):
            raise Unauthorized("the API key is not valid", {"WWW-Authenticate": "Bearer"})
    # Keys are never logged or stored: a client is known by a digest of its key, else its address.
    client = f"key:{_digest(key)}" if key else f"ip:{request.client.host if request.client else 'unknown'}"
    limiter: RateLimiter | None = request.app.state.rate_limiter
    if limiter is not None:
        wait = limiter.acquire(client)
        if wait > 0:
            raise RateLimited(f"rate limit of {limiter.per_minute} requests per minute exceeded",
                              {"Retry-After": str(max(1, round(wait)))})  # fmt: skip


async def require_admin(request: Request) -> None:
    """Dependency of write routes (upload, delete, reindex): an admin key, unless writes were opened."""
    settings: Settings = request.app.state.settings
    if not settings.admin_api_keys:
        if settings.open_writes:
            return
        raise Forbidden(
            "writes are closed on this server: the operator configures RAGQA_ADMIN_API_KEYS (and you present one), "
            "or sets RAGQA_OPEN_WRITES=true on a service listening on loopback only"
        )
    key = _presented_key(request)
    if key is None or not _matches(key, [*settings.api_keys, *settings.admin_api_keys]):
        raise Unauthorized("an admin API key is required", {"WWW-Authenticate": "Bearer"})
    if not _matches(key, settings.admin_api_keys):
        raise Forbidden("this API key may not change documents or the index")


class RateLimiter:
    """A token bucket per client: `per_minute` requests a minute, in bursts of up to that many."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._rate = per_minute / 60.0
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, last refill)
        self._lock = threading.Lock()

    def acquire(self, client: str) -> float:
        """0 when the request may go ahead, else the seconds until a token is available."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(client, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - last) * self._rate)
            if tokens >= 1.0:
                self._buckets[client] = (tokens - 1.0, now)
                return 0.0
            self._buckets[client] = (tokens, now)
            return (1.0 - tokens) / self._rate


class BodyLimit:
    """ASGI middleware: request bodies over the limit get 413 before the app parses them.

    A declared Content-Length is checked up front; a chunked body (no length) is read here up to
    the limit and handed on whole. Document uploads have their own, larger limit.
    """

    def __init__(self, app: ASGIApp, *, max_body: int, max_upload: int) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = scope["method"] == "POST" and scope["path"].rstrip("/") == "/v1/documents"
        limit = self.max_upload if upload else self.max_body
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit() or int(declared) > limit:
                await _reject(send, limit)
                return
            await self.app(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body += message.get("body", b"")
            if len(body) > limit:
                await _reject(send, limit)
                return
            if not message.get("more_body", False):
                break
        whole: list[Message] = [{"type": "http.request", "body": bytes(body), "more_body": False}]

        async def replay() -> Message:
            return whole.pop() if whole else await receive()

        await self.app(scope, replay, send)


async def _reject(send: Send, limit: int) -> None:
    body = json.dumps(error_body("payload_too_large", f"request body larger than {limit} bytes")).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"connection", b"close")]  # fmt: skip
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _presented_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header[: len(_BEARER)].lower() != _BEARER:
        return None
    return header[len(_BEARER) :].strip() or None


def _matches(key: str, keys: list[str]) -> bool:
    # Constant-time comparison against every configured key: timing tells nothing about them.
    found = False
    for candidate in keys:
        found |= hmac.compare_digest(key.encode(), candidate.encode())
    return found


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:12]
