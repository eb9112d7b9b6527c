"""Validation results as reports: one :class:`Issue` per broken rule, with a stable code, never a first exception.

The mapping from a JSON Schema keyword to a code lives here, so every caller (loader, API, ``mdm check``)
names a failure the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from standards import checkdigits
from standards.codes import CODES, check
from standards.formats import FormatViolation

if TYPE_CHECKING:
    from jsonschema import ValidationError

# Keyed by object: looked up with what jsonschema reports, which its stubs allow to be unset.
_KEYWORD_CODES: dict[object, str] = {
    "required": "schema.required",
    "type": "schema.type",
    "enum": "schema.enum",
    "const": "schema.enum",
    "pattern": "schema.pattern",
    "minLength": "schema.length",
    "maxLength": "schema.length",
    "minItems": "schema.length",
    "maxItems": "schema.length",
    "minimum": "schema.range",
    "maximum": "schema.range",
    "exclusiveMinimum": "schema.range",
    "exclusiveMaximum": "schema.range",
    "multipleOf": "schema.range",
    "additionalProperties": "schema.additional_property",
    "unevaluatedProperties": "schema.additional_property",
}
_FORMAT_CODES: dict[object, str] = {"date": "date.invalid", "date-time": "datetime.invalid"}


@dataclass(frozen=True)
class Issue:
    """One broken rule. ``field`` is a dotted path ('' for the record); ``value`` the offending value as given."""

    code: str
    field: str
    message: str
    value: Any = None

    @property
    def severity(self) -> str:
        return CODES[self.code].severity

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def issue(code: str, field: str, message: str, value: Any = None) -> Issue:
    """Build an :class:`Issue`, refusing codes that are not published (``KeyError``)."""
    return Issue(check(code), field, message, value)


def _path(error: ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path)


def issues_from_error(error: ValidationError) -> list[Issue]:
    """Translate one jsonschema error into issues (``required`` and extra properties name each field)."""
    keyword = error.validator
    where = _path(error)
    prefix = f"{where}." if where else ""
    if keyword == "required" and isinstance(error.validator_value, list):  # JSON Schema: an array of names
        instance = error.instance if isinstance(error.instance, dict) else {}
        missing = [p for p in error.validator_value if p not in instance]
        return [issue("schema.required", prefix + p, f"{p} is required") for p in missing]
    if keyword in ("additionalProperties", "unevaluatedProperties") and isinstance(error.instance, dict):
        properties = error.schema.get("properties") if isinstance(error.schema, Mapping) else None
        allowed = set((properties or {}).keys())
        extra = sorted(k for k in error.instance if k not in allowed) or ["?"]
        return [
            issue(
                "schema.additional_property", prefix + k, f"{k} is not a field of this standard", error.instance.get(k)
            )
            for k in extra
        ]
    if keyword == "format":
        if isinstance(error.cause, FormatViolation):
            code = error.cause.code
        else:
            code = _FORMAT_CODES.get(error.validator_value, "schema.invalid")
        message = f"{error.instance!r} is not a valid {error.validator_value}"
        found = checkdigits.hint(code, error.instance) if isinstance(error.instance, str) else None
        return [issue(code, where, f"{message}: {found}" if found else message, error.instance)]
    code = _KEYWORD_CODES.get(keyword, "schema.invalid")
    return [issue(code, where, error.message, error.instance)]
