"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware

from indexer.embedders.base import Embedder
from qa.errors import IndexUnavailable
from qa.manager import IndexManager
from service import openai_routes, responses_routes, routes
from service.config import Settings
from service.errors import install_error_handlers
from service.security import RateLimiter, RequestLimits, authorize

logger = logging.getLogger(__name__)
API_DESCRIPTION = (
    "Hybrid search and extractive answers with exact citations over Chinese government reports. Contract: docs/API.md."
)


async def _watch_index(manager: IndexManager, interval: float) -> None:
    """Pick up index versions that a CLI build made current while the service runs."""
    while True:
        await asyncio.sleep(interval)
        try:
            if await run_in_threadpool(manager.reload_if_replaced):
                logger.info("index reloaded: a new version became current")
        except IndexUnavailable as exc:
            logger.warning("not reloading: %s", exc)
        except Exception:  # a half-readable index must never stop the watcher or the service
            logger.exception("reloading the index failed; still serving the previous one")


def create_app(settings: Settings | None = None, *, embedder: Embedder | None = None) -> FastAPI:
    settings = settings or Settings()
    manager = IndexManager(settings, embedder, degraded=settings.build_failure)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        logger.info("access: %s; %s", "API keys required" if settings.api_keys else "no API keys", settings.writes)
        await run_in_threadpool(manager.load)
        watcher = None
        if settings.reload_interval > 0:
            watcher = asyncio.create_task(_watch_index(manager, settings.reload_interval))
        yield
        if watcher is not None:
            watcher.cancel()
        manager.close()

    app = FastAPI(title="Report QA", version="1.0", description=API_DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.manager = manager
    app.state.rate_limiter = RateLimiter(settings.rate_limit) if settings.rate_limit else None
    app.state.auth_failures = RateLimiter(settings.auth_failures_per_minute)
    app.include_router(routes.public_router)
    app.include_router(routes.router)
    app.include_router(openai_routes.router, dependencies=[Depends(authorize)])
    app.include_router(responses_routes.router, dependencies=[Depends(authorize)])
    install_error_handlers(app)
    app.add_middleware(
        RequestLimits,
        max_body=settings.max_body_bytes,
        max_upload=settings.max_upload_bytes,
        max_headers=settings.max_header_bytes,
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type"],
        )
    return app
