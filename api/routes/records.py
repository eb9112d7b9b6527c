"""Record routes: lists with exact and spatial filters, one record (now or as of a time), history, lookup."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from api import params
from api.deps import CurrentCaller, DatabaseDep, StandardDep
from api.schemas import History, LookupRequest, LookupResult, Record, RecordList
from mdm import records
from mdm.access import project

router = APIRouter(tags=["records"])
_LIST_PARAMS = {"limit", "cursor", "include_retired", "contains", "bbox"}


@router.get("/repositories/{repository}/records", response_model=RecordList)
def list_records(
    request: Request,
    caller: CurrentCaller,
    standard: StandardDep,
    db: DatabaseDep,
    limit: params.ListLimit = 50,
    cursor: params.Cursor = None,
    include_retired: bool = False,
    contains: Annotated[str | None, Query(description="lon,lat in EPSG:4490: features containing it")] = None,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat: features intersecting it")] = None,
) -> Any:
    """Golden records in key order; other query parameters are exact filters on filterable fields."""
    query = records.ListQuery(
        filters=params.filters(request, _LIST_PARAMS),
        limit=limit,
        cursor=cursor,
        include_retired=include_retired,
        contains=params.point(contains, "contains"),
        bbox=params.envelope(bbox),
    )
    with db.read() as session:
        items, next_cursor = records.list_records(session, standard, query)
    return {"items": [Record.of(v, project(standard, caller, v.data)) for v in items], "next_cursor": next_cursor}


@router.post("/repositories/{repository}/lookup", response_model=LookupResult)
def lookup(caller: CurrentCaller, standard: StandardDep, db: DatabaseDep, body: LookupRequest) -> Any:
    """Records for up to 1,000 business keys at once (any status), and the keys not found."""
    keys = list(dict.fromkeys(body.keys))
    with db.read() as session:
        views = records.get_many(session, standard.repository, keys)
    return {
        "items": [Record.of(views[k], project(standard, caller, views[k].data)) for k in keys if k in views],
        "not_found": [k for k in keys if k not in views],
    }


@router.get("/repositories/{repository}/records/{key}", response_model=Record)
def get_record(
    caller: CurrentCaller, standard: StandardDep, db: DatabaseDep, key: str, as_of: params.AsOf = None
) -> Any:
    """One golden record by business key, now or as recorded at ``as_of``."""
    with db.read() as session:
        view = records.get_record(session, standard.repository, key, as_of=params.instant(as_of))
    return Record.of(view, project(standard, caller, view.data))


@router.get("/repositories/{repository}/records/{key}/history", response_model=History)
def get_history(caller: CurrentCaller, standard: StandardDep, db: DatabaseDep, key: str) -> Any:
    """Every version of a golden record, oldest first."""
    with db.read() as session:
        views = records.history(session, standard.repository, key)
    return {"items": [Record.of(v, project(standard, caller, v.data)) for v in views]}
