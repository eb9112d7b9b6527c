"""The one writer of tables that people open in a spreadsheet: every CSV or XLSX export of the service (the
console's downloads, ``GET /projects/budget-lines?format=csv``, ``mdm projects export``) writes its cells
through :func:`safe_cell`, so a value from a record or a project can never run as a formula.

CSV injection (OWASP "CSV Injection"): Excel, LibreOffice and WPS run a cell that starts with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return, and Excel also takes the full-width forms (``＝ ＋ － ＠``, which NFKC
folds to the ASCII ones) and a formula after leading spaces. Such a text gets a leading apostrophe, which the
spreadsheet shows as text and does not display; a number written as text (``-0.05``, ``12.00``) stays as it is.
What it does not do: a program that reads the CSV as data sees the apostrophe.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

from mdm.access.names import BLANK_FILLERS

_NUMBER = re.compile(r"-?\d+(\.\d+)?")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _blank(char: str) -> bool:
    """A character a spreadsheet may skip before a formula: any Unicode space or line break (U+2002, U+2003,
    LF …), an invisible format character (a zero-width space), or a filler that renders blank (U+3164, U+2800)."""
    return char.isspace() or unicodedata.category(char) in ("Zs", "Cf", "Cc") or ord(char) in BLANK_FILLERS


def starts_a_formula(text: str) -> bool:
    """True if a spreadsheet could read ``text`` as a formula (see the module's list), full-width forms, and
    whatever blank or invisible characters come before it (spaces of every width, line breaks, a zero-width
    space, a blank filler) included."""
    if text[:1] in ("\t", "\r", "\n"):
        return True
    rest = text[:64]
    while rest and _blank(rest[0]):
        rest = rest[1:]
    return bool(rest) and unicodedata.normalize("NFKC", rest[0])[:1] in FORMULA_START


def safe_cell(value: Any) -> Any:
    """A cell value a spreadsheet shows and never runs: None is empty, a dict or list its JSON, text that could
    start a formula gets a leading apostrophe; numbers (and decimal numbers in text form) stay as they are."""
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and not _NUMBER.fullmatch(value) and starts_a_formula(value):
        return "'" + value
    return value


def csv_text(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, bom: bool = False, line_end: str = "\n") -> str:
    """The CSV text of a table: a header line, then each row's cells through :func:`safe_cell`, lines ended
    by ``line_end``; ``bom`` puts a byte-order mark first (Excel then reads the UTF-8 as UTF-8)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=line_end)
    writer.writerow([safe_cell(h) for h in headers])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return ("\ufeff" if bom else "") + out.getvalue()
