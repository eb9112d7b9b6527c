"""Normalisers: turn a cell's text into the value the standard expects, before validation (DESIGN §5).

Each normaliser takes the trimmed, non-null cell text and returns the normalised value, or raises
:class:`NormaliseError` with a stable code. Identifiers go through Unicode NFKC (full-width digits and letters
become ASCII), are trimmed and upper-cased; a cell that went through a numeric type (``1.10105E+17``) is refused
as ``id.lossy_numeric`` — never rebuilt. Dates accept only the profile's explicit formats, never a fuzzy parse.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from standards import checkdigits

_LOSSY = re.compile(r"^[+-]?\d+(\.\d+)?[eE][+-]?\d+$|^\d+\.\d+$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CONTROL = re.compile(r"\x00")


class NormaliseError(ValueError):
    """A cell a normaliser cannot interpret; ``code`` is the stable code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Context:
    """What normalisers may consult: the profile's date formats and time zone; warnings they raise."""

    date_formats: list[str]
    timezone: dt.tzinfo
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (code, message)
    numeric: bool = False  # the cell arrived as a number (XLSX numeric cell, JSON number)


def strip_unstorable(text: str) -> tuple[str, bool]:
    """Remove characters PostgreSQL cannot store in text (NUL); returns the text and whether any went."""
    cleaned = _CONTROL.sub("", text)
    return cleaned, cleaned != text


def identifier(value: str, ctx: Context) -> str:
    """NFKC, trim, uppercase; refuse a value that went through a numeric type (``id.lossy_numeric``)."""
    text = unicodedata.normalize("NFKC", value).strip().upper()
    if ctx.numeric or _LOSSY.match(text):
        raise NormaliseError("id.lossy_numeric", f"{value!r} went through a numeric type; its digits are lost")
    return text.replace(" ", "")


def division_code(value: str, ctx: Context) -> str:
    """A division code in full form: 2-digit (province) and 4-digit (prefecture) NBS codes padded to 6."""
    text = identifier(value, ctx)
    if text.isdigit() and len(text) in (2, 4):
        return text.ljust(6, "0")
    return text


def resident_id(value: str, ctx: Context) -> str:
    """A citizen ID number: identifier rules, and a 15-digit legacy number upgraded (warning ``id.upgraded``)."""
    text = identifier(value, ctx)
    if len(text) == 15 and text.isdigit():
        upgraded = checkdigits.upgrade_resident_id(text)
        ctx.warnings.append(("id.upgraded", f"15-digit {text} upgraded to {upgraded}"))
        return upgraded
    return text


def text(value: str, ctx: Context) -> str:
    """Unicode NFC and inner whitespace runs collapsed to one space (names, addresses)."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", value)).strip()


def date(value: str, ctx: Context) -> str:
    """An ISO 8601 date from one of the profile's ``date_formats``; ISO-shaped input passes to the validator
    unchanged (so an impossible date such as 2023-02-30 is reported by the format checker as ``date.invalid``).
    Raises ``date.unparseable`` when no format matches."""
    text_ = unicodedata.normalize("NFKC", value).strip()
    if _ISO_DATE.match(text_):
        return text_
    for fmt in ctx.date_formats:
        try:
            return dt.datetime.strptime(text_, fmt).date().isoformat()
        except ValueError:
            continue
    raise NormaliseError("date.unparseable", f"{value!r} is in none of the accepted date formats")


def timestamp(value: str, ctx: Context) -> dt.datetime:
    """A source timestamp: ISO 8601 (a naive one is in the profile's time zone) or a date format."""
    text_ = unicodedata.normalize("NFKC", value).strip()
    try:
        moment = dt.datetime.fromisoformat(text_)
    except ValueError:
        moment = None
        for fmt in ctx.date_formats:
            try:
                moment = dt.datetime.strptime(text_, fmt)
                break
            except ValueError:
                continue
        if moment is None:
            raise NormaliseError("date.unparseable", f"{value!r} is not a timestamp") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=ctx.timezone)


def integer(value: str, ctx: Context) -> int:
    text_ = unicodedata.normalize("NFKC", value).strip().replace(",", "")
    try:
        return int(text_)
    except ValueError:
        raise NormaliseError("row.bad_value", f"{value!r} is not an integer") from None


def decimal(value: str, ctx: Context) -> Decimal:
    """A decimal number (amounts in 万元): thousands separators removed, kept exact as :class:`Decimal`."""
    text_ = unicodedata.normalize("NFKC", value).strip().replace(",", "")
    try:
        number = Decimal(text_)
    except InvalidOperation:
        raise NormaliseError("row.bad_value", f"{value!r} is not a number") from None
    if not number.is_finite():
        raise NormaliseError("row.bad_value", f"{value!r} is not a finite number")
    return number


_TRUE = {"true", "yes", "y", "1", "是", "t"}
_FALSE = {"false", "no", "n", "0", "否", "f"}


def boolean(value: str, ctx: Context) -> bool:
    """true/false, yes/no, 1/0, 是/否 (any case) as a boolean; anything else is ``row.bad_value``."""
    text_ = unicodedata.normalize("NFKC", value).strip().lower()
    if text_ in _TRUE:
        return True
    if text_ in _FALSE:
        return False
    raise NormaliseError("row.bad_value", f"{value!r} is not a yes/no value")


def upper(value: str, ctx: Context) -> str:
    return value.upper()


def nfkc(value: str, ctx: Context) -> str:
    return unicodedata.normalize("NFKC", value)


NORMALISERS: dict[str, Callable[[str, Context], Any]] = {
    "identifier": identifier,
    "division_code": division_code,
    "resident_id": resident_id,
    "text": text,
    "date": date,
    "integer": integer,
    "decimal": decimal,
    "boolean": boolean,
    "upper": upper,
    "nfkc": nfkc,
}
