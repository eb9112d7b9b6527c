"""Tables as downloads: CSV (UTF-8 with a byte-order mark, so Excel opens Chinese text correctly) and XLSX
(openpyxl). A table is a title, column headers and rows of plain values. Every cell goes through the service's
one export writer (:func:`mdm.exports.safe_cell`: no cell starts a formula)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from mdm.exports import csv_text, safe_cell

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Table:
    name: str  # file name without extension, ASCII
    title: str
    headers: Sequence[str]
    rows: Iterable[Sequence[Any]]


def _disposition(name: str, ext: str) -> dict[str, str]:
    return {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}.{ext}"}


def csv_response(table: Table) -> Response:
    return Response(
        csv_text(table.headers, table.rows, bom=True, line_end="\r\n").encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers=_disposition(table.name, "csv"),
    )


def xlsx_response(table: Table) -> Response:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(table.title[:31] or "data")
    sheet.append([safe_cell(h) for h in table.headers])
    for row in table.rows:
        sheet.append([safe_cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return Response(out.getvalue(), media_type=XLSX, headers=_disposition(table.name, "xlsx"))


def response(table: Table, fmt: str) -> Response:
    """The table as ``fmt`` (``csv`` or ``xlsx``)."""
    return xlsx_response(table) if fmt == "xlsx" else csv_response(table)
