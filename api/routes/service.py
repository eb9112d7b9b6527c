"""Service routes: health, the repositories and their standards."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import CurrentCaller, DatabaseDep, RegistryDep, SearchDep, StandardDep
from api.schemas import Health, RepositoryInfo, RepositoryList
from mdm import records
from mdm.db import current_revision
from mdm.search import indexer

log = logging.getLogger("mdm.api")
router = APIRouter()


@router.get("/health", response_model=Health, tags=["service"])
def health(db: DatabaseDep, backend: SearchDep) -> Any:
    """Service, database and search status, with index failures (no key needed)."""
    try:
        db.ensure_schema()
        revision = current_revision(db.engine)
    except Exception:
        log.exception("health check: database unavailable")
        return JSONResponse({"status": "degraded", "database": {"status": "unavailable"}}, status_code=503)
    search = {"backend": backend.name, "status": "ok"}
    if backend.name == "elasticsearch":
        search.update(backend.health())
        search["pending"] = indexer.pending(db)
        search["failures"] = indexer.failures(db)
    status = "ok" if search["status"] == "ok" and not search.get("failures", {}).get("count") else "degraded"
    return {
        "status": status,
        "database": {"status": "ok", "dialect": db.dialect, "revision": revision},
        "search": search,
    }


@router.get("/repositories", response_model=RepositoryList, tags=["repositories"])
def list_repositories(caller: CurrentCaller, db: DatabaseDep, registry: RegistryDep) -> Any:
    """The repositories with their standard version and count of active records."""
    with db.read() as session:
        counts = records.counts(session)
    return {
        "items": [
            RepositoryInfo(
                id=r, title=registry.get(r).title, standard_version=registry.get(r).version, count=counts.get(r, 0)
            )
            for r in registry.repositories
        ]
    }


@router.get("/repositories/{repository}/standard", tags=["repositories"])
def get_standard(caller: CurrentCaller, standard: StandardDep) -> dict[str, Any]:
    """The repository's data standard: JSON Schema with its x- annotations."""
    return standard.describe()
