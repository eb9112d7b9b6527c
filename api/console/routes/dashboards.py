"""Dashboards (统计看板): projects and amounts by stage, department and year; the O&M census per category (box plots
of cost and of the share of construction cost, growth, the proposed expenditure standard, outliers). Each chart's
data is the API's (``GET /projects/statistics``, ``GET /projects/om-statistics``) and downloads as CSV or XLSX
from ``/console/data/{table}.{csv|xlsx}``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from api.console import charts, exports
from api.console.render import page
from api.console.session import User
from api.deps import DatabaseDep
from api.params import DIGITS
from mdm.errors import NotFound
from mdm.keys import Caller
from mdm.projects import census, statistics

router = APIRouter()
Year = Annotated[int | None, Query(ge=1949, le=2100), DIGITS]
AMOUNTS = ("count", "requested_wan", "control_price_wan", "approved_wan")
AMOUNT_HEADERS = [
    "项目数 count",
    "申报金额（万元） requested_wan",
    "控制价（万元） control_price_wan",
    "批复金额（万元） approved_wan",
]


def _om_year(db: Any, year: int | None, *, caller: Caller) -> int:
    """The census year shown: the one asked for, else the latest year with projects, else this year."""
    if year is not None:
        return year
    years = [y["year"] for y in statistics.portfolio(db, caller=caller)["by_year"]]
    return max(years) if years else dt.date.today().year


def tables(db: Any, name: str, year: int | None, *, caller: Caller) -> exports.Table:
    """The table behind a dashboard chart. ``request.not_found`` for an unknown table name."""
    if name.startswith("om-"):
        stats = census.om_statistics(db, year=_om_year(db, year, caller=caller), caller=caller)
        if name == "om-categories":
            keys = [
                "category",
                "title",
                "count",
                "total_wan",
                "min_wan",
                "p25_wan",
                "median_wan",
                "p75_wan",
                "max_wan",
                "share_of_construction",
                "ratio_min",
                "ratio_p25",
                "ratio_median",
                "ratio_p75",
                "ratio_max",
                "growth",
                "standard_ratio",
            ]
            rows = [[c[k] for k in keys] for c in stats["categories"]]
            return exports.Table(f"om-categories-{stats['year']}", "运维普查", keys, rows)
        if name == "om-declarations":
            keys = ["id", "name", "contract_wan", "construction_cost_wan", "ratio", "above_standard", "code"]
            rows = [[c["category"], *[d[k] for k in keys]] for c in stats["categories"] for d in c["declarations"]]
            return exports.Table(f"om-declarations-{stats['year']}", "运维申报", ["category", *keys], rows)
    else:
        stats = statistics.portfolio(db, year=year, caller=caller)
        suffix = f"-{year}" if year else ""
        if name == "projects-by-stage":
            rows = [[s["stage"], s["title"], *[s[k] for k in AMOUNTS]] for s in stats["by_stage"]]
            headers = ["阶段 stage", "名称 title", *AMOUNT_HEADERS]
            return exports.Table(f"projects-by-stage{suffix}", "按阶段", headers, rows)
        if name == "projects-by-department":
            rows = [
                [d["department_uscc"], d["department_name"], *[d[k] for k in AMOUNTS]] for d in stats["by_department"]
            ]
            return exports.Table(
                f"projects-by-department{suffix}",
                "按部门",
                ["统一社会信用代码 department_uscc", "部门 department_name", *AMOUNT_HEADERS],
                rows,
            )
        if name == "projects-by-year":
            rows = [[y["year"], *[y[k] for k in AMOUNTS]] for y in stats["by_year"]]
            return exports.Table(f"projects-by-year{suffix}", "按年度", ["年度 year", *AMOUNT_HEADERS], rows)
    raise NotFound("request.not_found", f"no dashboard table {name}")


def _f(value: str) -> float:
    return float(value)


@router.get("/dashboards")
def dashboards(request: Request, user: User, db: DatabaseDep, year: Year = None) -> Response:
    stats = statistics.portfolio(db, year=year, caller=user.caller)
    om_year = _om_year(db, year, caller=user.caller)
    om = census.om_statistics(db, year=om_year, caller=user.caller)
    top = stats["by_department"][:10]
    chart_set = {
        "by-stage": charts.bar(
            "按阶段：项目数",
            [s["title"] for s in stats["by_stage"]],
            {"项目数": [s["count"] for s in stats["by_stage"]]},
            axis="项目数",
            integers=True,
        ),
        "by-stage-amount": charts.bar(
            "按阶段：金额（万元）",
            [s["title"] for s in stats["by_stage"]],
            {
                "申报金额": [_f(s["requested_wan"]) for s in stats["by_stage"]],
                "批复金额": [_f(s["approved_wan"]) for s in stats["by_stage"]],
            },
            axis="万元",
        ),
        "by-department": charts.bar(
            "按申报部门：申报金额（万元，前 10）",
            [d["department_name"] for d in top],
            {"申报金额": [_f(d["requested_wan"]) for d in top]},
            axis="万元",
        ),
        "by-year": charts.bar(
            "按年度：金额（万元）",
            [str(y["year"]) for y in stats["by_year"]],
            {
                "申报金额": [_f(y["requested_wan"]) for y in stats["by_year"]],
                "批复金额": [_f(y["approved_wan"]) for y in stats["by_year"]],
            },
            axis="万元",
        ),
    }
    om_charts = (
        {
            "om-cost": charts.om_boxes(om, measure="cost"),
            "om-share": charts.om_boxes(om, measure="share"),
            "om-growth": charts.om_growth(om),
        }
        if om["categories"]
        else {}
    )
    return page(
        request,
        "dashboards.html",
        user=user,
        section="dashboards",
        title="统计看板",
        year=year,
        stats=stats,
        om=om,
        om_year=om_year,
        charts=chart_set,
        om_charts=om_charts,
        top=top,
    )


@router.get("/data/{name}.{fmt}")
def data(user: User, db: DatabaseDep, name: str, fmt: str, year: Year = None) -> Response:
    """A dashboard table as CSV or XLSX; 404 ``request.not_found`` for another name or format."""
    if fmt not in ("csv", "xlsx"):
        raise NotFound("request.not_found", "tables download as csv or xlsx")
    return exports.response(tables(db, name, year, caller=user.caller), fmt)
