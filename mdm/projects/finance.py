"""The finance system (金财工程): export approved budget lines, import payment records.

Export layout (docs/projects.md "Finance export"), one line per approved project of a year (stage approved or
later): ``project_id, project_name, department_uscc, year, approved_wan, budget_category`` where
``budget_category`` is ``construction`` (信息化建设) or ``om`` (信息化运维). CSV is UTF-8 without BOM, comma
separated, header first, amounts with two decimals; JSON is ``{"lines": [...]}`` with the same names.

Import layout: CSV with header ``voucher_no,project_id,paid_on,amount_wan`` (ISO date). A voucher already
imported is skipped (re-importing a file changes nothing); a bad row is reported with ``project.payment_invalid``
and its row number, never failing the file.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from sqlalchemy import select

from mdm.db import Database
from mdm.errors import InvalidRequest
from mdm.keys import Caller
from mdm.projects.actions import now, record_project_action
from mdm.projects.models import Project, ProjectPayment
from mdm.projects.rules import fen_to_wan, wan_to_fen

EXPORT_COLUMNS = ("project_id", "project_name", "department_uscc", "year", "approved_wan", "budget_category")
IMPORT_COLUMNS = ("voucher_no", "project_id", "paid_on", "amount_wan")
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
    """The CSV text of budget lines."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(lines)
    return out.getvalue()


def import_payments(db: Database, *, caller: Caller, text: str) -> dict[str, Any]:
    """Import payment records from CSV ``text``. Returns ``{"read", "imported", "skipped", "rejected",
    "rejects": [{"row", "code", "message"}]}``. Raises ``project.payment_invalid`` (400) for a wrong header."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if tuple(reader.fieldnames or ()) != IMPORT_COLUMNS:
        raise InvalidRequest("project.payment_invalid", f"the header must be {','.join(IMPORT_COLUMNS)}")
    report: dict[str, Any] = {"read": 0, "imported": 0, "skipped": 0, "rejected": 0, "rejects": []}
    with db.write() as session:
        known = set(session.execute(select(ProjectPayment.voucher_no)).scalars())
        for number, row in enumerate(reader, start=2):
            report["read"] += 1
            try:
                voucher = (row["voucher_no"] or "").strip()
                if not voucher or len(voucher) > 64:
                    raise ValueError("voucher_no must be 1 to 64 characters")
                project = session.get(Project, int(row["project_id"]))
                if project is None:
                    raise ValueError(f"no project {row['project_id']}")
                paid_on = dt.date.fromisoformat((row["paid_on"] or "").strip())
                amount = wan_to_fen((row["amount_wan"] or "").strip(), field="amount_wan")
            except (ValueError, TypeError, InvalidRequest) as exc:
                report["rejected"] += 1
                report["rejects"].append({"row": number, "code": "project.payment_invalid", "message": str(exc)})
                continue
            if voucher in known:
                report["skipped"] += 1
                continue
            known.add(voucher)
            session.add(
                ProjectPayment(
                    project_id=project.id, voucher_no=voucher, paid_on=paid_on, amount_fen=amount, imported_at=now()
                )
            )
            report["imported"] += 1
        record_project_action(
            session,
            caller=caller,
            action="payment_import",
            project_id=None,
            detail={k: report[k] for k in ("read", "imported", "skipped", "rejected")},
        )
    return report
