"""Cross-field rules that JSON Schema cannot express, named in a standard's ``x-rules`` annotation.

Each rule takes a record (already normalised) and returns issues; the severity comes from the code (errors
reject the row, warnings only report). Rules tolerate malformed values: type errors are the schema's to report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from standards import checkdigits
from standards.validation import Issue, issue

Rule = Callable[[dict[str, Any]], list[Issue]]


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def birth_date_matches_citizen_id(record: dict[str, Any]) -> list[Issue]:
    """GB 11643: the birth date is digits 7–14 of the citizen ID number. Code ``person.birth_date_mismatch``."""
    citizen_id, born = record.get("citizen_id"), _date(record.get("birth_date"))
    if not isinstance(citizen_id, str) or born is None or checkdigits.check_resident_id(citizen_id):
        return []
    inside = checkdigits.resident_id_birth_date(citizen_id)
    if inside != born:
        return [
            issue(
                "person.birth_date_mismatch",
                "birth_date",
                f"birth_date {born} differs from {inside} inside the citizen ID number",
                record["birth_date"],
            )
        ]
    return []


def death_after_birth(record: dict[str, Any]) -> list[Issue]:
    """A death date before the birth date is impossible. Code ``person.death_before_birth``."""
    born, died = _date(record.get("birth_date")), _date(record.get("death_date"))
    if born and died and died < born:
        return [
            issue("person.death_before_birth", "death_date", f"death {died} before birth {born}", record["death_date"])
        ]
    return []


def _amounts(record: dict[str, Any]):
    for name, value in record.items():
        if name.endswith("_wan") and isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
            yield name, value


def amounts_not_negative(record: dict[str, Any]) -> list[Issue]:
    """Amounts in 万元 (fields named ``*_wan``) are never negative. Code ``amount.negative``."""
    return [
        issue("amount.negative", name, f"{name} is negative", value) for name, value in _amounts(record) if value < 0
    ]


def amount_precision(record: dict[str, Any]) -> list[Issue]:
    """Amounts in 万元 carry at most 6 decimals (one yuan is 0.0001 万元; 6 decimals reach one fen). Code
    ``amount.precision``."""
    found = []
    for name, value in _amounts(record):
        try:
            exponent = Decimal(str(value)).normalize().as_tuple().exponent
        except InvalidOperation:
            continue
        if isinstance(exponent, int) and exponent < -6:
            found.append(issue("amount.precision", name, f"{name} has more than 6 decimals", value))
    return found


def credit_subject_identified(record: dict[str, Any]) -> list[Issue]:
    """A legal entity is named by its USCC, a natural person by the citizen ID number; an individual business
    by either. Code ``credit.subject_id_missing``."""
    kind = record.get("subject_type")
    has_uscc, has_id = bool(record.get("subject_uscc")), bool(record.get("subject_citizen_id"))
    needs_id: dict[object, bool] = {  # looked up with the record's value, whatever its JSON type
        "legal_entity": not has_uscc,
        "natural_person": not has_id,
        "individual_business": not (has_uscc or has_id),
    }
    missing = needs_id.get(kind, False)
    if missing:
        return [
            issue(
                "credit.subject_id_missing",
                "subject_uscc" if kind != "natural_person" else "subject_citizen_id",
                f"a {kind} subject needs its identifier",
            )
        ]
    return []


def license_holder_id_matches_type(record: dict[str, Any]) -> list[Issue]:
    """holder_id must pass the format of holder_id_type: 111 → citizen ID number (GB 11643), 001 → USCC
    (GB 32100). Code ``license.holder_id_invalid``; for a 001 holder, ``uscc.is_citizen_id`` (a citizen ID number
    is refused with that code in every USCC field) and ``uscc.checksum`` (so that a legacy code its issuing
    authority holds is accepted as in every other USCC field: ``uscc.legacy_known``) are reported as themselves."""
    kind, holder = record.get("holder_id_type"), record.get("holder_id")
    if not isinstance(holder, str):
        return []
    checks: dict[object, Callable[[str], str | None]] = {
        "111": checkdigits.check_resident_id,
        "001": checkdigits.check_uscc,
    }
    check = checks.get(kind)
    problem = check(holder) if check else None
    if problem in ("uscc.is_citizen_id", "uscc.checksum"):
        what = "a citizen ID number (GB 11643)" if problem == "uscc.is_citizen_id" else "failing the GB 32100 check"
        return [issue(problem, "holder_id", f"holder_id of type 001 (USCC) is {what}", holder)]
    if problem:
        return [
            issue(
                "license.holder_id_invalid",
                "holder_id",
                f"holder_id is not a valid {'citizen ID number' if kind == '111' else 'USCC'} ({problem})",
                holder,
            )
        ]
    return []


def license_validity(record: dict[str, Any]) -> list[Issue]:
    """A licence either expires (valid_to) or is long-term (long_term: true), not both; valid_to not before
    valid_from. Code ``license.validity_conflict``."""
    found = []
    if record.get("long_term") is True and record.get("valid_to"):
        found.append(
            issue("license.validity_conflict", "valid_to", "long_term licences have no valid_to", record["valid_to"])
        )
    start, end = _date(record.get("valid_from")), _date(record.get("valid_to"))
    if start and end and end < start:
        found.append(
            issue(
                "license.validity_conflict", "valid_to", f"valid_to {end} before valid_from {start}", record["valid_to"]
            )
        )
    return found


def license_id_check_character(record: dict[str, Any]) -> list[Issue]:
    """The last character of a licence identifier appears to be ISO 7064 MOD 37,36 over the other characters
    without dots: confirmed on public samples, not on the standard's text, so a mismatch is only a warning
    ``license_id.checksum``."""
    value = record.get("license_id")
    if not isinstance(value, str) or "." not in value:
        return []
    body = value[: value.rfind(".")].replace(".", "")
    if not body.isalnum() or not body.isascii():
        return []
    if checkdigits.license_check_character(body.upper()) != value[-1]:
        return [issue("license_id.checksum", "license_id", "the check character does not match MOD 37,36", value)]
    return []


RULES: dict[str, Rule] = {
    "birth_date_matches_citizen_id": birth_date_matches_citizen_id,
    "death_after_birth": death_after_birth,
    "amounts_not_negative": amounts_not_negative,
    "amount_precision": amount_precision,
    "credit_subject_identified": credit_subject_identified,
    "license_holder_id_matches_type": license_holder_id_matches_type,
    "license_validity": license_validity,
    "license_id_check_character": license_id_check_character,
}
