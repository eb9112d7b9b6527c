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

_NUMBER = re.compile(r"-?\d+(\.\d+)?")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SPACES = " \u3000\u00a0"


def starts_a_formula(text: str) -> bool:
    """True if a spreadsheet could read ``text`` as a formula (see the module's list), full-width forms, leading
    spaces and invisible format characters (a zero-width space before ``=``) included."""
    head = "".join(c for c in text[:64] if unicodedata.category(c) != "Cf").lstrip(_SPACES)[:1]  # no zero-width
    if head in ("\t", "\r") or text[:1] in ("\t", "\r"):
        return True
    return bool(head) and unicodedata.normalize("NFKC", head)[:1] in FORMULA_START


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
