"""Dependencies for routes: settings, database, registry, the calling department, role checks."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from mdm.db import Database
from mdm.errors import Forbidden, NotFound
from mdm.keys import Caller, authenticate
from mdm.search import SearchBackend
from mdm.settings import Settings
from standards import Standard
from standards.registry import Registry


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_db(request: Request) -> Database:
    return request.app.state.db


def get_registry(request: Request) -> Registry:
    return request.app.state.registry


def get_search(request: Request) -> SearchBackend:
    return request.app.state.search


SettingsDep = Annotated[Settings, Depends(get_settings)]
SearchDep = Annotated[SearchBackend, Depends(get_search)]
DatabaseDep = Annotated[Database, Depends(get_db)]
RegistryDep = Annotated[Registry, Depends(get_registry)]


def current_caller(request: Request, db: DatabaseDep) -> Caller:
    """The department behind ``Authorization: Bearer <key>`` (401 ``auth.*`` otherwise)."""
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    return authenticate(db, key.strip() if scheme.lower() == "bearer" else None)


CurrentCaller = Annotated[Caller, Depends(current_caller)]


def require(role: str):
    """A dependency that admits callers with at least ``role`` (403 ``auth.forbidden`` otherwise)."""

    def check(caller: CurrentCaller) -> Caller:
        if not caller.may(role):
            raise Forbidden("auth.forbidden", f"this needs the {role} role; the key has {caller.role}")
        return caller

    return check


Loader = Annotated[Caller, Depends(require("loader"))]


def get_standard(repository: str, registry: RegistryDep) -> Standard:
    """The current standard of the repository in the path (404 ``repository.unknown`` otherwise)."""
    try:
        return registry.get(repository)
    except KeyError:
        raise NotFound(
            "repository.unknown", f"no repository {repository!r}; known: {', '.join(registry.repositories)}"
        ) from None


StandardDep = Annotated[Standard, Depends(get_standard)]
