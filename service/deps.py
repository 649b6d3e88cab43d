"""Dependency aliases: the loaded index and answerer, or a 503 while there is none.

Dependencies are `async def`: FastAPI runs a plain `def` dependency in the thread pool, a hop per
request that cost more than a cached search.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.answer import Answerer
from service.config import Settings
from service.errors import IndexUnavailable
from service.state import ServiceState


async def get_state(request: Request) -> ServiceState:
    return request.app.state.service


async def get_settings(request: Request) -> Settings:
    return request.app.state.service.settings


async def get_answerer(request: Request) -> Answerer:
    answerer = request.app.state.service.answerer
    if answerer is None:
        raise IndexUnavailable(request.app.state.service.load_error or "no index is loaded")
    return answerer


StateDep = Annotated[ServiceState, Depends(get_state)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
AnswererDep = Annotated[Answerer, Depends(get_answerer)]
