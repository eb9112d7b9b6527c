"""``mdm check``: identifiers checked exactly as a load would — the same normaliser, then the same format.

Result per value: ``{"value", "valid", "normalised", "code", "warnings"}`` — ``code`` is null when valid,
``normalised`` null when invalid, ``warnings`` a list of codes (``id.upgraded``, ``id.address_unknown``,
``division_code.unknown``, ``license_id.checksum``, ``identifier.full_width``, ``identifier.lower_case``,
``uscc.checksum_legacy``, ``uscc.legacy_known``) — plus ``hint`` when an invalid value has a likely cause to act
on (:func:`standards.checkdigits.hint`).

A USCC that fails only its check character is a legacy code where a load would take it as one: with
``authoritative`` (a load of ``legal_entity`` keys from the issuing authority, ``authoritative: true`` in its
profile) when it has a USCC's structure (:func:`standards.checkdigits.legacy_uscc`: warning
``uscc.checksum_legacy``, or the structure code it breaks); from any source when ``known_legacy`` (the store's
:class:`mdm.identifiers.KnownLegacyCodes`) says its issuer holds it (warning ``uscc.legacy_known``; asked once
for all values). A valid citizen ID number is never a USCC (``uscc.is_citizen_id``).

As a load does (issue 26): a spreadsheet text marker is stripped (``'…``, ``="…"``: warning
``identifier.text_wrapper``); ``number="json"`` or ``"xlsx"`` checks values as number cells of that kind of file
(exact integers taken with ``identifier.from_number``, others ``id.lossy_numeric``:
:func:`loaders.rows.exact_integer`); ``width`` checks a fixed-width digit code, padded with ``pad``
(``code.zero_padded``) or refused (``code.length``) — the format ``code`` is such a code and nothing else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from loaders import cells
from loaders.normalise import Context, NormaliseError, division_code, fixed_width, identifier, resident_id
from loaders.rows import exact_integer
from standards import checkdigits
from standards.codelists import CodeListProvider, ShippedCodeLists
from standards.rules import license_id_check_character

FORMATS = {
    "cn-resident-id": (resident_id, checkdigits.check_resident_id),
    "uscc": (identifier, checkdigits.check_uscc),
    "org-code": (identifier, checkdigits.check_org_code),
    "division-code": (division_code, checkdigits.check_division_code),
    "license-id": (identifier, None),
    "code": (identifier, lambda value: None),  # a fixed-width digit code (with a width)
}
NUMBER_CELLS = ("json", "xlsx")
KnownLegacy = Callable[[Collection[str]], set[str]]


@dataclass(frozen=True)
class Arrival:
    """How the values arrive, as a load would see them: ``number`` (``json``/``xlsx``: as number cells of
    that kind of file, or None for text), ``width`` (a fixed-width digit code) and ``pad`` (pad it)."""

    number: str | None = None
    width: int | None = None
    pad: bool = False


def check_value(
    fmt: str,
    value: str,
    code_lists: CodeListProvider | None = None,
    *,
    authoritative: bool = False,
    arrival: Arrival | None = None,
) -> dict[str, Any]:
    """Check one ``value`` in format ``fmt`` (a key of :data:`FORMATS`; ``KeyError`` otherwise), without the
    store's legacy codes (see :func:`check_values`)."""
    return check_values(fmt, [value], code_lists, authoritative=authoritative, arrival=arrival)[0]


def check_values(
    fmt: str,
    values: list[str],
    code_lists: CodeListProvider | None = None,
    *,
    authoritative: bool = False,
    known_legacy: KnownLegacy | None = None,
    arrival: Arrival | None = None,
) -> list[dict[str, Any]]:
    """Check each of ``values`` in format ``fmt`` (``KeyError`` for an unknown format); one result per value,
    in order. ``known_legacy`` is asked once, for the USCCs that only a held legacy code could save;
    ``arrival`` says how the values arrive (:class:`Arrival`; default: text cells)."""
    lists = code_lists or ShippedCodeLists()
    how = arrival or Arrival()
    pending = [_check(fmt, value, lists, authoritative=authoritative, arrival=how) for value in values]
    wanted = {p.normalised for p in pending if p.lookup and p.normalised}
    held = known_legacy(wanted) if known_legacy and wanted else set()
    return [_finish(fmt, p, lists, held) for p in pending]


