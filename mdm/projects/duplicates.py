"""Duplicate declarations (避免重复申报): similar projects of any department, this year and the two before,
found by name and scope on Chinese text.

1. **Search form.** Texts are put in search form by :func:`mdm.search.text.normalise` (NFKC, lower case);
   ``app`` / ``手机端`` are read as 移动应用 / 移动端.
2. **Markers.** From the name: the phase (二期, 第二期建设, （二期）, 第2期 → 2; no phase word → 1), the years
   (2025年度 → 2025) and other numbers (第1号 → 1). Phase words are then removed from name and scope, so
   二期 and 第二期建设 read alike.
3. **Words.** Build words that every declaration holds (:data:`STOP_WORDS`: 项目, 建设, 工程, 系统, 平台, 移动应用,
   升级, 改造, …) are removed; the rest is cut into character bigrams — the two-character shingles the search
   index ranks Chinese text with (DESIGN §3). Common words of e-government (:data:`COMMON_WORDS`: 智慧, 管理,
   服务, 数据, 共享, 监管, …) weigh :data:`COMMON_WEIGHT` of a rarer bigram, so two projects do not look alike
   only because both are 智慧 … 管理 … 服务.
4. **Score.** ``0.5 × weighted Dice(name) + 0.5 × weighted Dice(scope)``, between 0 and 1. When the markers
   differ — another phase, another year, another numbered object — the pair is a different project declared
   alike, and the score is multiplied by :data:`MARKER_FACTOR`.

At or above :data:`mdm.projects.rules.DUPLICATE_THRESHOLD` a declaration needs a not-a-duplicate statement
(``project.duplicate_suspected``). Measured on ``tests/data/duplicate_pairs.yaml`` (labelled pairs) by
``tests/test_projects_duplicates_measured.py``: recall and precision at the threshold are printed and asserted.
"""

from __future__ import annotations

import re
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from mdm.projects.models import Project
from mdm.projects.rules import DUPLICATE_THRESHOLD, DUPLICATE_YEARS
from mdm.search.text import normalise

_NOISE = re.compile(r"[\s\W_]+")
_SYNONYMS = (("app", "移动应用"), ("手机端", "移动端"), ("手机", "移动端"))
_NUMERALS = {c: n for n, c in enumerate("一二三四五六七八九十", start=1)}
_PHASE = re.compile(r"[（(]?第?([一二三四五六七八九十]|\d{1,2})期(?:建设|工程|项目)*[）)]?")
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(?:年度|年)?(?!\d)")
_NUMBER = re.compile(r"\d+")
# Words almost every declaration holds; they say nothing of sameness (longest first).
STOP_WORDS = (
    "建设项目", "建设工程", "移动应用", "信息化", "项目", "建设", "工程", "系统", "平台", "新建", "升级", "改造",
    "提升", "改版", "完善", "功能",
)  # fmt: skip
# Common words of e-government declarations: a bigram of one weighs COMMON_WEIGHT.
COMMON_WORDS = (
    "智慧", "智能", "管理", "服务", "信息", "数据", "共享", "综合", "监管", "监测", "预警", "全市", "市级", "统一",
    "一体", "体化", "基础", "应用", "中心", "部门", "实现", "提供", "办理", "线上", "网上", "政务", "移动", "动端",
)  # fmt: skip
COMMON_WEIGHT = Decimal("0.3")
MARKER_FACTOR = Decimal("0.4")


class Markers(NamedTuple):
    """What tells two look-alike declarations apart: phase (1 without a phase word), years, other numbers."""

    phase: int
    years: frozenset[str]
    numbers: frozenset[str]


def _form(text: str) -> str:
    form = normalise(text)
    for word, reading in _SYNONYMS:
        form = form.replace(word, reading)
    return form


def _phase_number(token: str) -> int:
    return int(token) if token.isdigit() else _NUMERALS[token]


def markers(name: str) -> Markers:
    """The markers of a declaration's name (step 2)."""
    form = _form(name)
    phases = [_phase_number(m.group(1)) for m in _PHASE.finditer(form)]
    rest = _PHASE.sub(" ", form)
    years = frozenset(_YEAR.findall(rest))
    numbers = frozenset(_NUMBER.findall(_YEAR.sub(" ", rest)))
    return Markers(phases[-1] if phases else 1, years, numbers)


def bigrams(text: str) -> Counter[str]:
    """The character bigrams of ``text`` in search form, phase words, punctuation and stop words removed."""
    form = _PHASE.sub(" ", _form(text))
    for word in STOP_WORDS:
        form = form.replace(word, " ")
    parts = [p for p in _NOISE.split(form) if p]
    grams: Counter[str] = Counter()
    for part in parts:
        if len(part) == 1:
            grams[part] += 1
        grams.update(part[i : i + 2] for i in range(len(part) - 1))
    return grams


def _weight(gram: str) -> Decimal:
    return COMMON_WEIGHT if gram in COMMON_WORDS else Decimal(1)


def dice(a: Counter[str], b: Counter[str]) -> Decimal:
    """Weighted Sørensen–Dice coefficient of two bigram multisets (0 when both are empty): common words'
    bigrams count :data:`COMMON_WEIGHT`."""
    total = sum(_weight(g) * n for g, n in (a + b).items())
    if not total:
        return Decimal(0)
    return 2 * sum((_weight(g) * n for g, n in (a & b).items()), Decimal(0)) / total


def similarity(name_a: str, scope_a: str, name_b: str, scope_b: str) -> Decimal:
    """Similarity of two declarations, 0..1, four decimals (steps 1–4)."""
    score = (dice(bigrams(name_a), bigrams(name_b)) + dice(bigrams(scope_a), bigrams(scope_b))) / 2
    if markers(name_a) != markers(name_b):
        score *= MARKER_FACTOR
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
