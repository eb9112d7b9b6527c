"""The routes of e-government projects (``/projects``). Thin: parse, call one ``mdm.projects`` service, map.

A project is its declaring department's: the reviewing bureaus' roles (bigdata_reviewer, finance_reviewer,
plan_control, finance_approver) and admin see and act on every department's projects, each role in its own steps;
every other key (declarer, reader, loader) sees only its own department's, and another department's project
answers 404 ``project.not_found`` exactly as a missing id (:mod:`mdm.projects.service`). Every key may read the
dictionary, statistics, cost standards and a vendor's credit. Errors are problem+json with ``project.*`` codes
(docs/codes.md).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, File, Form, Query, UploadFile
from fastapi.responses import PlainTextResponse, Response

from api import params
from api.deps import CurrentCaller, DatabaseDep, SettingsDep
from api.params import guard_parameters
from mdm.db import storable
from mdm.errors import FileTooLarge, Forbidden, InvalidRequest
from mdm.projects import (
    census,
    costing,
    dictionary,
    documents,
    evaluations,
    finance,
    lifecycle,
    om,
    service,
    statistics,
    vendors,
)
from mdm.projects.rules import row_id

PROBLEM = {"content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "project.invalid, project.entity_unknown, request.invalid", **PROBLEM},
    401: {"description": "auth.missing_key, auth.invalid_key", **PROBLEM},
    403: {
        "description": "auth.forbidden — the key's role may not take this action; project.department_mismatch",
        **PROBLEM,
    },
    404: {
        "description": "project.not_found — also another department's project, for a key that does not see it",
        **PROBLEM,
    },
    409: {
        "description": "project.transition_invalid (missing: the conditions), project.over_control_price, "
        "project.over_requested, project.duplicate_suspected, project.vendor_refused, project.vendor_conflict, "
        "project.not_om, project.om_system_invalid, project.om_justification_required, project.om_review_state",
        **PROBLEM,
    },
}
router = APIRouter(prefix="/projects", tags=["projects"], responses=ERRORS, dependencies=[Depends(guard_parameters)])
JsonBody = Annotated[dict[str, Any], Body()]


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name) or ""
    if not isinstance(value, str) or len(value) > 10_000 or not storable(value):
        raise InvalidRequest("project.invalid", f"{name} must be a text of at most 10,000 characters (no NUL)")
    return value


@router.get("")
def list_projects(
    caller: CurrentCaller,
    db: DatabaseDep,
    year: params.OptionalYear = None,
    kind: str | None = None,
    status: str | None = None,
    department_uscc: str | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    limit: params.ListLimit = 50,
    offset: params.Offset = 0,
) -> Any:
    """The projects this key sees, newest first, filtered by year, kind, status, department and full text (q)."""
    return service.list_projects(
        db,
        caller=caller,
        year=year,
        kind=kind,
        status=status,
        department_uscc=department_uscc,
        q=q,
        limit=limit,
        offset=offset,
    )


@router.post("", status_code=201)
def create_project(caller: CurrentCaller, db: DatabaseDep, body: JsonBody) -> Any:
    """Create a draft project of the key's own department (declarer; an admin names department_uscc)."""
    return service.create_project(db, caller=caller, body=body)


@router.get("/dictionary")
def get_dictionary(caller: CurrentCaller, db: DatabaseDep) -> Any:
    """The data dictionary: stages, kinds, document types, evaluation kinds, O&M categories, with Chinese titles."""
    return dictionary.dictionary(db)


@router.get("/om-statistics")
def om_statistics(caller: CurrentCaller, db: DatabaseDep, year: params.Year) -> Any:
    """O&M census of a year per category: count, total, median, P25/P75, share, growth, proposed standard."""
    return census.om_statistics(db, year=year, caller=caller)


@router.get("/statistics")
def portfolio_statistics(
    caller: CurrentCaller,
    db: DatabaseDep,
    year: Annotated[
        int | None,
        Query(ge=1949, le=2100, description="A budget year, 1949–2100; all years if unset."),
        params.DIGITS,
    ] = None,
) -> Any:
    """Counts and amounts (万元) of projects by stage, by declaring department and by year."""
    return statistics.portfolio(db, year=year, caller=caller)


