"""Project pages: the list with filters (year, department, kind, stage), one project with its lifecycle as a
timeline, documents, evaluations with the control-price computation, vendors with their credit records, and the
next steps the key's role may take. The same ``mdm.projects`` services as ``/projects``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from api.console import session
from api.console.render import page, redirect
from api.console.session import User
from api.deps import DatabaseDep
from api.params import DIGITS, RowId
from mdm.errors import FileTooLarge, InvalidRequest
from mdm.keys import DEPARTMENT_ROLES
from mdm.projects import dictionary, documents, lifecycle, service
from mdm.projects.lifecycle import TRANSITIONS
from mdm.projects.rules import row_id

router = APIRouter()
PAGE = 50
Text = Annotated[str | None, Query(max_length=200)]


def _blank(value: str | None) -> str | None:
    return value.strip() or None if value else None


@router.get("/projects")
def projects(
    request: Request,
    user: User,
    db: DatabaseDep,
    year: Annotated[int | None, Query(ge=1949, le=2100), DIGITS] = None,
    kind: Text = None,
    status: Text = None,
    department_uscc: Text = None,
    q: Text = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000), DIGITS] = 0,
) -> Response:
    found = service.list_projects(
        db,
        caller=user.caller,
        year=year,
        kind=_blank(kind),
        status=_blank(status),
        department_uscc=_blank(department_uscc),
        q=_blank(q),
        limit=PAGE,
        offset=offset,
    )
    words = _lists(db)
    filters = {"year": year or "", "kind": kind or "", "status": status or "", "department_uscc": department_uscc or ""}
    return page(
        request,
        "projects.html",
        user=user,
        section="projects",
        title="项目管理",
        items=found["items"],
        total=found["total"],
        offset=offset,
        page_size=PAGE,
        words=words,
        filters={**filters, "q": q or ""},
    )


def _lists(db: Any) -> dict[str, dict[str, str]]:
    """The data dictionary (:func:`mdm.projects.dictionary.dictionary`) as ``{list name: {code: title}}``."""
    lists = dictionary.dictionary(db)["lists"]
    return {each["name"]: {c["code"]: c["title"] for c in each["codes"]} for each in lists}


@router.get("/projects/{project_id}")
def project(request: Request, user: User, db: DatabaseDep, project_id: RowId) -> Response:
    shown = service.get_project(db, project_id, caller=user.caller)
    words = _lists(db)
    steps = [
        {"to": to, "roles": roles, "allowed": any(user.caller.may(r) for r in roles)}
        for (origin, to), roles in TRANSITIONS.items()
        if origin == shown["status"]
    ]
    return page(
        request,
        "project.html",
        user=user,
        section="projects",
        title=shown["name"],
        project=shown,
        words=words,
        steps=steps,
        done=_stage_done(request.query_params.get("done"), words),
        uploaded=request.query_params.get("uploaded") == "1",
        may_upload=any(user.caller.may(role) for role in DEPARTMENT_ROLES),
    )


def _stage_done(value: str | None, words: dict[str, dict[str, str]]) -> str | None:
    """The title of the stage a step just reached (``?done=<stage code>``); any other text is ignored, so a
    link cannot put words of its own on the page."""
    return words.get("project_stage", {}).get(value or "")


@router.post("/projects/{project_id}/transitions")
async def transition(request: Request, user: User, db: DatabaseDep, project_id: RowId) -> Response:
    """Take one lifecycle step (the form's ``to``, ``comment``, ``documents``, ``not_duplicate_statement``)."""
    posted = await session.form(request, user)
    raw_docs = posted.get("documents") or []
    ids = raw_docs if isinstance(raw_docs, list) else [raw_docs]
    if len(ids) > 100:
        raise InvalidRequest("project.invalid", "documents must be at most 100 document ids")
    moved = lifecycle.transition(
        db,
        caller=user.caller,
        project_id=project_id,
        to=str(posted.get("to") or ""),
        comment=str(posted.get("comment") or "")[:10_000],
        documents=[row_id(d, field="documents") for d in ids if d],
        not_duplicate_statement=str(posted.get("not_duplicate_statement") or "") or None,
    )
    return redirect(f"/console/projects/{project_id}?done={moved['status']}")


@router.post("/projects/{project_id}/documents")
async def upload(request: Request, user: User, db: DatabaseDep, project_id: RowId) -> Response:
    """Upload a document of a stage (multipart ``doc_type`` and ``file``), stored with its SHA-256 and size as
    ``POST /projects/{id}/documents`` does; ``project.invalid`` for an empty file, ``file.too_large`` above
    ``MDM_MAX_UPLOAD_BYTES``."""
    posted = await request.form()
    session.check_csrf(user.csrf, posted.get("csrf_token"))
    file = posted.get("file")
    if isinstance(file, str) or file is None:
        raise InvalidRequest("project.invalid", "choose a file to upload")
    limit = request.app.state.settings.max_upload_bytes
    content = await file.read(limit + 1)
    if len(content) > limit:
        raise FileTooLarge(limit)
    documents.upload_document(
        db,
        caller=user.caller,
        project_id=project_id,
        doc_type=str(posted.get("doc_type") or ""),
        file_name=file.filename or "document",
        media_type=file.content_type or "application/octet-stream",
        content=content,
    )
    return redirect(f"/console/projects/{project_id}?uploaded=1")


@router.get("/projects/{project_id}/documents/{document_id}")
def download(user: User, db: DatabaseDep, project_id: RowId, document_id: RowId) -> Response:
    meta, content = documents.get_document(db, project_id, document_id, caller=user.caller)
    return Response(
        content,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": "attachment",
            "X-Content-SHA256": meta["sha256"],
            "X-Content-Type-Options": "nosniff",
        },
    )
