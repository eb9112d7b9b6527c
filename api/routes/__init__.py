"""The HTTP routes, by area. Thin: parse (:mod:`api.params`), call one ``mdm`` or ``loaders`` service, map the
result or the error (:mod:`api.errors`). Every route refuses overlong or unstorable parameters first."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.params import guard_parameters
from api.routes import loads, records, search, service
from api.routes.problems import ERRORS

router = APIRouter(responses=ERRORS, dependencies=[Depends(guard_parameters)])
for area in (service, records, search, loads):
    router.include_router(area.router)

__all__ = ["router"]
