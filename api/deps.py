"""Dependencies for routes: settings, database, registry, the calling department, role checks, and the
:class:`~mdm.reads.ReadContext` (caller + ``X-Purpose``) with the read service every record read goes through."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Path, Request
from fastapi.concurrency import run_in_threadpool

from mdm.access.departments import check_purpose_code
from mdm.db import Database
from mdm.errors import Forbidden, InvalidRequest, Unauthorised
from mdm.keys import Caller, authenticate, peek_caller
from mdm.reads import ReadContext, Reads
from mdm.repositories import standard_for
from mdm.search import SearchBackend
from mdm.settings import Settings
from standards import Standard
from standards.registry import REPOSITORIES, Registry


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_db(request: Request) -> Database:
    return request.app.state.db


async def get_registry(request: Request) -> Registry:
    return request.app.state.registry


async def get_search(request: Request) -> SearchBackend:
    return request.app.state.search


SettingsDep = Annotated[Settings, Depends(get_settings)]
SearchDep = Annotated[SearchBackend, Depends(get_search)]
DatabaseDep = Annotated[Database, Depends(get_db)]
RegistryDep = Annotated[Registry, Depends(get_registry)]


def single_header(request: Request, name: str) -> str | None:
    """The one value of header ``name``, or None; 400 ``request.header_repeated`` when it came more than once
    (two ``Authorization`` or ``X-Purpose`` headers are refused, never resolved by taking the first)."""
    values = request.headers.getlist(name)
    if len(values) > 1:
        raise InvalidRequest("request.header_repeated", f"give the {name} header once; it came {len(values)} times")
    return values[0] if values else None


def bearer_key(request: Request) -> str | None:
    """The key of ``Authorization: Bearer <key>``, or None without the header (401 ``auth.missing_key`` for
    another scheme; 400 ``request.header_repeated`` for two ``Authorization`` headers)."""
    header = single_header(request, "Authorization") or ""
    scheme, _, key = header.partition(" ")
    if header.strip() and scheme.lower() != "bearer":
        raise Unauthorised("auth.missing_key", "the Authorization header must read 'Bearer <key>'")
    return key.strip() if scheme.lower() == "bearer" else None


def current_caller(request: Request, db: DatabaseDep) -> Caller:
    """The department behind ``Authorization: Bearer <key>`` (401 ``auth.*`` otherwise; 400
    ``request.header_repeated`` for two ``Authorization`` headers)."""
    return authenticate(db, bearer_key(request), cache=request.app.state.access)


CurrentCaller = Annotated[Caller, Depends(current_caller)]


def require(role: str):
    """A dependency that admits callers with at least ``role`` (403 ``auth.forbidden`` otherwise)."""

    async def check(caller: CurrentCaller) -> Caller:
        if not caller.may(role):
            raise Forbidden("auth.forbidden", f"this needs the {role} role; the key has {caller.role}")
        return caller

    return check


Loader = Annotated[Caller, Depends(require("loader"))]
Steward = Annotated[Caller, Depends(require("admin"))]


async def get_reads(request: Request) -> Reads:
    return request.app.state.reads


ReadsDep = Annotated[Reads, Depends(get_reads)]


async def read_context(
    request: Request,
    db: DatabaseDep,
    x_purpose: Annotated[
        str | None,
        Header(
            alias="X-Purpose",
            description="The registered purpose of this read (用途/事由), e.g. tax.audit; see GET /purposes.",
        ),
    ] = None,
) -> ReadContext:
    """The caller and the purpose it names: 400 ``access.purpose_required`` without ``X-Purpose``,
    ``access.purpose_invalid`` for one over 64 characters or with control characters (whether it is registered
    is checked by the read service), ``request.header_repeated`` for two ``X-Purpose`` headers; the caller's
    401s as :func:`current_caller`.

    The hot path: a key the process's access cache knows costs no query here — the read service syncs the
    access generation in the session it reads the record with, and refuses the key if it was revoked since
    (:meth:`mdm.reads.Reads.view`). With a replica configured, or an unknown key, the key is authenticated
    here on the primary, off the event loop."""
    key = bearer_key(request)
    single_header(request, "X-Purpose")
    route = getattr(request.scope.get("route"), "path", request.url.path)
    query = {k: v for k, v in request.query_params.items() if k != "cursor"}
    cache = request.app.state.access
    known = peek_caller(key, cache) if key and cache is not None and db.replica_engine is None else None
    if known is not None:
        caller, key_hash, generation = known
        synced = False
    else:
        caller = await run_in_threadpool(authenticate, db, key, cache=cache)
        key_hash, generation, synced = None, None, True
    return ReadContext(
        caller=caller,
        purpose=check_purpose_code(x_purpose),
        route=f"{request.method} {route}",
        query=query,
        access_synced=synced,
        key_hash=key_hash,
        generation=generation,
    )


ReadContextDep = Annotated[ReadContext, Depends(read_context)]


def get_standard(
    repository: Annotated[str, Path(description="Repository id.", json_schema_extra={"enum": list(REPOSITORIES)})],
    registry: RegistryDep,
) -> Standard:
    """The current standard of the repository in the path (404 ``repository.unknown`` otherwise)."""
    return standard_for(registry, repository)


async def path_standard(
    repository: Annotated[str, Path(description="Repository id.", json_schema_extra={"enum": list(REPOSITORIES)})],
    registry: RegistryDep,
) -> Standard:
    """:func:`get_standard` as a dependency: ``async``, as it never blocks, so FastAPI resolves it on the event
    loop instead of a thread-pool hop (only dependencies that do I/O — the caller's key — run in the pool)."""
    return standard_for(registry, repository)


StandardDep = Annotated[Standard, Depends(path_standard)]
