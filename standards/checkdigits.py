"""Check-digit arithmetic for the national identifiers, in one place.

Each ``check_*`` function takes an already normalised string (NFKC, trimmed, uppercase: the loaders' job) and
returns ``None`` when it is well formed or the stable code of the first rule it breaks. Where python-stdnum has
the arithmetic we call its ``calc_check_digit``; its ``validate()`` is deliberately not used, because it rejects
codes that real government data contains (DESIGN §4).
"""

from __future__ import annotations

import datetime as dt
import re

from stdnum.cn import ric as _ric
from stdnum.cn import uscc as _uscc
from stdnum.iso7064 import mod_37_36

_RESIDENT_ID = re.compile(r"^\d{17}[\dX]$")
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100-2015 table: no I, O, Z, S, V
_USCC_FIRST = "123456789ANY"  # registration-authority codes in GB 32100-2015 §4.1
_ORG_CODE = re.compile(r"^[0-9A-Z]{8}[0-9X]$")
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714-1997 §5
_DIVISION = re.compile(r"^(\d{6}|\d{9}|\d{12})$")


def resident_id_birth_date(value: str) -> dt.date | None:
    """The date of birth inside an 18-character citizen ID number (GB 11643-1999 §5.2), or None if impossible."""
    try:
        return dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return None


def check_resident_id(value: str) -> str | None:
    """GB 11643-1999 citizen ID number: 17 digits + ISO 7064 MOD 11-2 check character, a real birth date.

    Codes: ``id.length``, ``id.charset``, ``id.birth_date``, ``id.checksum``. Whether the address code (the first
    six digits) is in force is not checked here: that is a code-list warning.
    """
    if len(value) != 18:
        return "id.length"
    if not _RESIDENT_ID.match(value):
        return "id.charset"
    born = resident_id_birth_date(value)
    if born is None or born.year < 1850 or born > dt.date.today():
        return "id.birth_date"
    if _ric.calc_check_digit(value) != value[-1]:
        return "id.checksum"
    return None


def upgrade_resident_id(value15: str) -> str:
    """A 15-digit legacy number (GB 11643-1989) as its 18-character form: century 19 and a computed check."""
    body = value15[:6] + "19" + value15[6:]
    return body + _ric.calc_check_digit(body + "0")


def check_uscc(value: str) -> str | None:
    """GB 32100-2015 unified social credit code: 18 characters, weighted MOD 31 check character.

    Codes: ``uscc.length``, ``uscc.charset`` (a character outside the alphabet, or a bad first character),
    ``uscc.checksum``.
    """
    if len(value) != 18:
        return "uscc.length"
    if value[0] not in _USCC_FIRST or any(ch not in _USCC_ALPHABET for ch in value):
        return "uscc.charset"
    if not value[2:8].isdigit():
        return "uscc.charset"
    if _uscc.calc_check_digit(value[:17]) != value[17]:
        return "uscc.checksum"
    return None


_LEGACY = {"uscc.checksum": "uscc.checksum_legacy"}


def legacy_warning(code: str) -> str | None:
    """The warning that error ``code`` becomes when the source is the identifier's issuing authority, or None.

    Only the GB 32100 check character is tolerated: some unified social credit codes issued in pilot cities
    before the standard was settled fail it and are still legally valid, so their issuer may load them
    (``uscc.checksum`` → ``uscc.checksum_legacy``). Length and alphabet are never tolerated.
    """
    return _LEGACY.get(code)


def hint(code: str, value: str) -> str | None:
    """A likely cause of error ``code`` for ``value``, for a person to act on, or None.

    - an 18-digit number ending in 000 that fails the GB 11643 check: Excel keeps 15 significant digits;
    - a citizen ID number (GB 11643) where a USCC belongs, or a USCC where a citizen ID number belongs.
    """
    if code == "id.checksum" and value.isdigit() and value.endswith("000"):
        return "possibly truncated by Excel; re-export the column as text"
    if code.startswith("uscc.") and len(value) == 18 and check_resident_id(value) is None:
        return "this is a citizen ID number (GB 11643), not a unified social credit code"
    if code.startswith("id.") and len(value) == 18 and check_uscc(value) is None:
        return "this is a unified social credit code (GB 32100), not a citizen ID number"
    return None


def org_code_check_character(body8: str) -> str:
    """The GB 11714-1997 check character for the 8-character body of an organisation code."""
    total = sum((int(ch) if ch.isdigit() else ord(ch) - 55) * w for ch, w in zip(body8, _ORG_WEIGHTS, strict=True))
    c9 = 11 - total % 11
    return "X" if c9 == 10 else "0" if c9 == 11 else str(c9)


def check_org_code(value: str) -> str | None:
    """GB 11714-1997 organisation code: 8 characters + check character (a hyphen before it is tolerated).

    Codes: ``org_code.format``, ``org_code.checksum``.
    """
    value = value.replace("-", "")
    if not _ORG_CODE.match(value):
        return "org_code.format"
    if org_code_check_character(value[:8]) != value[8]:
        return "org_code.checksum"
    return None


def check_division_code(value: str) -> str | None:
    """Structure of a division code: 6 digits (GB/T 2260) or 9 / 12 (statistical codes). Code ``division_code.format``.

    Whether the code is in the list in force is a separate, warning-level check against the code list.
    """
    return None if _DIVISION.match(value) else "division_code.format"


def license_check_character(body: str) -> str:
    """ISO 7064 MOD 37,36 check character over an e-licence identifier without dots (see the e_license standard)."""
    return mod_37_36.calc_check_digit(body)
