"""Normalisers: turn a cell's text into the value the standard expects, before validation (DESIGN §5).

Each normaliser takes the cleaned (:mod:`loaders.cells`), non-null cell text and returns the normalised value, or
raises :class:`NormaliseError` with a stable code. Identifiers go through Unicode NFKC (full-width digits and
letters become ASCII: warning ``identifier.full_width``), lose their whitespace and are upper-cased (warning
``identifier.lower_case`` when that changed a letter, such as the check character ``x``) and lose a spreadsheet's
text marker (``'…``, ``="…"``: warning ``identifier.text_wrapper``); a cell that went through a numeric type
(``1.10105E+17``) is refused as ``id.lossy_numeric`` — never rebuilt — unless its digits are surely exact
(``identifier.from_number``). A fixed-width digit code of another width is ``code.length`` unless the profile
declares ``pad`` (``code.zero_padded``): :func:`fixed_width`. Dates accept only
the profile's explicit formats (:mod:`loaders.dates`), never a fuzzy parse.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from loaders import dates
from standards import checkdigits

_LOSSY = re.compile(r"^[+-]?\d+(\.\d+)?[eE][+-]?\d+$|^\d+\.\d+$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


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
    exact: bool = False  # ... and it is an integer whose digits are surely as issued (loaders.rows.exact_integer)
    serial_epoch: dt.date | None = None  # a workbook's date system: its numeric cells may be date serials
    date_serials: bool = False  # the profile accepts bare Excel serials in text files


_FORMULA = re.compile(r'^="(.*)"$', re.DOTALL)  # ="0000321": a spreadsheet formula that keeps text


def unwrap(value: str) -> tuple[str, str | None]:
    """A cell without the wrapper a spreadsheet user put around an ID to keep it text: a leading apostrophe
    (``'0000321``) or a text formula (``="0000321"``). Returns the text and the wrapper's description (None if
    there was none). Only whole wrappers go: ``'abc'`` quoted both sides is left alone."""
    text = value.strip()
    formula = _FORMULA.match(text)
    if formula and '"' not in formula.group(1):
        return formula.group(1), '="…" (a spreadsheet text formula)'
    if text.startswith("'") and not text.endswith("'") and len(text) > 1:
        return text[1:], "a leading ' (a spreadsheet text marker)"
    return value, None


def identifier(value: str, ctx: Context) -> str:
    """NFKC, whitespace removed, uppercase; refuse a value that went through a numeric type (``id.lossy_numeric``).

    Warnings: ``identifier.text_wrapper`` when a spreadsheet's text marker was stripped (``'0000321``,
    ``="0000321"``), ``identifier.full_width`` when NFKC changed a character (full-width ``３２０５`` → ``3205``),
    ``identifier.lower_case`` when upper-casing did (``…001x`` → ``…001X``), ``identifier.from_number`` when a
    number cell was taken because its digits are exact (a JSON integer, an XLSX integer of at most 15 digits:
    :func:`loaders.rows.exact_integer`) — whether it lost leading zeros is for the field's width to tell.
    """
    value, wrapper = unwrap(value)
    if wrapper:
        ctx.warnings.append(("identifier.text_wrapper", f"{wrapper} stripped from {value!r}"))
    folded = unicodedata.normalize("NFKC", value)
    text = "".join(folded.split())
    if ctx.numeric and ctx.exact and text.isdigit():
        ctx.warnings.append(("identifier.from_number", f"{text} arrived as a number; its digits are exact"))
    elif ctx.numeric or _LOSSY.match(text):
        raise NormaliseError("id.lossy_numeric", f"{value!r} went through a numeric type; its digits are lost")
    if folded != value:
        ctx.warnings.append(("identifier.full_width", f"full-width characters in {value!r} made ASCII"))
    if text != text.upper():
        ctx.warnings.append(("identifier.lower_case", f"lower-case letters in {text!r} upper-cased"))
    return text.upper()


def fixed_width(value: str, ctx: Context, *, width: int, pad: bool, declared: str) -> str:
    """A fixed-width digit code (a standard's ``x-width``, a profile's ``pad``): an all-digit ``value`` of
    another length is refused as ``code.length`` — unless ``pad`` and it is shorter, when it is left-padded with
    zeros (warning ``code.zero_padded``: ``321`` → ``0000321``, the zeros a CSV re-export or a number cell lost).
    Other values pass to the validator as they are. ``declared`` names where the width comes from."""
    if not (value.isascii() and value.isdigit()) or len(value) == width:
        return value
    if pad and len(value) < width:
        padded = value.zfill(width)
        ctx.warnings.append(("code.zero_padded", f"{value} padded with zeros to {padded} ({declared})"))
        return padded
    advice = f"; if leading zeros were lost, declare pad: {width} for the field" if len(value) < width else ""
    raise NormaliseError("code.length", f"{value} has {len(value)} digits where {declared} is {width}{advice}")


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
    """An ISO 8601 date (``YYYY-MM-DD``) from one of the profile's ``date_formats`` (:mod:`loaders.dates`).

    ISO-shaped input passes to the validator unchanged (an impossible 2023-02-30 is reported by the format checker
    as ``date.invalid``). A time after the date (``2023-05-01 08:30``, an XLSX date-time cell) is dropped with the
    warning ``date.time_dropped`` unless it is midnight. A numeric XLSX cell is an Excel serial in the workbook's
    date system; a bare serial in a text file is ``date.serial_in_text`` unless the profile sets
    ``date_serials: true``. Errors: ``date.unparseable``, ``date.incomplete``, ``date.invalid``,
    ``date.serial_out_of_range``, ``date.serial_in_text``.
    """
    text_ = unicodedata.normalize("NFKC", value).strip()
    try:
        day, moment = _day_and_time(text_, ctx)
    except dates.DateProblem as exc:
        raise NormaliseError(exc.code, str(exc)) from None
    if moment not in (None, dt.time()):
        ctx.warnings.append(("date.time_dropped", f"{value!r} has a time of day; the date {day} is kept"))
    return day if isinstance(day, str) else day.isoformat()


def _day_and_time(text_: str, ctx: Context) -> tuple[dt.date | str, dt.time | None]:
    if ctx.numeric and ctx.serial_epoch is not None:
        return dates.from_serial(text_, epoch=ctx.serial_epoch)
    if dates.looks_like_serial(text_) and not dates.is_bare_year(text_):
        if not ctx.date_serials:
            raise dates.DateProblem(
                "date.serial_in_text",
                f"{text_!r} looks like an Excel serial number; re-export the column as dates or text, "
                "or set date_serials: true in the profile",
            )
        return dates.from_serial(text_)
    part, moment, offset = dates.split_time(text_)
    if _ISO_DATE.match(part):
        try:
            day = dt.date.fromisoformat(part)
        except ValueError:
            return part, moment  # an impossible ISO date: the format checker reports date.invalid
    else:
        day = dates.parse_date(part, ctx.date_formats)
    if moment is not None and offset is not None:
        aware = dt.datetime.combine(day, moment, tzinfo=_offset(offset)).astimezone(ctx.timezone)
        return aware.date(), aware.time()
    return day, moment


def _offset(text_: str) -> dt.tzinfo:
    if text_ == "Z":
        return dt.UTC
    sign = -1 if text_.startswith("-") else 1
    digits = text_[1:].replace(":", "")
    return dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def timestamp(value: str, ctx: Context) -> dt.datetime:
    """A source timestamp: ISO 8601 (a naive one is in the profile's time zone), a date in one of the date
    formats (midnight), or an XLSX serial (numeric cell). Raises ``date.unparseable`` and the date codes."""
    text_ = unicodedata.normalize("NFKC", value).strip()
    try:
        if ctx.numeric and ctx.serial_epoch is not None:
            day, moment = dates.from_serial(text_, epoch=ctx.serial_epoch)
            found = dt.datetime.combine(day, moment)
        else:
            try:
                found = dt.datetime.fromisoformat(text_)
            except ValueError:
                found = dt.datetime.combine(dates.parse_date(text_, ctx.date_formats), dt.time())
    except dates.DateProblem as exc:
        code = "date.unparseable" if exc.code in ("date.incomplete", "date.unparseable") else exc.code
        raise NormaliseError(code, f"{value!r} is not a timestamp: {exc}") from None
    return found if found.tzinfo else found.replace(tzinfo=ctx.timezone)


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
