"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI

from api import errors
from api.routes import router
from mdm.db import Database
from mdm.settings import Settings, get_settings
from standards import default_registry
from standards.registry import Registry

DESCRIPTION = """
Base-information resource service: one standards-governed, consolidated copy of the city's base information
(natural persons, legal entities, geographic data, credit information, electronic licences), served on demand.

Every endpoint but `/health` and the docs needs `Authorization: Bearer <key>`. Errors are RFC 9457
problem+json documents with a stable `code` (see docs/codes.md).
"""


def create_app(
    settings: Settings | None = None, *, db: Database | None = None, registry: Registry | None = None
) -> FastAPI:
    """Build the app. ``db`` and ``registry`` default to the settings' database and the shipped standards."""
    settings = settings or get_settings()
    app = FastAPI(title="Base-information resource service", version="0.1.0", description=DESCRIPTION)
    app.state.settings = settings
    app.state.db = db or Database(settings.database_url)
    app.state.registry = registry or default_registry()
    errors.install(app)
    app.include_router(router)
    return app
