"""Portfolio statistics of e-government projects: counts and amounts by stage, by declaring department and by
year — what the finance and big-data bureaus' dashboards show.

Amounts are 万元 as strings with two decimals, summed exactly from the stored 分: ``requested_wan`` (Σ amount
requested), ``control_price_wan`` (Σ control prices set), ``approved_wan`` (Σ approved amounts). Every project
counts, drafts and rejected or withdrawn ones included, each under its stage; ``year`` narrows to one budget year
(the by-year table then has that year only).

By stage and by year every project counts. By department, a caller that does not see every department's projects
(:func:`mdm.projects.service.visible`) gets its own department's row and one anonymous row of all the others
(:func:`mdm.projects.service.departments_shown`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from mdm.db import Database
from mdm.errors import InvalidRequest
from mdm.keys import Caller
from mdm.projects import dictionary
from mdm.projects.models import Project
from mdm.projects.rules import fen_to_wan
from mdm.projects.service import departments_shown


def _sums() -> list[Any]:
    return [
        func.count(Project.id),
        func.coalesce(func.sum(Project.requested_fen), 0),
        func.coalesce(func.sum(Project.control_price_fen), 0),
        func.coalesce(func.sum(Project.approved_fen), 0),
    ]


def _amounts(count: int, requested: int, control: int, approved: int) -> dict[str, Any]:
    return {
        "count": int(count),
        "requested_wan": str(fen_to_wan(int(requested))),
        "control_price_wan": str(fen_to_wan(int(control))),
        "approved_wan": str(fen_to_wan(int(approved))),
    }


def portfolio(db: Database, *, caller: Caller, year: int | None = None) -> dict[str, Any]:
    """``{"year", "by_stage": [{"stage", "title", "count", "requested_wan", "control_price_wan",
    "approved_wan"}], "by_department": [{"department_uscc", "department_name", …amounts}], "by_year": [{"year",
    …amounts}]}`` — stages in lifecycle order (the data dictionary's order, stages without projects shown with 0),
    departments by amount requested, largest first; the departments ``caller`` does not see folded into one last
    row ``{"department_uscc": None, "department_name": "其他部门", "departments": n, …amounts}``.
    ``request.invalid`` for a year outside 1949–2100."""
    if year is not None and not 1949 <= year <= 2100:
        raise InvalidRequest("request.invalid", "year must be 1949..2100")
    where = [Project.year == year] if year is not None else []
    with db.read() as session:
        stages = dictionary.codes(session, "project_stage")
        by_stage = {
            row[0]: _amounts(*row[1:])
            for row in session.execute(select(Project.status, *_sums()).where(*where).group_by(Project.status))
        }
        departments = session.execute(
            select(Project.department_uscc, func.max(Project.department_name), *_sums())
            .where(*where)
            .group_by(Project.department_uscc)
            .order_by(func.sum(Project.requested_fen).desc(), Project.department_uscc)
        ).all()
        years = session.execute(
            select(Project.year, *_sums()).where(*where).group_by(Project.year).order_by(Project.year)
        ).all()
    empty = _amounts(0, 0, 0, 0)
    return {
        "year": year,
        "by_stage": [
            {"stage": code, "title": title, **by_stage.get(code, empty)}
            for code, title in {**stages, **{s: s for s in by_stage if s not in stages}}.items()
        ],
        "by_department": departments_shown(
            caller,
            [{"department_uscc": u, "department_name": name, **_amounts(*rest)} for u, name, *rest in departments],
            sums=("count", "requested_wan", "control_price_wan", "approved_wan"),
        ),
        "by_year": [{"year": y, **_amounts(*rest)} for y, *rest in years],
    }
