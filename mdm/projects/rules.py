"""The rules of the city's 电子政务项目管理办法 (2019) and 国办发〔2019〕57号 as data: amounts, thresholds, and
what counts as a serious credit record. Amounts are 万元 with two decimals at the edges and integer 分 inside.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from mdm.errors import InvalidRequest

FEN_PER_WAN = 1_000_000  # 1 万元 = 10,000 元 = 1,000,000 分
CENT_OF_WAN = Decimal("0.01")
MAX_WAN = Decimal("1000000000")  # 10^9 万元: far above any project, and 10^15 分 fits a BIGINT
MAX_ROW_ID = 2**63 - 1  # a row id (project, document) is a positive BIGINT; larger is refused, never queried
MAX_COUNT = 1_000_000  # a count (function points of one type): far above any system, exact in every step

# Projects of 100 万元 or more need a supervision (监理) contract before implementation (管理办法).
SUPERVISION_THRESHOLD_FEN = 100 * FEN_PER_WAN
# A declaration this similar (0..1) to another of the last three years needs a not-a-duplicate statement.
DUPLICATE_THRESHOLD = Decimal("0.45")
DUPLICATE_YEARS = 2  # this year and the two before

# Which stages take a document of each type, and whose it is (管理办法: the declaring department files its
# proposal and feasibility study at declaration, its contracts from procurement and its acceptance report at the
# end; the reviewing bureaus file their evaluation reports and the approval). A type stewards add to the
# ``project_document_type`` list later is taken, as ``other`` is, in every open stage from any project role.
# Closed stages (filed, rejected, withdrawn) take no document.
OPEN_STAGES = ("draft", "declared", "evaluated", "approved", "procuring", "implementing", "accepted")
DOCUMENT_RULES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "proposal": (("draft", "declared"), ("declarer",)),
    "feasibility_study": (("draft", "declared"), ("declarer",)),
    "performance_report": (("declared", "evaluated"), ("finance_reviewer",)),
    "software_evaluation": (("declared", "evaluated"), ("bigdata_reviewer",)),
    "hardware_evaluation": (("declared", "evaluated"), ("finance_reviewer",)),
    "approval": (("evaluated", "approved"), ("plan_control", "finance_approver")),
    "contract": (("procuring", "implementing"), ("declarer",)),
    "supervision_contract": (("procuring", "implementing"), ("declarer",)),
    "acceptance_report": (("implementing", "accepted"), ("declarer",)),
}

# The city's reviewing bureaus see and act on every department's projects, each in its own steps; every other
# key (a declarer, a reader, a loader) sees only its own department's projects, and another's answers as a
# missing one does (404 ``project.not_found``). An admin (steward) sees and acts on all.
REVIEWING_ROLES = ("bigdata_reviewer", "finance_reviewer", "plan_control", "finance_approver")
# The stages in which each role has a step (lifecycle.TRANSITIONS, the evaluations, vendors and payments): where a
# role may file a document of a type that DOCUMENT_RULES does not list (``other``, types stewards add later).
ROLE_STAGES: dict[str, tuple[str, ...]] = {
    "declarer": OPEN_STAGES,
    "bigdata_reviewer": ("declared", "evaluated"),
    "finance_reviewer": ("declared", "evaluated"),
    "plan_control": ("declared", "evaluated"),
    "finance_approver": ("declared", "evaluated", "approved", "procuring", "implementing", "accepted"),
}

# Payments (金财工程 vouchers) are dated from 1 January of the project's budget year to 31 December of the year
# PAYMENT_YEARS later (multi-year construction and its retention money; 财政部 项目支出 rules close a project's
# funds within a few years), and never after the day of import.
PAYMENT_YEARS = 5

# Finance's override of the approved amount (a written override_reason) reaches at most OVERRIDE_CEILING_PERCENT
# of it: 政府采购法 第四十九条 lets supplementary contracts add at most 10% of the original contract's amount, and
# anything beyond is a new budget decision (budget control again), not a payment override.
OVERRIDE_CEILING_PERCENT = 110

# A serious credit record (政府采购法 art. 22: no 重大违法记录 in the three years before; 政府采购法实施条例
# art. 19: 责令停产停业、吊销许可证或者执照、较大数额罚款; 财库〔2022〕3号: a 较大数额罚款 is 200 万元 or
# more). Dishonest-debtor and black-list records count while active.
SERIOUS_RECORD_TYPES = ("dishonest_debtor", "black_list")
SERIOUS_PENALTY_CATEGORIES = ("permit_qualification", "business_restriction", "4", "5")
LARGE_FINE_WAN = Decimal("200")
SERIOUS_LOOKBACK_YEARS = 3


def wan_to_fen(value: Any, *, field: str) -> int:
    """An amount in 万元 (a number or numeric string, at most two decimals, not negative) as integer 分.

    Raises :class:`InvalidRequest` (``project.invalid``) otherwise.
    """
    try:
        amount = Decimal(str(value))
        exact = amount.is_finite() and 0 <= amount <= MAX_WAN and amount == amount.quantize(CENT_OF_WAN)
    except (InvalidOperation, ValueError):
        exact = False
    if not exact or isinstance(value, bool):
        raise InvalidRequest(
            "project.invalid", f"{field} must be an amount in 万元 from 0 to {MAX_WAN} with two decimals, got {value!r}"
        )
    return int(amount * FEN_PER_WAN)


def row_id(value: Any, *, field: str, code: str = "project.invalid") -> int:
    """``value`` as a row id: an integer (or a string of digits) from 1 to :data:`MAX_ROW_ID`; ``code`` (400)
    otherwise — never an integer the database cannot hold."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip()) if len(value.strip()) <= 20 else 0
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_ROW_ID:
        raise InvalidRequest(code, f"{field} must be an id from 1 to {MAX_ROW_ID}")
    return value


def bounded_count(value: Any, *, field: str) -> int:
    """``value`` as a count: an integer from 0 to :data:`MAX_COUNT`; ``project.invalid`` (400) otherwise."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_COUNT:
        raise InvalidRequest("project.invalid", f"{field} must be an integer from 0 to {MAX_COUNT:,}")
    return value


def fen_to_wan(fen: int | None) -> Decimal | None:
    """Integer 分 as 万元 with two decimals (rounded half up)."""
    if fen is None:
        return None
    return (Decimal(fen) / FEN_PER_WAN).quantize(CENT_OF_WAN, rounding=ROUND_HALF_UP)


def round_wan(amount: Decimal) -> Decimal:
    """An amount in 万元 rounded half up to two decimals."""
    return amount.quantize(CENT_OF_WAN, rounding=ROUND_HALF_UP)


def is_serious(record: dict[str, Any], *, today: dt.date) -> bool:
    """True if a ``credit_record`` (its data) is an active serious record on ``today`` (see the sources above)."""
    if record.get("status", "active") != "active":
        return False
    valid_to = record.get("valid_to")
    if valid_to and dt.date.fromisoformat(valid_to) < today:
        return False
    kind = record.get("record_type")
    if kind in SERIOUS_RECORD_TYPES:
        return True
    if kind != "administrative_penalty":
        return False
    decided = record.get("decision_date")
    if decided and dt.date.fromisoformat(decided) < today.replace(year=today.year - SERIOUS_LOOKBACK_YEARS):
        return False
    if record.get("penalty_category") in SERIOUS_PENALTY_CATEGORIES:
        return True
    return Decimal(str(record.get("fine_wan") or 0)) >= LARGE_FINE_WAN
