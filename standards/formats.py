"""The JSON Schema formats the standards may use, each checked by jsonschema's format checker.

Custom formats: ``cn-resident-id`` (GB 11643), ``uscc`` (GB 32100), ``org-code`` (GB 11714), ``division-code``
(GB/T 2260 structure). A failing check raises :class:`FormatViolation` carrying the stable code, so the validation
report can name the exact rule (``uscc.charset`` rather than a generic format error).

Standard formats (:data:`STANDARD_FORMATS`): ``date`` and ``date-time``/``time`` (RFC 3339 §5.6; ``date-time``
and ``time`` through the ``rfc3339-validator`` package, a declared dependency), ``email`` (RFC 5321 shape),
``uuid`` (RFC 4122), ``ipv4``/``ipv6`` and ``regex``. A format outside these, or one whose checker is not
installed, is refused at start-up (``standard.format_unknown``): jsonschema silently skips a format it has no
checker for, which would leave a field unvalidated. :func:`self_test` proves each checker rejects a known bad
value (``standard.format_unchecked`` otherwise); the registry runs it whenever it loads.
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


STANDARD_FORMATS: dict[str, str] = {
    # format → a value it must reject (the start-up self-test)
    "date": "2023-02-30",
    "date-time": "2023-05-01 08:30:00",  # RFC 3339 needs the T (or t) and an offset
    "time": "08:30:00",  # RFC 3339 full-time needs an offset (draft 3's %H:%M:%S would take it)
    "email": "no-at-sign.example.org",
    "uuid": "8c4b-not-a-uuid",
    "ipv4": "256.1.1.1",
    "ipv6": "2001:db8::g",
    "regex": "(unclosed",
}
"""The standard JSON Schema formats the standards may use, each with a value its checker must reject."""

CUSTOM_BAD_VALUES = {
    "cn-resident-id": "110101199003071234",  # wrong MOD 11-2 check character
    "uscc": "91320505MA1B2C3D86",  # wrong MOD 31 check character
    "org-code": "MA1B2C3D9",
    "division-code": "32050",
}

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
    """jsonschema's draft 2020-12 format checker for the standard formats we allow, plus our custom formats.

    Only the formats of :data:`STANDARD_FORMATS` are registered (``date``, ``date-time`` …), so a standard naming
    another (``iri``, ``hostname``) is refused rather than checked by whatever happens to be installed.
    """
    from jsonschema import Draft202012Validator, FormatChecker

    # draft 2020-12's own checkers: a bare FormatChecker() mixes in every draft's, and draft 3's "time"
    # (%H:%M:%S, no offset) would win over RFC 3339's
    draft = Draft202012Validator.FORMAT_CHECKER.checkers
    checker = FormatChecker(formats=())
    checker.checkers = {name: draft[name] for name in STANDARD_FORMATS if name in draft}
    for name, check in CUSTOM_FORMATS.items():
        checker.checks(name, raises=FormatViolation)(_checker_for(check))
    return checker


def self_test(checker: FormatChecker) -> list[str]:
    """The formats the standards may use whose checker is missing or accepts its known bad value (empty when
    every one works): ``date-time`` without ``rfc3339-validator`` installed is missing."""
    from jsonschema.exceptions import FormatError

    broken: list[str] = []
    for name, bad in {**STANDARD_FORMATS, **CUSTOM_BAD_VALUES}.items():
        if name not in checker.checkers:
            broken.append(f"{name} (no checker installed)")
            continue
        try:
            checker.check(bad, name)
        except (FormatError, FormatViolation):
            continue
        broken.append(f"{name} (accepts {bad!r})")
    return broken
