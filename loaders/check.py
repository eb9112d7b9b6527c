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
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from loaders import cells
from loaders.normalise import Context, NormaliseError, division_code, identifier, resident_id
from standards import checkdigits
from standards.codelists import CodeListProvider, ShippedCodeLists
from standards.rules import license_id_check_character

FORMATS = {
    "cn-resident-id": (resident_id, checkdigits.check_resident_id),
    "uscc": (identifier, checkdigits.check_uscc),
    "org-code": (identifier, checkdigits.check_org_code),
    "division-code": (division_code, checkdigits.check_division_code),
    "license-id": (identifier, None),
}
KnownLegacy = Callable[[Collection[str]], set[str]]


def check_value(
    fmt: str, value: str, code_lists: CodeListProvider | None = None, *, authoritative: bool = False
) -> dict[str, Any]:
    """Check one ``value`` in format ``fmt`` (a key of :data:`FORMATS`; ``KeyError`` otherwise), without the
    store's legacy codes (see :func:`check_values`)."""
    return check_values(fmt, [value], code_lists, authoritative=authoritative)[0]


def check_values(
    fmt: str,
    values: list[str],
    code_lists: CodeListProvider | None = None,
    *,
    authoritative: bool = False,
    known_legacy: KnownLegacy | None = None,
) -> list[dict[str, Any]]:
    """Check each of ``values`` in format ``fmt`` (``KeyError`` for an unknown format); one result per value,
    in order. ``known_legacy`` is asked once, for the USCCs that only a held legacy code could save."""
    lists = code_lists or ShippedCodeLists()
    pending = [_check(fmt, value, lists, authoritative=authoritative) for value in values]
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


def _check(fmt: str, value: str, lists: CodeListProvider, *, authoritative: bool) -> _Checked:
    normalise, check = FORMATS[fmt]
    ctx = Context(date_formats=[], timezone=dt.UTC)
    result: dict[str, Any] = {"value": value, "valid": False, "normalised": None, "code": None, "warnings": []}
    try:
        cleaned = cells.clean(value)
        normalised = normalise(cleaned.text, ctx)
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
