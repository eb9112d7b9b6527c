"""Duplicate declarations (避免重复申报): similar projects of any department, this year and the two before,
found by name and scope on Chinese text.

Texts are put in search form by :func:`mdm.search.text.normalise` (NFKC, lower case) and cut into character
bigrams — the two-character shingles the search index ranks Chinese text with (DESIGN §3). The similarity of
two projects is ``0.5 × Dice(name bigrams) + 0.5 × Dice(scope bigrams)``, between 0 and 1; at or above
:data:`mdm.projects.rules.DUPLICATE_THRESHOLD` a declaration needs a not-a-duplicate statement.
"""

from __future__ import annotations

import re
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mdm.projects.models import Project
from mdm.projects.rules import DUPLICATE_THRESHOLD, DUPLICATE_YEARS
from mdm.search.text import normalise

_NOISE = re.compile(r"[\s\W_]+")
_STOP = ("项目", "建设", "工程", "系统")  # words almost every declaration holds; they say nothing of sameness


def bigrams(text: str) -> Counter[str]:
    """The character bigrams of ``text`` in search form, punctuation and common project words removed."""
    form = normalise(text)
    for word in _STOP:
        form = form.replace(word, " ")
    parts = [p for p in _NOISE.split(form) if p]
    grams: Counter[str] = Counter()
    for part in parts:
        if len(part) == 1:
            grams[part] += 1
        grams.update(part[i : i + 2] for i in range(len(part) - 1))
    return grams


def dice(a: Counter[str], b: Counter[str]) -> Decimal:
    """Sørensen–Dice coefficient of two bigram multisets (0 when both are empty)."""
    total = sum(a.values()) + sum(b.values())
    if not total:
        return Decimal(0)
    return Decimal(2 * sum((a & b).values())) / Decimal(total)


def similarity(name_a: str, scope_a: str, name_b: str, scope_b: str) -> Decimal:
    """Similarity of two declarations, 0..1, four decimals."""
    score = (dice(bigrams(name_a), bigrams(name_b)) + dice(bigrams(scope_a), bigrams(scope_b))) / 2
    return score.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def similar_projects(
    session: Session, *, name: str, scope: str, year: int, exclude_id: int | None = None, limit: int = 10
) -> list[dict[str, Any]]:
    """Projects of years ``year-2 … year`` (not drafts, not withdrawn), most similar first, with ``score``
    (a string, 0..1) and ``above_threshold``."""
    rows = session.execute(
        select(Project).where(
            Project.year.between(year - DUPLICATE_YEARS, year),
            Project.status.not_in(("draft", "withdrawn")),
        )
    ).scalars()
    found = []
    for row in rows:
        if row.id == exclude_id:
            continue
        score = similarity(name, scope, row.name, row.scope)
        if score > 0:
            found.append((score, row))
    found.sort(key=lambda pair: (-pair[0], pair[1].id))
    return [
        {
            "id": row.id,
            "name": row.name,
            "year": row.year,
            "department_uscc": row.department_uscc,
            "department_name": row.department_name,
            "status": row.status,
            "score": str(score),
            "above_threshold": score >= DUPLICATE_THRESHOLD,
        }
        for score, row in found[:limit]
    ]
