"""Access control for /v1: API keys, admin keys for writes, per-client rate limits, body size limits."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import threading
import time
from collections import OrderedDict
from contextlib import suppress

from fastapi import Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.config import Settings
from service.errors import Forbidden, RateLimited, Unauthorized, error_body

logger = logging.getLogger(__name__)
_BEARER = "bearer "


async def authorize(request: Request) -> None:
    """Dependency of every /v1 route: a valid key when keys are configured, then the rate limit."""
    settings: Settings = request.app.state.settings
    key = _presented_key(request)
    address = request.client.host if request.client else "unknown"
    if settings.api_keys:  # admin keys alone protect only the write routes
        _check_key(request, key, [*settings.api_keys, *settings.admin_api_keys], address, "an API key")
    # Keys are never logged or stored: a client is known by a digest of its (valid) key, else its address;
    # with no keys configured, any bearer token is just text, and the address alone counts.
    client = f"key:{_digest(key)}" if key and settings.api_keys else f"ip:{address}"
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
    address = request.client.host if request.client else "unknown"
    _check_key(request, key, [*settings.api_keys, *settings.admin_api_keys], address, "an admin API key")
    assert key is not None
    if not _matches(key, settings.admin_api_keys):
        raise Forbidden("this API key may not change documents or the index")


def _check_key(request: Request, key: str | None, valid: list[str], address: str, needed: str) -> None:
    """Unauthorized unless `key` is one of `valid`; failures are counted per address (429 past the limit)
    and logged with the key's digest, never the key."""
    failures: RateLimiter = request.app.state.auth_failures
    if failures.exhausted(f"ip:{address}"):
        raise RateLimited("too many failed authentications from this address; try again later",
                          {"Retry-After": str(max(1, round(failures.wait(f"ip:{address}"))))})  # fmt: skip
    if key is not None and _matches(key, valid):
        return
    failures.acquire(f"ip:{address}")
    logger.warning("authentication failed from %s (key %s) on %s %s", address,
                   _digest(key) if key else "none", request.method, request.url.path)  # fmt: skip
    if key is None:
        raise Unauthorized(f"{needed} is required: Authorization: Bearer <key>", {"WWW-Authenticate": "Bearer"})
    raise Unauthorized("the API key is not valid", {"WWW-Authenticate": "Bearer"})


def may_write(request: Request) -> bool:
    """Whether this request's key (or the open-writes setting) allows uploads and deletions."""
    settings: Settings = request.app.state.settings
    if not settings.admin_api_keys:
        return settings.open_writes
    key = _presented_key(request)
    return key is not None and _matches(key, settings.admin_api_keys)


class RateLimiter:
    """A token bucket per client: `per_minute` requests a minute, in bursts of up to that many.

    At most `max_clients` buckets are kept (least recently seen dropped first): a client forgotten
    that way starts again with a full bucket, which only errs towards letting a request through.
    """

    def __init__(self, per_minute: int, *, max_clients: int = 10_000) -> None:
        self.per_minute = per_minute
        self.max_clients = max_clients
        self._rate = per_minute / 60.0
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # client -> (tokens, last refill)
        self._lock = threading.Lock()

    def acquire(self, client: str) -> float:
        """0 when the request may go ahead (a token is taken), else the seconds until a token is available."""
        with self._lock:
            tokens, now = self._refilled(client)
            taken = tokens >= 1.0
            self._buckets[client] = (tokens - 1.0 if taken else tokens, now)
            self._buckets.move_to_end(client)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
            return 0.0 if taken else (1.0 - tokens) / self._rate

    def exhausted(self, client: str) -> bool:
        """True when the client has no token left (nothing is taken)."""
        with self._lock:
            return self._refilled(client)[0] < 1.0

    def wait(self, client: str) -> float:
        with self._lock:
            return max(0.0, (1.0 - self._refilled(client)[0]) / self._rate)

    def __len__(self) -> int:
        return len(self._buckets)

    def _refilled(self, client: str) -> tuple[float, float]:
        now = time.monotonic()
        tokens, last = self._buckets.get(client, (float(self.per_minute), now))
        return min(float(self.per_minute), tokens + (now - last) * self._rate), now


class RequestLimits:
    """ASGI middleware: headers over their limit get 431, bodies over theirs 413.

    A declared Content-Length is checked up front; the refused body is then read and discarded (up
    to a bound) so that clients that send the whole body before reading (urllib, requests) get the
    413 rather than a reset connection. A chunked body (no length) is counted while the app reads
    it. Document uploads have their own, larger limit.
    """

    def __init__(self, app: ASGIApp, *, max_body: int, max_upload: int, max_headers: int) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload
        self.max_headers = max_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header_bytes = sum(len(name) + len(value) for name, value in scope["headers"])
        if header_bytes > self.max_headers:
            await _refuse(send, 431, "headers_too_large", f"request headers larger than {self.max_headers} bytes")
            return
        upload = scope["method"] == "POST" and scope["path"].rstrip("/") == "/v1/documents"
        limit = self.max_upload if upload else self.max_body
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit() or int(declared) > limit:
                if declared.isdigit() and int(declared) <= _DRAIN_BYTES:
                    await _drain(receive)
                await _refuse(send, 413, "payload_too_large", f"request body larger than {limit} bytes")
                return
            await self.app(scope, receive, send)
            return
        # A chunked body (no length) is counted as the app reads it, never buffered here: a route's
        # dependencies (the admin check of an upload) run before the body is read at all.
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send)


class _BodyTooLarge(StarletteHTTPException):
    """Raised from `receive` past the limit; an HTTPException, so FastAPI's body parsing passes it on
    and the error handlers turn it into the JSON 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {limit} bytes")


_DRAIN_BYTES = 64 << 20  # a refused body up to this size is read and discarded before the 413 ...
_DRAIN_SECONDS = 5.0  # ... for at most this long


async def _drain(receive: Receive) -> None:
    async def discard() -> None:
        while True:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                return

    with suppress(TimeoutError):
        await asyncio.wait_for(discard(), _DRAIN_SECONDS)


async def _refuse(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps(error_body(code, message)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"connection", b"close")]  # fmt: skip
    await send({"type": "http.response.start", "status": status, "headers": headers})
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
