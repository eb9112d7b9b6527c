"""Repository pages: the five repositories, record search (with a map for geometry), one record with its
masked and withheld fields, provenance, history and usage. Every read goes through the read service with the
session's key and purpose, exactly as ``GET /repositories/{r}/search`` and ``…/records/{key}`` do."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from api.console.render import page
from api.console.session import ConsoleUser, User
from api.deps import DatabaseDep, ReadsDep, RegistryDep
from api.schemas import Record
from mdm import audit, records
from mdm.access.departments import may_see_usage
from mdm.access.loading import may_see_batch
from mdm.batches import last_loads, visible_batches
from mdm.errors import InvalidRequest, MdmError
from mdm.reads import ReadContext
from mdm.repositories import standard_for
from mdm.search import SearchQuery
from standards import Standard

router = APIRouter()
LIST_COLUMNS = 5  # fields shown per hit besides the key


def context(user: ConsoleUser, route: str, query: dict[str, Any] | None = None) -> ReadContext:
    """The read context of a console page: the session's key and purpose (400 ``access.purpose_required``
    until one is chosen), the page as the audited route."""
    if not user.purpose:
        raise InvalidRequest(
            "access.purpose_required", "choose the purpose (用途) of your reads at the top of the page"
        )
    return ReadContext(caller=user.caller, purpose=user.purpose, route=f"console {route}", query=query or {})


def columns(standard: Standard) -> list[tuple[str, str]]:
    """The fields a hit list shows: names and codes first (searchable fields), then others, geometry left out."""
    names = [n for n in standard.fields if n != standard.geometry_field]
    ranked = sorted(names, key=lambda n: (standard.fields[n].search == "none", names.index(n)))
    return [(n, standard.fields[n].title) for n in ranked[:LIST_COLUMNS]]


@router.get("/repositories")
def repositories(request: Request, user: User, db: DatabaseDep, registry: RegistryDep) -> Response:
    with db.read() as session:
        counts = records.counts(session)
        latest = last_loads(session)
    rows = [
        {
            "id": r,
            "title": registry.get(r).title,
            "version": registry.get(r).version,
            "count": counts.get(r, 0),
            "last_load": latest.get(r),
            "load_link": r in latest and user.caller.may("loader") and may_see_batch(latest[r], user.caller),
        }
        for r in registry.repositories
    ]
    return page(request, "repositories.html", user=user, section="repositories", title="基础信息库", rows=rows)


def _hit(shown: Any, standard: Standard, score: float | None) -> dict[str, Any]:
    record = Record.of(shown.view, shown.projection).model_dump(mode="json")
    addressable = all(n not in record["masked"] for n in standard.business_key) and record["key"] is not None
    return {**record, "score": score, "link": shown.view.key if addressable else None}


@router.get("/repositories/{repository}")
def search(
    request: Request,
    user: User,
    registry: RegistryDep,
    reads: ReadsDep,
    repository: str,
    q: Annotated[str | None, Query(max_length=200)] = None,
    mode: Annotated[str, Query(pattern="^(exact|fuzzy)$")] = "exact",
    field: Annotated[str | None, Query(max_length=64)] = None,
    value: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Text search (``q``, ``mode``) as ``GET …/search``, or an exact lookup of one filterable field
    (``field``, ``value``) as ``GET …/records?field=value`` — the way to find records for a department that
    sees some searchable field masked (text search then refuses with ``access.field_not_granted``). A refused
    search (no purpose chosen yet: 400 ``access.purpose_required``; a field not granted: 403) is this page with
    its form, the refusal's Chinese title and code, and the refusal's HTTP status."""
    standard = standard_for(registry, repository)
    hits: list[dict[str, Any]] = []
    problem = None
    if field and value and value.strip():
        try:
            found_rows, _ = reads.list(
                context(user, f"GET /console/repositories/{repository}", {field: value}),
                standard,
                records.ListQuery(filters={field: value.strip()}, limit=50),
            )
            hits = [_hit(shown, standard, None) for shown in found_rows]
        except MdmError as exc:
            problem = exc
    elif q and q.strip():
        try:
            found, _ = reads.search(
                context(user, f"GET /console/repositories/{repository}", {"q": q, "mode": mode}),
                standard,
                SearchQuery(q=q.strip(), mode=mode, limit=50),
            )
            hits = [_hit(shown, standard, hit.score) for hit, shown in found]
        except MdmError as exc:
            problem = exc
    features = _features(standard, hits)
    return page(
        request,
        "search.html",
        user=user,
        section="repositories",
        title=f"{standard.title} · 检索",
        status_code=problem.status if problem is not None else 200,
        standard=standard,
        columns=columns(standard),
        q=q or "",
        mode=mode,
        filter_field=field or "",
        filter_value=value or "",
        searched=bool((q and q.strip()) or (field and value and value.strip())),
        hits=hits,
        problem=problem,
        map_data={"features": features} if standard.geometry_field else None,
    )


def _features(standard: Standard, shown: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """GeoJSON features of the records whose geometry the caller may see (longitude, latitude; EPSG:4490)."""
    field = standard.geometry_field
    out = []
    for record in shown:
        geometry = record["data"].get(field) if field else None
        if isinstance(geometry, dict):
            name = record["data"].get("name") or record["key"] or ""
            out.append({"type": "Feature", "properties": {"name": str(name)}, "geometry": geometry})
    return out


@router.get("/repositories/{repository}/records/{key}")
def record(
    request: Request, user: User, db: DatabaseDep, registry: RegistryDep, reads: ReadsDep, repository: str, key: str
) -> Response:
    standard = standard_for(registry, repository)
    ctx = context(user, f"GET /console/repositories/{repository}/records/{{key}}")
    shown = reads.get(ctx, standard, key)
    current = Record.of(shown.view, shown.projection).model_dump(mode="json")
    versions = [Record.of(s.view, s.projection).model_dump(mode="json") for s in reads.history(ctx, standard, key)]
    with db.read() as session:
        usage = None
        if may_see_usage(session, department=user.caller.department, role=user.caller.role, repository=repository):
            usage = audit.usage(session, repository, key, limit=50)
        batches = {p["batch_id"] for p in current["provenance"].values() if p and p.get("batch_id")}
        linked = visible_batches(session, batches, viewer=user.caller) if user.caller.may("loader") else set()
    fields = [
        {
            "name": name,
            "title": rule.title,
            "value": current["data"].get(name),
            "masked": name in current["masked"],
            "provenance": current["provenance"].get(name),
            "batch_link": (current["provenance"].get(name) or {}).get("batch_id") in linked,
        }
        for name, rule in standard.fields.items()
        if name in current["data"] and name != standard.geometry_field
    ]
    return page(
        request,
        "record.html",
        user=user,
        section="repositories",
        title=f"{standard.title} · {current['key']}",
        standard=standard,
        record=current,
        fields=fields,
        versions=list(reversed(versions)),
        usage=usage,
        map_data={"features": _features(standard, [current])} if standard.geometry_field else None,
    )
