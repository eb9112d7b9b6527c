"""Load pages (loader and admin keys, as ``GET /loads/{batch_id}``): recent batches, one batch's summary, its
reject codes as a bar chart, its rejects as a filterable table, and the rejects as ``rejects.jsonl`` or XLSX.
Each page shows only batches of the user's department (stewards: all); another department's batch is 404
``load.not_found`` like a missing one (:mod:`mdm.access.loading`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import FileResponse, Response

from api.console import charts, exports
from api.console.render import page
from api.console.session import ConsoleUser, User
from api.deps import DatabaseDep
from loaders.report import read_rejects
from mdm.batches import get_batch, recent_batches
from mdm.errors import Forbidden, NotFound
from mdm.models import Batch
from standards import code_titles

router = APIRouter()
SHOWN_REJECTS = 200
Filter = Annotated[str | None, Query(max_length=200)]


def _loader(user: ConsoleUser) -> None:
    if not user.caller.may("loader"):
        raise Forbidden("auth.forbidden", f"load reports need the loader role; this key has {user.caller.role}")


@router.get("/loads")
def loads(request: Request, user: User, db: DatabaseDep) -> Response:
    _loader(user)
    with db.read() as session:
        batches = [_row(b) for b in recent_batches(session, viewer=user.caller, limit=100)]
    return page(request, "loads.html", user=user, section="loads", title="数据加载", batches=batches)


def _row(batch: Batch) -> dict[str, Any]:
    summary = batch.summary or {}
    return {
        "id": batch.id,
        "repository": batch.repository,
        "profile": batch.profile,
        "file_name": batch.file_name,
        "mode": batch.mode,
        "status": batch.status,
        "started_at": batch.started_at,
        **{k: summary.get(k, 0) for k in ("read", "inserted", "updated", "unchanged", "retired", "rejected")},
    }


def _rejects_path(batch: Batch) -> Path | None:
    raw = (batch.summary or {}).get("rejects_path")
    if not isinstance(raw, str):
        return None
    path = Path(raw)
    return path if path.name == "rejects.jsonl" and path.is_file() else None


@router.get("/loads/{batch_id}")
def load(
    request: Request, user: User, db: DatabaseDep, batch_id: str, code: Filter = None, field: Filter = None
) -> Response:
    _loader(user)
    batch = get_batch(db, batch_id, viewer=user.caller, what="page")
    summary = batch.summary or {}
    reject_codes: dict[str, int] = summary.get("reject_codes") or {}
    path = _rejects_path(batch)
    rejects, matched = read_rejects(path, code=code, field=field, limit=SHOWN_REJECTS) if path else ([], 0)
    ordered = sorted(reject_codes.items(), key=lambda kv: (-kv[1], kv[0]))
    chart = charts.bar(
        "拒收原因（错误代码）",
        [f"{code_titles.title('error', c) or c}\n{c}" for c, _ in ordered],  # the title above the code
        {"行数": [n for _, n in ordered]},
        axis="行",
        integers=True,
    )
    return page(
        request,
        "load.html",
        user=user,
        section="loads",
        title=f"加载批次 {batch.id[:8]}",
        batch=_row(batch),
        summary=summary,
        codes=ordered,
        reject_chart=chart if ordered else None,
        rejects=rejects,
        matched=matched,
        shown=SHOWN_REJECTS,
        code=code or "",
        field=field or "",
        has_file=path is not None,
    )


@router.get("/loads/{batch_id}/rejects.jsonl")
def rejects_file(user: User, db: DatabaseDep, batch_id: str) -> Response:
    _loader(user)
    path = _rejects_path(get_batch(db, batch_id, viewer=user.caller, what="rejects"))
    if path is None:
        return Response("", media_type="application/x-ndjson")
    return FileResponse(path, media_type="application/x-ndjson", filename=f"rejects-{batch_id}.jsonl")


@router.get("/loads/{batch_id}/reject-codes.{fmt}")
def reject_codes(user: User, db: DatabaseDep, batch_id: str, fmt: str) -> Response:
    """The data of the reject-code chart: each code and how many times rows were rejected with it."""
    _loader(user)
    if fmt not in ("xlsx", "csv"):
        raise NotFound("request.not_found", "reject codes are served as csv or xlsx")
    counts: dict[str, int] = (get_batch(db, batch_id, viewer=user.caller, what="reject_codes").summary or {}).get(
        "reject_codes"
    ) or {}
    rows = [[code, n] for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    table = exports.Table(f"reject-codes-{batch_id}", "reject codes", ["错误代码 code", "次数 count"], rows)
    return exports.response(table, fmt)


@router.get("/loads/{batch_id}/rejects.{fmt}")
def rejects_table(
    user: User, db: DatabaseDep, batch_id: str, fmt: str, code: Filter = None, field: Filter = None
) -> Response:
    """The (filtered) rejects as a spreadsheet or CSV: one line per error of each rejected row."""
    _loader(user)
    if fmt not in ("xlsx", "csv"):
        raise NotFound("request.not_found", "rejects are served as jsonl, csv or xlsx")
    path = _rejects_path(get_batch(db, batch_id, viewer=user.caller, what="rejects"))
    found, _ = read_rejects(path, code=code, field=field) if path else ([], 0)
    rows = [
        [r.get("row"), r.get("source_key"), e.get("code"), e.get("field"), e.get("message"), e.get("value")]
        for r in found
        for e in (r.get("errors") or [{}])
    ]
    table = exports.Table(
        name=f"rejects-{batch_id}",
        title="rejects",
        headers=["行号 row", "来源主键 source_key", "错误代码 code", "字段 field", "说明 message", "原值 value"],
        rows=rows,
    )
    return exports.response(table, fmt)
