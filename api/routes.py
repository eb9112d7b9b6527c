"""The HTTP routes. Thin: parse, call one ``mdm`` or ``loaders`` service, map the result or the error."""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from api.deps import (
    CurrentCaller,
    DatabaseDep,
    Loader,
    RegistryDep,
    SearchDep,
    SettingsDep,
    StandardDep,
    reject_unstorable,
)
from api.schemas import (
    Health,
    History,
    LoadSummary,
    LookupRequest,
    LookupResult,
    Record,
    RecordList,
    RepositoryInfo,
    RepositoryList,
    SearchHitOut,
    SearchResults,
)
from loaders.pipeline import LoadOptions, load_file
from loaders.profiles import load_profile
from mdm import records
from mdm.access import project
from mdm.batches import get_batch
from mdm.db import current_revision
from mdm.errors import FileRejected, InvalidRequest
from mdm.search import SearchQuery, indexer, search_records
from mdm.search.base import MAX_SEARCH_LIMIT
from mdm.spatial import Envelope

PROBLEM = {"content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
ERRORS = {
    400: {"description": "request.* — a parameter is missing or malformed", **PROBLEM},
    401: {"description": "auth.missing_key, auth.invalid_key", **PROBLEM},
    403: {"description": "auth.forbidden", **PROBLEM},
    404: {"description": "repository.unknown, record.not_found, load.not_found", **PROBLEM},
}
LOAD_ERRORS = {
    409: {"description": "load.guard_refused (with the load summary under `load`)", **PROBLEM},
    413: {"description": "file.too_large", **PROBLEM},
    422: {"description": "file.* — the file was rejected whole (with the load summary under `load`)", **PROBLEM},
}
log = logging.getLogger("mdm.api")
router = APIRouter(responses=ERRORS, dependencies=[Depends(reject_unstorable)])
_PROFILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_LIST_PARAMS = {"limit", "cursor", "include_retired", "contains", "bbox"}
_SEARCH_PARAMS = {"q", "mode", "near", "bbox", "limit", "cursor"}


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


def _instant(value: str | None) -> dt.datetime | None:
    """An ISO 8601 date-time; a '+' that arrived as a space (unencoded in a URL) is put back."""
    if value is None:
        return None
    text = value.strip().replace(" ", "+") if "T" in value else value.strip()
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is not None:
            moment.astimezone(dt.UTC)  # years 1 and 9999 with an offset fall off the calendar in UTC
        return moment
    except (ValueError, OverflowError):
        raise InvalidRequest("request.invalid", f"as_of {value!r} is not an ISO 8601 date-time") from None


def _filters(request: Request, known: set[str]) -> dict[str, str]:
    repeated = sorted({k for k in request.query_params if len(request.query_params.getlist(k)) > 1})
    if repeated:
        raise InvalidRequest("request.invalid", f"give each parameter once: {', '.join(repeated)}")
    return {k: v for k, v in request.query_params.items() if k not in known}


def _envelope(bbox: str | None) -> Envelope | None:
    if not bbox:
        return None
    envelope = Envelope(*_parse_floats(bbox, 4, "bbox"))
    if envelope.min_x > envelope.max_x or envelope.min_y > envelope.max_y:
        raise InvalidRequest("request.invalid", "bbox must be minlon,minlat,maxlon,maxlat")
    _in_range(envelope.min_x, envelope.min_y, "bbox")
    _in_range(envelope.max_x, envelope.max_y, "bbox")
    return envelope


def _in_range(lon: float, lat: float, name: str) -> None:
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidRequest("request.invalid", f"{name} needs longitude in -180…180 and latitude in -90…90")


def _parse_floats(value: str, count: int, name: str) -> list[float]:
    try:
        numbers = [float(p) for p in value.split(",")]
    except ValueError:
        numbers = []
    if len(numbers) != count or not all(math.isfinite(n) for n in numbers):
        raise InvalidRequest("request.invalid", f"{name} needs {count} comma-separated numbers")
    return numbers


@router.get("/repositories/{repository}/records", response_model=RecordList, tags=["records"])
def list_records(
    request: Request,
    caller: CurrentCaller,
    standard: StandardDep,
    db: DatabaseDep,
    limit: Annotated[int, Query(ge=1, le=records.MAX_LIMIT)] = 50,
    cursor: str | None = None,
    include_retired: bool = False,
    contains: Annotated[str | None, Query(description="lon,lat in EPSG:4490: features containing it")] = None,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat: features intersecting it")] = None,
) -> Any:
    """Golden records in key order; other query parameters are exact filters on filterable fields."""
    filters = _filters(request, _LIST_PARAMS)
    point = tuple(_parse_floats(contains, 2, "contains")) if contains else None
    if point:
        _in_range(*point, "contains")
    envelope = _envelope(bbox)
    query = records.ListQuery(
        filters=filters, limit=limit, cursor=cursor, include_retired=include_retired, contains=point, bbox=envelope
    )
    with db.read() as session:
        items, next_cursor = records.list_records(session, standard, query)
    return {"items": [Record.of(v, project(standard, caller, v.data)) for v in items], "next_cursor": next_cursor}


@router.get("/repositories/{repository}/search", response_model=SearchResults, tags=["search"])
def search(
    request: Request,
    caller: CurrentCaller,
    standard: StandardDep,
    db: DatabaseDep,
    backend: SearchDep,
    q: Annotated[str | None, Query(description="Text: names, addresses, codes; pinyin and initials for names")] = None,
    mode: Annotated[str, Query(description="exact (the text as typed) or fuzzy (two-character pieces)")] = "exact",
    near: Annotated[str | None, Query(description="lon,lat,radius_m (EPSG:4490): nearest first")] = None,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat: envelope intersects")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_SEARCH_LIMIT)] = 20,
    cursor: str | None = None,
) -> Any:
    """Search active records; other query parameters are exact filters. Hits are masked like reads."""
    filters = _filters(request, _SEARCH_PARAMS)
    point = _parse_floats(near, 3, "near") if near else None
    query = SearchQuery(
        q=q,
        mode=mode,
        filters=filters,
        near=tuple(point) if point else None,
        bbox=_envelope(bbox),
        limit=limit,
        cursor=cursor,
    )
    found, page = search_records(db, backend, standard, query)
    items = [
        SearchHitOut(
            **Record.of(view, project(standard, caller, view.data)).model_dump(),
            score=hit.score,
            distance_m=hit.distance_m,
        )
        for hit, view in found
    ]
    return {"items": items, "next_cursor": page.next_cursor, "complete": page.complete}


@router.post("/repositories/{repository}/lookup", response_model=LookupResult, tags=["records"])
def lookup(caller: CurrentCaller, standard: StandardDep, db: DatabaseDep, body: LookupRequest) -> Any:
    """Records for up to 1,000 business keys at once (any status), and the keys not found."""
    keys = list(dict.fromkeys(body.keys))
    with db.read() as session:
        views = records.get_many(session, standard.repository, keys)
    return {
        "items": [Record.of(views[k], project(standard, caller, views[k].data)) for k in keys if k in views],
        "not_found": [k for k in keys if k not in views],
    }


@router.get("/repositories/{repository}/records/{key}", response_model=Record, tags=["records"])
def get_record(
    caller: CurrentCaller,
    standard: StandardDep,
    db: DatabaseDep,
    key: str,
    as_of: Annotated[
        str | None,
        Query(description="ISO 8601 date-time with zone, e.g. 2024-01-01T00:00:00%2B08:00 (+ encoded) or …Z"),
    ] = None,
) -> Any:
    """One golden record by business key, now or as recorded at ``as_of``."""
    with db.read() as session:
        view = records.get_record(session, standard.repository, key, as_of=_instant(as_of))
    return Record.of(view, project(standard, caller, view.data))


@router.get("/repositories/{repository}/records/{key}/history", response_model=History, tags=["records"])
def get_history(caller: CurrentCaller, standard: StandardDep, db: DatabaseDep, key: str) -> Any:
    """Every version of a golden record, oldest first."""
    with db.read() as session:
        views = records.history(session, standard.repository, key)
    return {"items": [Record.of(v, project(standard, caller, v.data)) for v in views]}


_SAFE_NAME = re.compile(r"[^\w.\-]+")


def _save_upload(upload: UploadFile, limit: int, directory: Path) -> Path:
    name = _SAFE_NAME.sub("_", Path(upload.filename or "").name).strip("._")[-100:] or "upload"
    target = directory / name
    written = 0
    with target.open("wb") as out:
        while chunk := upload.file.read(1 << 20):
            written += len(chunk)
            if written > limit:
                raise FileRejected("file.too_large", f"the upload exceeds {limit} bytes", limit=limit)
            out.write(chunk)
    return target


@router.post(
    "/repositories/{repository}/loads",
    status_code=201,
    response_model=LoadSummary,
    tags=["loads"],
    responses=LOAD_ERRORS,
)
async def post_load(
    request: Request,
    caller: Loader,
    standard: StandardDep,
    db: DatabaseDep,
    registry: RegistryDep,
    settings: SettingsDep,
    backend: SearchDep,
    file: Annotated[UploadFile, File(description="The department file")],
    profile: Annotated[str, Form(description="Name of a source profile on the server")],
    force: Annotated[bool, Form(description="Let a snapshot retire more than the guard allows")] = False,
) -> Any:
    """Load a file synchronously with a named source profile; 201 with the load summary."""
    form = await request.form()
    if len(form.getlist("file")) != 1 or len(form.getlist("profile")) != 1:
        raise InvalidRequest("request.invalid", "send exactly one file part and one profile field")
    return await run_in_threadpool(
        _load_upload, request, standard, db, registry, settings, backend, file, profile, force
    )


def _load_upload(request, standard, db, registry, settings, backend, file, profile, force) -> Any:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > settings.max_upload_bytes + 1_048_576:  # room for the form fields
        raise FileRejected(
            "file.too_large", f"the upload exceeds {settings.max_upload_bytes} bytes", limit=settings.max_upload_bytes
        )
    if not _PROFILE_NAME.fullmatch(profile):
        raise InvalidRequest("request.invalid", "profile must be a profile name (letters, digits, . _ -), not a path")
    chosen = load_profile(profile, settings.profile_dirs)
    if chosen.repository != standard.repository:
        raise InvalidRequest(
            "request.invalid", f"profile {profile} loads {chosen.repository}, not {standard.repository}"
        )
    options = LoadOptions.from_settings(settings, force=force)
    with tempfile.TemporaryDirectory(prefix="mdm-upload-") as tmp:
        path = _save_upload(file, settings.max_upload_bytes, Path(tmp))
        summary = load_file(
            db, chosen, path, options=options, registry=registry, file_name=path.name, search=backend
        ).as_dict()
        shutil.rmtree(tmp, ignore_errors=True)
    return summary


@router.get("/loads/{batch_id}", response_model=LoadSummary, tags=["loads"])
def get_load(caller: Loader, db: DatabaseDep, batch_id: str) -> Any:
    """The summary of a load batch."""
    return get_batch(db, batch_id).summary