@router.get("/cost-standards")
def list_cost_standards(caller: CurrentCaller) -> Any:
    """The cost standard packs (version, title, region, standard) and the default one."""
    return costing.cost_standards()


@router.get("/cost-standards/{version}")
def get_cost_standard(caller: CurrentCaller, version: str) -> Any:
    """A cost standard pack (GB/T 36964-2018 coefficients, each with its source); default suzhou-csbmk2025-v1."""
    return costing.cost_standard(version)


@router.post("/software-cost")
def preview_software_cost(caller: CurrentCaller, body: JsonBody) -> Any:
    """Compute (without recording) a software cost from a function-point count, showing every step."""
    return costing.preview(body)


@router.get("/vendors/{uscc}/credit")
def vendor_credit(caller: CurrentCaller, db: DatabaseDep, uscc: str) -> Any:
    """A vendor's credit records from credit_record (the fields any department may see), each marked serious."""
    return vendors.vendor_credit(db, uscc, caller=caller)


@router.get(
    "/budget-lines",
    response_model=None,
    responses={200: {"content": {"application/json": {}, "text/csv": {}}, "description": "JSON or CSV lines"}},
)
def budget_lines(
    caller: CurrentCaller,
    db: DatabaseDep,
    year: params.Year,
    format: Annotated[str, Query(pattern="^(csv|json)$")] = "json",
) -> Any:
    """Approved budget lines of a year for the budget system (finance roles), as CSV or JSON."""
    if not (caller.may("finance_approver") or caller.may("finance_reviewer")):
        raise Forbidden("auth.forbidden", "the budget export needs a finance role")
    lines = finance.budget_lines(db, year=year)
    if format == "csv":
        return PlainTextResponse(finance.budget_csv(lines), media_type="text/csv; charset=utf-8")
    return {"lines": lines}


@router.post("/payments")
def import_payments(caller: CurrentCaller, db: DatabaseDep, settings: SettingsDep, file: UploadFile = File(...)) -> Any:
    """Import payment records of the budget system (finance_approver): CSV voucher_no,project_id,paid_on,amount_wan
    [,override_reason]; each refused row a reject with its code."""
    if not caller.may("finance_approver"):
        raise Forbidden("auth.forbidden", "importing payments needs the role finance_approver")
    data = _read(file, settings.max_upload_bytes)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest("project.payment_invalid", "the payment file must be UTF-8") from None
    return finance.import_payments(db, caller=caller, text=text)


@router.get("/{project_id}")
def get_project(caller: CurrentCaller, db: DatabaseDep, project_id: params.RowId) -> Any:
    """One project with its transitions, documents, evaluations, vendors and payments."""
    return service.get_project(db, project_id, caller=caller)


@router.get("/{project_id}/duplicates")
def duplicates(caller: CurrentCaller, db: DatabaseDep, project_id: params.RowId) -> Any:
    """Similar projects of the last three years, most similar first, with a score 0..1."""
    return service.duplicates(db, project_id, caller=caller)


@router.get("/{project_id}/om-review")
def om_review(caller: CurrentCaller, db: DatabaseDep, project_id: params.RowId) -> Any:
    """An O&M project against its category's expenditure standard, its reviews and decision, growth by year."""
    return om.om_review(db, project_id, caller=caller)


@router.post("/{project_id}/om-review")
def submit_om_review(caller: CurrentCaller, db: DatabaseDep, project_id: params.RowId, body: JsonBody) -> Any:
    """Review an O&M project against the standard (declarer): a justification is needed above it."""
    return om.submit_review(db, caller=caller, project_id=project_id, body=body)


@router.post("/{project_id}/om-review/decision")
def decide_om_review(caller: CurrentCaller, db: DatabaseDep, project_id: params.RowId, body: JsonBody) -> Any:
    """The finance reviewer approves or rejects (with a reason) an O&M project above the standard."""
    return om.decide(db, caller=caller, project_id=project_id, body=body)


