"""Tables as downloads: CSV (UTF-8 with a byte-order mark, so Excel opens Chinese text correctly) and XLSX
(openpyxl). A table is a title, column headers and rows of plain values."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from starlette.responses import Response

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Table:
    name: str  # file name without extension, ASCII
    title: str
    headers: Sequence[str]
    rows: Iterable[Sequence[Any]]


def _cell(value: Any) -> Any:
    """A cell value that a spreadsheet shows and never runs: text that would start a formula gets a leading
    apostrophe (OWASP, CSV injection); decimal numbers in text form stay as they are."""
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        return value
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _disposition(name: str, ext: str) -> dict[str, str]:
    return {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}.{ext}"}


def csv_response(table: Table) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(table.headers)
    for row in table.rows:
        writer.writerow([_cell(v) for v in row])
    return Response(
        ("\ufeff" + out.getvalue()).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers=_disposition(table.name, "csv"),
    )


def xlsx_response(table: Table) -> Response:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(table.title[:31] or "data")
    sheet.append(list(table.headers))
    for row in table.rows:
        sheet.append([_cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return Response(out.getvalue(), media_type=XLSX, headers=_disposition(table.name, "xlsx"))


def response(table: Table, fmt: str) -> Response:
    """The table as ``fmt`` (``csv`` or ``xlsx``)."""
    return xlsx_response(table) if fmt == "xlsx" else csv_response(table)