@dataclass
class _Checked:
    """One value part-way: its result, its normalised form, the code it breaks (None if none), and whether a
    held legacy code would save it (``lookup``)."""

    result: dict[str, Any]
    normalised: str | None = None
    code: str | None = None
    lookup: bool = False


def _number(text: str) -> int | float | None:
    """A number cell's value from its spelling (None when it is no number)."""
    try:
        return int(text) if text.lstrip("+-").isdigit() else float(text)
    except ValueError:
        return None


def _check(fmt: str, value: str, lists: CodeListProvider, *, authoritative: bool, arrival: Arrival) -> _Checked:
    normalise, check = FORMATS[fmt]
    ctx = Context(date_formats=[], timezone=dt.UTC)
    result: dict[str, Any] = {"value": value, "valid": False, "normalised": None, "code": None, "warnings": []}
    try:
        cleaned = cells.clean(value)
        if arrival.number:
            ctx.numeric = True
            digits = 15 if arrival.number == "xlsx" else None  # an XLSX number cell is a double (Excel: 15 digits)
            ctx.exact = exact_integer(_number(cleaned.text.strip()), digits=digits)
        normalised = normalise(cleaned.text, ctx)
        if arrival.width:
            declared = "the width checked (--width)"
            normalised = fixed_width(normalised, ctx, width=arrival.width, pad=arrival.pad, declared=declared)
    except NormaliseError as exc:
        result["code"] = exc.code
        return _Checked(result)
    result["warnings"] = [code for code, _ in cleaned.notes + ctx.warnings]
    code = check(normalised) if check else _license_structure(normalised)
    legacy = checkdigits.legacy_uscc(normalised, lists) if fmt == "uscc" and code else None
    if authoritative and legacy == "uscc.checksum_legacy":
        result["warnings"].append(legacy)
        return _Checked(result, normalised)
    if authoritative and legacy:
        return _Checked(result, normalised, legacy)  # the structure it breaks: not even a legacy code
    return _Checked(result, normalised, code, lookup=legacy == "uscc.checksum_legacy")


def _finish(fmt: str, checked: _Checked, lists: CodeListProvider, held: set[str]) -> dict[str, Any]:
    result, normalised, code = checked.result, checked.normalised, checked.code
    if checked.lookup and normalised in held:
        result["warnings"].append("uscc.legacy_known")
        code = None
    if normalised is None:
        return result  # refused by the normaliser: its code is set, no warnings
    if code:
        result["code"] = code
        hint = checkdigits.hint(code, normalised)
        if hint:
            result["hint"] = hint
        return result
    warnings = result["warnings"]
    if (
        fmt == "cn-resident-id"
        and lists.covers("divisions", normalised[:6])
        and not lists.contains("divisions", normalised[:6])
    ):
        warnings.append("id.address_unknown")
    if fmt == "division-code" and lists.covers("divisions", normalised) and not lists.contains("divisions", normalised):
        warnings.append("division_code.unknown")
    if fmt == "license-id":
        warnings.extend(i.code for i in license_id_check_character({"license_id": normalised}))
    result.update(valid=True, normalised=normalised)
    return result


def _license_structure(value: str) -> str | None:
    from standards import default_registry

    problems = (
        default_registry()
        .get("e_license")
        .validate(
            {
                "license_id": value,
                "license_type_code": "x",
                "holder_name": "x",
                "holder_id_type": "001",
                "holder_id": "x",
                "status": "valid",
            }
        )
    )
    return "schema.pattern" if any(p.field == "license_id" for p in problems) else None
