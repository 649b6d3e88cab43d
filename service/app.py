"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

from indexer.embedding import Embedder
from service import routes
from service.config import Settings
from service.errors import install_error_handlers
from service.state import ServiceState

API_DESCRIPTION = (
    "Hybrid search and extractive answers with exact citations over Chinese government reports. Contract: docs/API.md."
)


def create_app(settings: Settings | None = None, *, embedder: Embedder | None = None) -> FastAPI:
    settings = settings or Settings()
    state = ServiceState(settings=settings, embedder=embedder)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(state.load)
        yield

    app = FastAPI(title="Report QA", version="1.0", description=API_DESCRIPTION, lifespan=lifespan)
    app.state.service = state
    app.include_router(routes.router)
    install_error_handlers(app)
    return app
