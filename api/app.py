"""The FastAPI application factory.

The served application also runs the outbox indexer in the background when search is Elasticsearch (its
lifespan starts and stops :class:`~mdm.search.background.BackgroundIndexer`, every ``MDM_INDEXER_INTERVAL``
seconds), and serves its API docs (Swagger UI at ``/docs``, ReDoc at ``/redoc``) from assets shipped in the
``fastapi-offline`` package under ``/docs-assets/`` — no CDN, so the docs work on a closed network.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, cast

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from api import console, errors
from api.limits import BodyLimits
from api.params import SingleValuedParameters
from api.routes import router
from api.routes.projects import router as projects_router
from api.routes.sharing import router as sharing_router
from mdm.access.cache import AccessCache
from mdm.access.metering import Defaults, Limits
from mdm.audit import AuditWriter
from mdm.db import Database
from mdm.projects.costing import check_cost_standards
from mdm.reads import Reads
from mdm.search import SearchBackend, backend_for
from mdm.settings import Settings, get_settings
from standards import default_registry
from standards.registry import Registry

if TYPE_CHECKING:
    from mdm.search.elastic import ElasticBackend

DOCS_ASSETS = "/docs-assets"


class HeadAsGet:
    """Answer HEAD wherever GET is answered (RFC 9110 §9.3.2): run the GET, send its headers, drop its body."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)


DESCRIPTION = """
Base-information resource service: one standards-governed, consolidated copy of the city's base information
(natural persons, legal entities, geographic data, credit information, electronic licences), served on demand.

Every endpoint but `/health` and the docs needs `Authorization: Bearer <key>`; every read of records needs
`X-Purpose: <registered purpose code>`. What a department sees is decided by its grants (repository × fields ×
purpose) and the standard's share classes; every read is audited. Errors are RFC 9457 problem+json documents
with a stable `code` (see docs/codes.md).
"""


def metering_defaults(settings: Settings) -> Defaults:
    """The metering limits when no grant declares its own (``MDM_VERIFY_PER_*``, ``MDM_LOOKUP_PER_*``)."""
    return Defaults(
        verify=Limits(settings.verify_per_minute, settings.verify_per_day),
        lookup=Limits(settings.lookup_per_minute, settings.lookup_per_day),
    )


def create_app(
    settings: Settings | None = None,
    *,
    db: Database | None = None,
    registry: Registry | None = None,
    search: SearchBackend | None = None,
) -> FastAPI:
    """Build the app. ``db`` and ``registry`` default to the settings' database and the shipped standards."""
    settings = settings or get_settings()
    check_cost_standards()  # a bad cost standard pack stops the start (project.cost_standard_invalid)
    app = FastAPIOffline(
        title="Base-information resource service",
        version="0.1.0",
        description=DESCRIPTION,
        static_url=DOCS_ASSETS,
        swagger_ui_parameters={"validatorUrl": None},  # Swagger UI would otherwise call validator.swagger.io
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.db = db or Database(settings.database_url, read_url=settings.read_database_url)
    app.state.registry = registry or default_registry()
    app.state.search = search or backend_for(settings, app.state.db)
    app.state.audit = AuditWriter(
        app.state.db, batch=settings.audit_batch, enabled=settings.audit_reads, timeout=settings.audit_timeout
    )
    app.state.access = AccessCache()  # valid for one access generation; synced by every request
    app.state.reads = Reads(
        app.state.db, app.state.search, app.state.audit, meter=metering_defaults(settings), access=app.state.access
    )
    errors.install(app)
    app.add_middleware(HeadAsGet)
    app.add_middleware(BodyLimits)
    app.add_middleware(SingleValuedParameters)
    app.include_router(router)
    app.include_router(sharing_router)
    app.include_router(projects_router)
    console.install(app)
    # FastAPI's documented way to customise the schema: replace the method on the instance
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def served_app() -> FastAPI:
    """The application of one worker process of ``mdm serve --workers N`` (uvicorn's factory): each worker reads
    the settings and runs its start-up checks once, for itself."""
    return create_app(get_settings())


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """While the app is served: the background outbox indexer, when search keeps an index and the interval
    setting is not 0."""
    settings: Settings = app.state.settings
    runner = None
    if app.state.search.indexed and settings.indexer_interval > 0:
        from mdm.search.background import BackgroundIndexer

        runner = BackgroundIndexer(
            app.state.db,
            cast("ElasticBackend", app.state.search),
            app.state.registry,
            interval=settings.indexer_interval,
        )
        runner.start()
    app.state.indexer = runner
    try:
        yield
    finally:
        if runner is not None:
            runner.stop()
        app.state.audit.close()  # settles every event still waiting for its commit


PROBLEM_SCHEMA = {
    "title": "Problem",
    "description": "RFC 9457 problem details with the stable code (docs/codes.md).",
    "type": "object",
    "required": ["type", "title", "status", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "instance": {"type": "string"},
    },
}


def _too_large(body: dict) -> dict:
    """The 413 every operation with a request body may answer (:mod:`api.limits`)."""
    upload = "multipart/form-data" in body.get("content", {})
    return {
        "description": "file.too_large (above MDM_MAX_UPLOAD_BYTES)"
        if upload
        else "request.too_large (a body above MDM_MAX_JSON_BYTES)",
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def _openapi(app: FastAPI) -> dict:
    """The OpenAPI document with the problem+json schema, without FastAPI's unused 422 validation shape
    (validation errors are 400 ``request.invalid`` here), and with the 413 of the body limits on every operation
    that takes a body."""
    if app.openapi_schema:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            response = operation.get("responses", {}).get("422", {})
            if "HTTPValidationError" in str(response):
                del operation["responses"]["422"]
            if "requestBody" in operation:
                operation.setdefault("responses", {}).setdefault("413", _too_large(operation["requestBody"]))
    for name in ("HTTPValidationError", "ValidationError"):
        schema["components"]["schemas"].pop(name, None)
    app.openapi_schema = schema
    return schema
