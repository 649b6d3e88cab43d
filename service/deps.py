"""Dependency aliases: the index manager, the settings, and the loaded index (or a 503 while there is none).

Dependencies are `async def`: FastAPI runs a plain `def` dependency in the thread pool, a hop per
request that cost more than a cached search.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from qa.loaded import LoadedIndex
from qa.manager import IndexManager
from service.config import Settings


async def get_manager(request: Request) -> IndexManager:
    return request.app.state.manager


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_index(request: Request) -> LoadedIndex:
    """The index version this request uses from start to end, whatever a reload swaps in meanwhile."""
    manager: IndexManager = request.app.state.manager
    return manager.require()


ManagerDep = Annotated[IndexManager, Depends(get_manager)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
IndexDep = Annotated[LoadedIndex, Depends(get_index)]
