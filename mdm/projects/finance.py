"""The finance system (金财工程): export approved budget lines, import payment records.

Export layout (docs/projects.md "Finance export"), one line per approved project of a year (stage approved or
later): ``project_id, project_name, department_uscc, year, approved_wan, budget_category`` where
``budget_category`` is ``construction`` (信息化建设) or ``om`` (信息化运维). CSV is UTF-8 without BOM, comma
separated, header first, amounts with two decimals, written by the one export writer (:mod:`mdm.exports`: a
name that could start a spreadsheet formula gets a leading apostrophe); JSON is ``{"lines": [...]}`` with the
same names, as they are.

Import layout: CSV with header ``voucher_no,project_id,paid_on,amount_wan`` (ISO date), optionally a fifth
column ``override_reason``. A voucher already imported is skipped (re-importing a file changes nothing). A row is
refused — a reject of the report with its row number and code, never failing the file — when it is malformed
(``project.payment_invalid``: voucher, a project id from 1 to 2⁶³−1 of an existing project, date, amount above 0),
its project is not approved or later (``project.payment_stage``), it is dated outside the project's years — from 1
January of its budget year to 31 December :data:`~mdm.projects.rules.PAYMENT_YEARS` years later, and not after
today — (``project.payment_date``), or it would bring the project's payments above its approved amount
(``project.payment_over_approved``) without finance's written ``override_reason``; an override is recorded with
the payment and in the import's action. No override brings a project's payments above
:data:`~mdm.projects.rules.OVERRIDE_CEILING_PERCENT` % of its approved amount (110 %: 政府采购法 第四十九条 allows
supplementary contracts of at most 10 % of the original; more is a new budget decision): such a row is refused,
reason or not (``project.payment_over_ceiling``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mdm.db import Database, storable
from mdm.errors import InvalidRequest
from mdm.exports import csv_text
from mdm.keys import Caller
from mdm.projects.actions import now, record_project_action
from mdm.projects.models import Project, ProjectPayment
from mdm.projects.rules import OVERRIDE_CEILING_PERCENT, PAYMENT_YEARS, fen_to_wan, row_id, wan_to_fen

EXPORT_COLUMNS = ("project_id", "project_name", "department_uscc", "year", "approved_wan", "budget_category")
IMPORT_COLUMNS = ("voucher_no", "project_id", "paid_on", "amount_wan")
OVERRIDE_COLUMN = "override_reason"
APPROVED = ("approved", "procuring", "implementing", "accepted", "filed")


def budget_lines(db: Database, *, year: int) -> list[dict[str, Any]]:
    """The approved budget lines of ``year`` (see the module's layout), by project id."""
    with db.read() as session:
        rows = session.execute(
            select(Project).where(Project.year == year, Project.status.in_(APPROVED)).order_by(Project.id)
        ).scalars()
        return [
            {
                "project_id": r.id,
                "project_name": r.name,
                "department_uscc": r.department_uscc,
                "year": r.year,
                "approved_wan": str(fen_to_wan(r.approved_fen)),
                "budget_category": r.kind,
            }
            for r in rows
        ]


def budget_csv(lines: list[dict[str, Any]]) -> str:
    """The CSV text of budget lines, through the one export writer (:func:`mdm.exports.csv_text`)."""
    return csv_text(EXPORT_COLUMNS, ([line[c] for c in EXPORT_COLUMNS] for line in lines))


class _Refused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _parse(row: dict[str, Any], session: Session) -> tuple[str, Project, dt.date, int, str | None]:
    """(voucher, project, paid_on, amount in 分, override reason) of a row; ``_Refused`` with
    ``project.payment_invalid``."""
    try:
        voucher = (row["voucher_no"] or "").strip()
        if not voucher or len(voucher) > 64 or not storable(voucher):
            raise ValueError("voucher_no must be 1 to 64 characters")
        project_id = row_id(row["project_id"] or "", field="project_id", code="project.payment_invalid")
        project = session.get(Project, project_id)
        if project is None:
            raise ValueError(f"no project {project_id}")
        paid_on = dt.date.fromisoformat((row["paid_on"] or "").strip())
        amount = wan_to_fen((row["amount_wan"] or "").strip(), field="amount_wan")
        if amount <= 0:  # a voucher pays something: a zero row is noise in paid-against-approved
            raise ValueError("amount_wan must be above 0 (at least 0.01 万元)")
        reason = (row.get(OVERRIDE_COLUMN) or "").strip() or None
        if reason is not None and (len(reason) > 2000 or not storable(reason)):
            raise ValueError("override_reason is at most 2,000 characters")
    except (ValueError, TypeError, InvalidRequest) as exc:
        message = exc.detail if isinstance(exc, InvalidRequest) else str(exc)
        raise _Refused("project.payment_invalid", message) from None
    return voucher, project, paid_on, amount, reason


def _check(project: Project, paid_on: dt.date, amount: int, paid: int, reason: str | None) -> bool:
    """Whether the payment needs (and has) finance's override; ``_Refused`` with ``project.payment_stage``,
    ``project.payment_date``, ``project.payment_over_ceiling`` or ``project.payment_over_approved``."""
    if project.status not in APPROVED or project.approved_fen is None:
        raise _Refused("project.payment_stage", f"project {project.id} is {project.status}, not approved or later")
    first, last = dt.date(project.year, 1, 1), min(dt.date(project.year + PAYMENT_YEARS, 12, 31), now().date())
    if not first <= paid_on <= last:
        raise _Refused(
            "project.payment_date", f"paid_on {paid_on} is outside project {project.id}'s years, {first} to {last}"
        )
    over = paid + amount > project.approved_fen
    ceiling = project.approved_fen * OVERRIDE_CEILING_PERCENT // 100
    if paid + amount > ceiling:
        raise _Refused(
            "project.payment_over_ceiling",
            f"payments of project {project.id} would reach {fen_to_wan(paid + amount)} 万元, above "
            f"{OVERRIDE_CEILING_PERCENT}% of the approved {fen_to_wan(project.approved_fen)} 万元 "
            f"({fen_to_wan(ceiling)} 万元), which no override passes: approve a new amount first",
        )
    if over and not reason:
        raise _Refused(
            "project.payment_over_approved",
            f"payments of project {project.id} would reach {fen_to_wan(paid + amount)} 万元, above the approved "
            f"{fen_to_wan(project.approved_fen)} 万元; finance may override with an override_reason",
        )
    return over


def import_payments(db: Database, *, caller: Caller, text: str) -> dict[str, Any]:
    """Import payment records from CSV ``text`` (see the module's layout and rules). Returns ``{"read",
    "imported", "skipped", "rejected", "rejects": [{"row", "code", "message"}], "overrides": [{"row",
    "voucher_no", "project_id", "override_reason"}]}``. Raises ``project.payment_invalid`` (400) for a wrong
    header."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = tuple(reader.fieldnames or ())
    if header not in (IMPORT_COLUMNS, (*IMPORT_COLUMNS, OVERRIDE_COLUMN)):
        raise InvalidRequest(
            "project.payment_invalid", f"the header must be {','.join(IMPORT_COLUMNS)}[,{OVERRIDE_COLUMN}]"
        )
    report: dict[str, Any] = {"read": 0, "imported": 0, "skipped": 0, "rejected": 0, "rejects": [], "overrides": []}
    with db.write() as session:
        known = set(session.execute(select(ProjectPayment.voucher_no)).scalars())
        paid: dict[int, int] = {}
        for number, row in enumerate(reader, start=2):
            report["read"] += 1
            try:
                voucher, project, paid_on, amount, reason = _parse(row, session)
                if voucher in known:
                    report["skipped"] += 1
                    continue
                if project.id not in paid:
                    paid[project.id] = _paid_fen(session, project.id)
                over = _check(project, paid_on, amount, paid[project.id], reason)
            except _Refused as exc:
                report["rejected"] += 1
                report["rejects"].append({"row": number, "code": exc.code, "message": str(exc)})
                continue
            known.add(voucher)
            paid[project.id] += amount
            session.add(
                ProjectPayment(
                    project_id=project.id,
                    voucher_no=voucher,
                    paid_on=paid_on,
                    amount_fen=amount,
                    override_reason=reason if over else None,
                    imported_at=now(),
                )
            )
            if over:
                report["overrides"].append(
                    {"row": number, "voucher_no": voucher, "project_id": project.id, "override_reason": reason}
                )
            report["imported"] += 1
        record_project_action(
            session,
            caller=caller,
            action="payment_import",
            project_id=None,
            detail={
                **{k: report[k] for k in ("read", "imported", "skipped", "rejected")},
                "overrides": report["overrides"],
            },
        )
    return report


def _paid_fen(session: Session, project_id: int) -> int:
    total = session.execute(
        select(func.coalesce(func.sum(ProjectPayment.amount_fen), 0)).where(ProjectPayment.project_id == project_id)
    ).scalar_one()
    return int(total)
