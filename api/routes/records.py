"""Record routes: lists with exact and spatial filters, one record (now or as of a time), history, lookup.
Each goes through the read service (:mod:`mdm.reads`) with the caller's :class:`~mdm.reads.ReadContext`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from api import params
from api.deps import ReadContextDep, ReadsDep, StandardDep
from api.schemas import History, LookupRequest, LookupResult, Record, RecordList
from mdm import records

router = APIRouter(tags=["records"])
_LIST_PARAMS = {"limit", "cursor", "include_retired", "contains", "bbox"}


@router.get("/repositories/{repository}/records", response_model=RecordList)
def list_records(
    request: Request,
    ctx: ReadContextDep,
    standard: StandardDep,
    reads: ReadsDep,
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
    items, next_cursor = reads.list(ctx, standard, query)
    return {"items": [Record.of(s.view, s.projection) for s in items], "next_cursor": next_cursor}


@router.post("/repositories/{repository}/lookup", response_model=LookupResult)
def lookup(ctx: ReadContextDep, standard: StandardDep, reads: ReadsDep, body: LookupRequest) -> Any:
    """Records for up to 1,000 business keys at once (any status), and the keys not found."""
    items, not_found = reads.lookup(ctx, standard, body.keys)
    return {"items": [Record.of(s.view, s.projection) for s in items], "not_found": not_found}


@router.get("/repositories/{repository}/records/{key}", response_model=Record)
def get_record(ctx: ReadContextDep, standard: StandardDep, reads: ReadsDep, key: str, as_of: params.AsOf = None) -> Any:
    """One golden record by business key, now or as recorded at ``as_of``."""
    shown = reads.get(ctx, standard, key, as_of=params.instant(as_of))
    return Record.of(shown.view, shown.projection)


@router.get("/repositories/{repository}/records/{key}/history", response_model=History)
def get_history(ctx: ReadContextDep, standard: StandardDep, reads: ReadsDep, key: str) -> Any:
    """Every version of a golden record, oldest first."""
    return {"items": [Record.of(s.view, s.projection) for s in reads.history(ctx, standard, key)]}
