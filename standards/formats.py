"""The custom JSON Schema formats of the standards, checked by jsonschema's format checker.

``cn-resident-id`` (GB 11643), ``uscc`` (GB 32100), ``org-code`` (GB 11714), ``division-code`` (GB/T 2260
structure). A failing check raises :class:`FormatViolation` carrying the stable code, so the validation report
can name the exact rule (``uscc.charset`` rather than a generic format error).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from standards import checkdigits

if TYPE_CHECKING:
    from jsonschema import FormatChecker


class FormatViolation(ValueError):
    """A value that breaks a format; ``code`` is the stable code."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _checker_for(check):
    def run(value: object) -> bool:
        if not isinstance(value, str):
            return True  # the type keyword reports non-strings
        code = check(value)
        if code is not None:
            raise FormatViolation(code)
        return True

    return run


CUSTOM_FORMATS = {
    "cn-resident-id": checkdigits.check_resident_id,
    "uscc": checkdigits.check_uscc,
    "org-code": checkdigits.check_org_code,
    "division-code": checkdigits.check_division_code,
}


def fast_format_checks() -> dict[str, Callable[[str], bool]]:
    """The custom formats as plain predicates for jsonschema-rs (the fast path of the registry)."""

    def predicate(check: Callable[[str], str | None]) -> Callable[[str], bool]:
        return lambda value: check(value) is None

    return {name: predicate(check) for name, check in CUSTOM_FORMATS.items()}


def format_checker() -> FormatChecker:
    """jsonschema's draft 2020-12 format checker plus our custom formats (date, date-time, email, uri, …).

    The standards use ``date`` (jsonschema checks it with the standard library alone) and the custom formats;
    none needs the optional format packages of ``jsonschema[format-nongpl]`` (``iri`` would, through the
    slow-to-import ``rfc3987_syntax``), so the project does not depend on them.
    """
    from jsonschema import FormatChecker

    checker = FormatChecker()
    for name, check in CUSTOM_FORMATS.items():
        checker.checks(name, raises=FormatViolation)(_checker_for(check))
    return checker
