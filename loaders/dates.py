"""Dates as departments write them, read from an explicit list of formats — never a fuzzy parser, never a guessed year.

A profile's ``date_formats`` are strptime-style patterns built only from ``%Y`` (four digits), ``%m`` and ``%d``
(one or two digits; exactly two where they touch another directive, as in ``%Y%m%d``) and literal separators,
around which spaces are optional. The defaults accept ``2023-05-01``, ``2023/5/1``, ``2023.5.1``, ``20230501`` and
``2023年5月1日`` (also ``2023 年 5 月 1 日``). A two-digit year (``%y``) is refused: it would be a guess.

Excel serial numbers count days since 1899-12-30 (the 1900 date system; serials 1–59 are one day later because
Excel keeps Lotus 1-2-3's non-existent 1900-02-29, serial 60) or since 1904-01-01 (the 1904 system of old Mac
workbooks); a fraction is the time of day (ECMA-376 Part 1, §18.17.4 "Dates and Times").

Codes raised (as :class:`DateProblem`): ``date.unparseable``, ``date.incomplete`` (a year-month, a month-day or a
bare year: a part is missing), ``date.invalid`` (the shape fits but the day does not exist),
``date.serial_out_of_range`` (a serial outside 1900–2100), ``date.serial_in_text`` (a bare serial in a text file
whose profile does not set ``date_serials: true``).
"""

from __future__ import annotations

import datetime as dt
import functools
import re

DEFAULT_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")
EPOCH_1900 = dt.date(1899, 12, 30)
EPOCH_1904 = dt.date(1904, 1, 1)
FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(2100, 12, 31)

_DIRECTIVE = re.compile(r"%.")
_TIME = re.compile(
    r"^(?P<date>.+?)[T\s]\s*(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.\d+)?)?\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?$"
)
_SERIAL = re.compile(r"^\d{1,5}(\.\d+)?$")
_INCOMPLETE = (
    re.compile(r"^(18|19|20|21)\d{2}\s*([-/.年]\s*\d{1,2}\s*月?)?$"),  # a year, or a year and a month
    re.compile(r"^(18|19|20|21)\d{2}(0[1-9]|1[0-2])$"),  # YYYYMM
    re.compile(r"^\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?$"),  # a month and a day, no year
)


class DateProblem(ValueError):
    """A date that cannot be read; ``code`` is the stable code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def check_date_format(fmt: str) -> str | None:
    """Why ``fmt`` cannot be an accepted date format, or None: only %Y, %m and %d, each exactly once."""
    directives = _DIRECTIVE.findall(fmt)
    unknown = sorted(set(directives) - {"%Y", "%m", "%d"})
    if unknown:
        return f"only %Y, %m and %d are accepted, not {', '.join(unknown)} (a two-digit year would be a guess)"
    if sorted(directives) != ["%Y", "%d", "%m"]:
        return "a date format needs %Y, %m and %d, each once"
    return None


@functools.cache
def _pattern(fmt: str) -> re.Pattern[str]:
    tokens = re.split(r"(%[Ymd])", fmt)
    parts = []
    for i, token in enumerate(tokens):
        if token == "%Y":
            parts.append(r"(?P<Y>\d{4})")
        elif token in ("%m", "%d"):
            tight = (i >= 2 and tokens[i - 1] == "" and tokens[i - 2].startswith("%")) or (
                i + 2 < len(tokens) and tokens[i + 1] == "" and tokens[i + 2].startswith("%")
            )
            parts.append(f"(?P<{token[1]}>\\d{{2}})" if tight else f"(?P<{token[1]}>\\d{{1,2}})")
        elif token:
            parts.append(r"\s*" + re.escape(token.strip()) + r"\s*" if token.strip() else r"\s+")
    return re.compile("^" + "".join(parts) + "$")


def parse_date(text: str, formats: list[str] | tuple[str, ...]) -> dt.date:
    """The date ``text`` spells in the first matching format. Raises :class:`DateProblem`."""
    for fmt in formats:
        match = _pattern(fmt).match(text)
        if match:
            try:
                return dt.date(int(match["Y"]), int(match["m"]), int(match["d"]))
            except ValueError:
                raise DateProblem("date.invalid", f"{text!r} is not a calendar date (read as {fmt})") from None
    if any(p.match(text) for p in _INCOMPLETE):
        raise DateProblem("date.incomplete", f"{text!r} lacks its day, month or year; a date needs all three")
    raise DateProblem("date.unparseable", f"{text!r} is in none of the accepted date formats")


def split_time(text: str) -> tuple[str, dt.time | None, str | None]:
    """``'2023-05-01 08:30'`` → ``('2023-05-01', time(8, 30), None)``; the offset (``Z``, ``+08:00``) last."""
    match = _TIME.match(text)
    if not match:
        return text, None, None
    try:
        moment = dt.time(int(match["h"]), int(match["mi"]), int(match["s"] or 0))
    except ValueError:
        return text, None, None
    return match["date"].strip(), moment, match["tz"]


def looks_like_serial(text: str) -> bool:
    """A bare number of at most five digits before an optional fraction: how an Excel serial is spelt."""
    return bool(_SERIAL.match(text))


def is_bare_year(text: str) -> bool:
    """Four digits from 1800 to 2199: a year without its month and day (``date.incomplete``), not a serial."""
    return bool(re.fullmatch(r"(18|19|20|21)\d{2}", text))


def from_serial(text: str, *, epoch: dt.date = EPOCH_1900) -> tuple[dt.date, dt.time]:
    """An Excel serial (days, a fraction for the time) as a date and a time of day (see the module).

    Raises :class:`DateProblem`: ``date.serial_out_of_range`` outside 1900-01-01 – 2100-12-31, ``date.invalid``
    for serial 60 of the 1900 system (1900-02-29, which never was), ``date.unparseable`` for no number.
    """
    try:
        serial = float(text)
    except ValueError:
        raise DateProblem("date.unparseable", f"{text!r} is not an Excel serial number") from None
    days = int(serial) if serial >= 0 else -1
    if epoch == EPOCH_1900 and days == 60:
        raise DateProblem("date.invalid", "serial 60 is 1900-02-29, a day that never was (an Excel legacy)")
    if epoch == EPOCH_1900 and 0 < days < 60:
        days += 1
    try:
        day = epoch + dt.timedelta(days=days)
    except OverflowError:
        day = dt.date.max
    if days < 0 or not FIRST_DAY <= day <= LAST_DAY:
        raise DateProblem(
            "date.serial_out_of_range",
            f"Excel serial {text} is outside 1900–2100; if it is a date typed as a number (20230501), "
            "format the column as text and re-export",
        )
    seconds = round((serial - int(serial)) * 86400)
    seconds = min(seconds, 86399)
    return day, dt.time(seconds // 3600, seconds // 60 % 60, seconds % 60)
