"""Search route: text, fuzzy, pinyin and nearest-first search over active records, through the read service
(grant check, masking and audit like every read)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from api import params
from api.deps import ReadContextDep, ReadsDep, StandardDep
from api.schemas import Record, SearchHitOut, SearchResults
from mdm.search import SearchQuery

router = APIRouter(tags=["search"])
_SEARCH_PARAMS = {"q", "mode", "near", "bbox", "limit", "cursor"}


@router.get("/repositories/{repository}/search", response_model=SearchResults)
def search(
    request: Request,
    ctx: ReadContextDep,
    standard: StandardDep,
    reads: ReadsDep,
    q: Annotated[str | None, Query(description="Text: names, addresses, codes; pinyin and initials for names")] = None,
    mode: Annotated[str, Query(description="exact (the text as typed) or fuzzy (two-character pieces)")] = "exact",
    near: Annotated[str | None, Query(description="lon,lat,radius_m (EPSG:4490): nearest first")] = None,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat: envelope intersects")] = None,
    limit: params.SearchLimit = 20,
    cursor: params.Cursor = None,
) -> Any:
    """Search active records; other query parameters are exact filters. Hits are masked like reads."""
    query = SearchQuery(
        q=q,
        mode=mode,
        filters=params.filters(request, _SEARCH_PARAMS),
        near=params.near(near),
        bbox=params.envelope(bbox),
        limit=limit,
        cursor=cursor,
    )
    found, page = reads.search(ctx, standard, query)
    items = [
        SearchHitOut(**Record.of(shown.view, shown.projection).model_dump(), score=hit.score, distance_m=hit.distance_m)
        for hit, shown in found
    ]
    return {"items": items, "next_cursor": page.next_cursor, "complete": page.complete}