@router.post("/{project_id}/transitions")
def transition(caller: CurrentCaller, db: DatabaseDep, project_id: params.RowId, body: JsonBody) -> Any:
    """Move the project to another stage; refused with the missing conditions named."""
    docs = body.get("documents") or []
    if not isinstance(docs, list) or len(docs) > 100:
        raise InvalidRequest("project.invalid", "documents must be a list of at most 100 document ids")
    docs = [row_id(d, field="documents") for d in docs]
    return lifecycle.transition(
        db,
        caller=caller,
        project_id=project_id,
        to=_text(body, "to"),
        comment=_text(body, "comment"),
        documents=docs,
        not_duplicate_statement=_text(body, "not_duplicate_statement") or None,
    )


@router.post("/{project_id}/documents", status_code=201)
def upload_document(
    caller: CurrentCaller,
    db: DatabaseDep,
    settings: SettingsDep,
    project_id: params.RowId,
    doc_type: Annotated[str, Form()],
    file: UploadFile = File(...),
) -> Any:
    """Upload a document (multipart file and doc_type); stored with its SHA-256 and size."""
    content = _read(file, settings.max_upload_bytes)
    return documents.upload_document(
        db,
        caller=caller,
        project_id=project_id,
        doc_type=doc_type,
        file_name=file.filename or "document",
        media_type=file.content_type or "application/octet-stream",
        content=content,
    )


@router.get("/{project_id}/documents")
def list_documents(caller: CurrentCaller, db: DatabaseDep, project_id: params.RowId) -> Any:
    """The project's documents (type, name, size, SHA-256), without content."""
    return {"items": documents.list_documents(db, project_id, caller=caller)}


@router.get("/{project_id}/documents/{document_id}", response_class=Response)
def download_document(
    caller: CurrentCaller, db: DatabaseDep, project_id: params.RowId, document_id: params.RowId
) -> Response:
    """Download a document as uploaded."""
    meta, content = documents.get_document(db, project_id, document_id, caller=caller)
    return Response(
        content,
        media_type=meta["media_type"],
        headers={
            "X-Content-SHA256": meta["sha256"],
            "Content-Disposition": "attachment",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post("/{project_id}/evaluations", status_code=201)
def record_evaluation(caller: CurrentCaller, db: DatabaseDep, project_id: params.RowId, body: JsonBody) -> Any:
    """Record a software (computed from function points), hardware or performance evaluation."""
    return evaluations.record_evaluation(db, caller=caller, project_id=project_id, body=body)


@router.post("/{project_id}/plan-control")
def plan_control(caller: CurrentCaller, db: DatabaseDep, project_id: params.RowId, body: JsonBody) -> Any:
    """Plan control (plan_control): the project is in the year's plan."""
    return evaluations.confirm_plan(db, caller=caller, project_id=project_id, comment=_text(body, "comment"))


@router.post("/{project_id}/budget-control")
def budget_control(caller: CurrentCaller, db: DatabaseDep, project_id: params.RowId, body: JsonBody) -> Any:
    """Budget control (finance_approver): approve an amount in 万元, at most the control price."""
    return evaluations.approve_budget(
        db, caller=caller, project_id=project_id, amount_wan=body.get("amount_wan"), comment=_text(body, "comment")
    )


@router.post("/{project_id}/vendors", status_code=201)
def award_vendor(caller: CurrentCaller, db: DatabaseDep, project_id: params.RowId, body: JsonBody) -> Any:
    """Award a contract (contractor or supervisor) to a vendor; refused on a serious credit record unless
    finance overrides with a written reason."""
    return vendors.award(
        db,
        caller=caller,
        project_id=project_id,
        uscc=_text(body, "uscc"),
        role=_text(body, "role"),
        override_reason=_text(body, "override_reason") or None,
    )


def _read(file: UploadFile, limit: int) -> bytes:
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise FileTooLarge(limit)
    return data
