"""HTTP errors: the contract's JSON error body, the status of every domain error, and the handlers.

Handlers never translate errors themselves: a domain error (qa.errors, indexer.extract) raised
anywhere reaches `_domain_error`, which looks its status and code up in DOMAIN_STATUS.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from indexer.errors import StoreUnavailable
from indexer.extract import UndecodableFile
from qa import errors as qa_errors
from service.schemas import INVALID_UNICODE

logger = logging.getLogger(__name__)


class ServiceError(Exception):
    """An error of the HTTP layer itself (access, limits, request shape), with its status and code."""

    status_code, code = 500, "internal_error"

    def __init__(self, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers


class InvalidRequest(ServiceError):
    status_code, code = 400, "invalid_request"


class Unauthorized(ServiceError):
    status_code, code = 401, "unauthorized"


class Forbidden(ServiceError):
    status_code, code = 403, "forbidden"


class PayloadTooLarge(ServiceError):
    status_code, code = 413, "payload_too_large"


class RateLimited(ServiceError):
    status_code, code = 429, "rate_limited"


# Most specific first: the first class the error is an instance of decides.
DOMAIN_STATUS: list[tuple[type[Exception], int, str]] = [
    (qa_errors.EmptyDocument, 400, "empty_document"),
    (qa_errors.InvalidInput, 400, "invalid_request"),
    (UndecodableFile, 400, "invalid_request"),
    (qa_errors.NotFound, 404, "not_found"),
    (qa_errors.Duplicate, 409, "duplicate"),
    (qa_errors.Conflict, 409, "conflict"),
    (qa_errors.IndexUnavailable, 503, "index_unavailable"),
    (StoreUnavailable, 503, "index_unavailable"),
    (qa_errors.StorageFull, 507, "insufficient_storage"),
    (qa_errors.QAError, 400, "invalid_request"),  # any other domain error: the request cannot be served as asked
]


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _service_error)
    for error, _, _ in DOMAIN_STATUS:
        app.add_exception_handler(error, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)


async def _service_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    return JSONResponse(error_body(exc.code, exc.message), status_code=exc.status_code, headers=exc.headers)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    status, code = next((s, c) for error, s, c in DOMAIN_STATUS if isinstance(exc, error))
    return JSONResponse(error_body(code, str(exc)), status_code=status)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    if any(error.get("type") == INVALID_UNICODE for error in exc.errors()):
        logger.warning("invalid Unicode in a request to %s %s", request.method, request.url.path)
        return JSONResponse(error_body("invalid_request", _describe(exc)), status_code=400)
    return JSONResponse(error_body("invalid_request", _describe(exc)), status_code=422)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large", 429: "rate_limited"}
    code = codes.get(exc.status_code, "invalid_request" if exc.status_code < 500 else "internal_error")
    return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse(error_body("internal_error", "internal server error"), status_code=500)


def _describe(exc: RequestValidationError) -> str:
    """One readable line per problem: 'body.top_k: Input should be less than or equal to 50'."""
    parts = []
    for error in exc.errors()[:5]:
        location = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
        parts.append(f"{location}: {error.get('msg', 'invalid value')}")
    return "; ".join(parts) or "invalid request"
