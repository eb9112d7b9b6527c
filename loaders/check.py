"""``mdm check``: one identifier checked exactly as a load would — the same normaliser, then the same format.

Result per value: ``{"value", "valid", "normalised", "code", "warnings"}`` — ``code`` is null when valid,
``normalised`` null when invalid, ``warnings`` a list of codes (``id.upgraded``, ``id.address_unknown``,
``division_code.unknown``, ``license_id.checksum``, ``identifier.full_width``, ``identifier.lower_case``,
``uscc.checksum_legacy``) — plus ``hint`` when an invalid value has a likely cause to act on
(:func:`standards.checkdigits.hint`). ``authoritative`` answers as a load from the identifier's issuing
authority would (``authoritative: true`` in its profile): a USCC failing only its check character is valid with
the warning ``uscc.checksum_legacy``.
"""

from __future__ import annotations

import datetime as dt
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


def check_value(
    fmt: str, value: str, code_lists: CodeListProvider | None = None, *, authoritative: bool = False
) -> dict[str, Any]:
    """Check one ``value`` in format ``fmt`` (a key of :data:`FORMATS`; ``KeyError`` otherwise)."""
    normalise, check = FORMATS[fmt]
    lists = code_lists or ShippedCodeLists()
    ctx = Context(date_formats=[], timezone=dt.UTC)
    result: dict[str, Any] = {"value": value, "valid": False, "normalised": None, "code": None, "warnings": []}
    try:
        cleaned = cells.clean(value)
        normalised = normalise(cleaned.text, ctx)
    except NormaliseError as exc:
        result["code"] = exc.code
        return result
    warnings = [code for code, _ in cleaned.notes + ctx.warnings]
    code = check(normalised) if check else _license_structure(normalised)
    legacy = checkdigits.legacy_warning(code) if code and authoritative else None
    if legacy:
        warnings.append(legacy)
        code = None
    if code:
        result.update(code=code, warnings=warnings)
        hint = checkdigits.hint(code, normalised)
        if hint:
            result["hint"] = hint
        return result
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
    result.update(valid=True, normalised=normalised, warnings=warnings)
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
