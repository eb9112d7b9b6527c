"""The O&M census (运维普查): per O&M category and year, the spread of contract costs, their share of the
construction cost of the systems maintained, growth on the previous year, and a proposed expenditure standard.

Counted: O&M projects of the year past draft and neither rejected nor withdrawn. Per category:

* ``count``; ``total_wan`` (Σ contract amount); ``min_wan``, ``p25_wan``, ``median_wan``, ``p75_wan``,
  ``max_wan`` of the contract amounts — quantiles by linear interpolation between order statistics
  (``statistics.quantiles`` with ``method="inclusive"``; Hyndman & Fan type 7, the default of R and NumPy);
* ``share_of_construction`` = Σ contract / Σ construction cost (4 decimals); ``ratio_min``, ``ratio_p25``,
  ``ratio_median``, ``ratio_p75``, ``ratio_max``: the same quantiles of each declaration's contract / construction
  cost (declarations without a construction cost left out; None when none has one);
* ``growth`` = total / previous year's total − 1 (4 decimals; None without a previous year);
* the proposed standard: the **median of the ratios** contract / construction cost (the declared rule,
  :data:`STANDARD_RULE`); each declaration is flagged ``above_standard`` (code ``project.om_above_standard``)
  when its own ratio is above it.

Every counted declaration enters the aggregates; ``declarations`` names only those of departments the caller sees
(:func:`mdm.projects.service.visible`: its own, or every one's for the reviewing bureaus and admin), and
``other_departments`` counts the rest of the category.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select

from mdm.db import Database
from mdm.keys import Caller
from mdm.projects import dictionary
from mdm.projects.models import Project
from mdm.projects.rules import FEN_PER_WAN, round_wan
from mdm.projects.service import visible

STANDARD_RULE = "median of contract / construction cost per category"
COUNTED = ("declared", "evaluated", "approved", "procuring", "implementing", "accepted", "filed")
_FOUR = Decimal("0.0001")


def _quantiles(values: list[Decimal]) -> tuple[Decimal, Decimal, Decimal]:
    if len(values) == 1:
        return values[0], values[0], values[0]
    p25, median, p75 = statistics.quantiles(values, n=4, method="inclusive")
    return Decimal(p25), Decimal(median), Decimal(p75)


def _ratio(a: Decimal, b: Decimal) -> Decimal | None:
    return None if not b else (a / b).quantize(_FOUR, rounding=ROUND_HALF_UP)


def _rows(session, year: int) -> list[Project]:
    return list(
        session.execute(
            select(Project)
            .where(Project.kind == "om", Project.year == year, Project.status.in_(COUNTED))
            .order_by(Project.id)
        ).scalars()
    )


def standard_for(session, *, category: str, year: int) -> Decimal | None:
    """The proposed expenditure standard of ``category`` in ``year``'s census (:data:`STANDARD_RULE`: the median
    of contract / construction cost over the category's counted declarations with a construction cost, each
    ratio to four decimals, the median rounded half up to four); None when no such declaration exists."""
    ratios = [
        _ratio(Decimal(r.requested_fen) / FEN_PER_WAN, Decimal(r.om_construction_cost_fen or 0) / FEN_PER_WAN)
        for r in _rows(session, year)
        if (r.om_category or "") == category
    ]
    known = [q for q in ratios if q is not None]
    return Decimal(statistics.median(known)).quantize(_FOUR, rounding=ROUND_HALF_UP) if known else None


def om_statistics(db: Database, *, year: int, caller: Caller) -> dict[str, Any]:
    """``{"year", "rule", "categories": [{"category", "title", "count", "total_wan", "min_wan", "p25_wan",
    "median_wan", "p75_wan", "max_wan", "share_of_construction", "ratio_min", "ratio_p25", "ratio_median",
    "ratio_p75", "ratio_max", "growth", "standard_ratio", "declarations": [{"id", "name",
    "contract_wan", "construction_cost_wan", "ratio", "above_standard", "code"}], "other_departments"}]}`` —
    amounts in 万元 and ratios as strings; ``declarations`` only of departments ``caller`` sees."""
    with db.read() as session:
        titles = dictionary.codes(session, "om_category")
        current, previous = _rows(session, year), _rows(session, year - 1)
    before: dict[str, Decimal] = defaultdict(Decimal)
    for row in previous:
        before[row.om_category or ""] += Decimal(row.requested_fen) / FEN_PER_WAN
    groups: dict[str, list[Project]] = defaultdict(list)
    for row in current:
        groups[row.om_category or ""].append(row)
    categories = []
    for category in sorted(groups, key=lambda c: (list(titles).index(c) if c in titles else len(titles), c)):
        rows = groups[category]
        amounts = [Decimal(r.requested_fen) / FEN_PER_WAN for r in rows]
        costs = [Decimal(r.om_construction_cost_fen or 0) / FEN_PER_WAN for r in rows]
        ratios = [_ratio(a, c) for a, c in zip(amounts, costs, strict=True)]
        known = [r for r in ratios if r is not None]
        standard = Decimal(statistics.median(known)).quantize(_FOUR, rounding=ROUND_HALF_UP) if known else None
        p25, median, p75 = _quantiles(sorted(amounts))
        spread = _quantiles(sorted(known)) if known else None
        total = sum(amounts, Decimal(0))
        categories.append(
            {
                "category": category,
                "title": titles.get(category, category),
                "count": len(rows),
                "total_wan": str(round_wan(total)),
                "min_wan": str(round_wan(min(amounts))),
                "p25_wan": str(round_wan(p25)),
                "median_wan": str(round_wan(median)),
                "p75_wan": str(round_wan(p75)),
                "max_wan": str(round_wan(max(amounts))),
                "share_of_construction": _str(_ratio(total, sum(costs, Decimal(0)))),
                "ratio_min": _str(min(known)) if known else None,
                "ratio_p25": _str(spread[0].quantize(_FOUR, rounding=ROUND_HALF_UP)) if spread else None,
                "ratio_median": _str(spread[1].quantize(_FOUR, rounding=ROUND_HALF_UP)) if spread else None,
                "ratio_p75": _str(spread[2].quantize(_FOUR, rounding=ROUND_HALF_UP)) if spread else None,
                "ratio_max": _str(max(known)) if known else None,
                "growth": _str(_growth(total, before.get(category))),
                "standard_ratio": _str(standard),
                "declarations": [
                    {
                        "id": r.id,
                        "name": r.name,
                        "contract_wan": str(round_wan(a)),
                        "construction_cost_wan": str(round_wan(c)),
                        "ratio": _str(q),
                        "above_standard": bool(q is not None and standard is not None and q > standard),
                        "code": "project.om_above_standard"
                        if q is not None and standard is not None and q > standard
                        else None,
                    }
                    for r, a, c, q in zip(rows, amounts, costs, ratios, strict=True)
                    if visible(caller, r.department_uscc)
                ],
                "other_departments": sum(1 for r in rows if not visible(caller, r.department_uscc)),
            }
        )
    return {"year": year, "rule": STANDARD_RULE, "categories": categories}


def _growth(total: Decimal, previous: Decimal | None) -> Decimal | None:
    """total / previous − 1, four decimals; None without a previous total."""
    if not previous:
        return None
    return (total / previous - 1).quantize(_FOUR, rounding=ROUND_HALF_UP)


def _str(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
