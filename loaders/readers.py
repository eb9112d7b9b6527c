"""Readers: turn a file into rows of text cells, streaming, with row numbers as a person would count them.

Every cell is text (``str``) or ``None``; nothing guesses types, so codes keep their leading zeros. A reader
raises :class:`mdm.errors.FileRejected` for a file that cannot be read at all (``file.unreadable``,
``file.missing_columns``, ``file.empty``); row-level trouble is the pipeline's business.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from loaders import cells
from loaders.dates import EPOCH_1900, EPOCH_1904
from loaders.geo_readers import GeoJsonReader, TopoJsonReader
from loaders.rows import Reader, SourceRow, exact_integer
from loaders.rows import cell_text as _text
from loaders.rows import checked as _checked
from mdm.errors import FileRejected

csv.field_size_limit(64 * 1024 * 1024)

__all__ = [
    "CsvReader",
    "GeoJsonReader",
    "JsonLinesReader",
    "Reader",
    "SourceRow",
    "TopoJsonReader",
    "XlsxReader",
    "open_reader",
]


class CsvReader(Reader):
    """Delimited text with a header row. A BOM is stripped before headers are matched."""

    def __init__(self, path: Path, *, encoding: str = "auto", delimiter: str = ",", header_row: int = 1) -> None:
        super().__init__(path, encoding=encoding)
        self.delimiter = delimiter
        self.header_row = header_row
        try:
            with path.open(encoding=self.encoding, newline="") as fh:
                reader = csv.reader(fh, delimiter=delimiter)
                header = None
                for record in reader:
                    if reader.line_num >= header_row:
                        header = record
                        break
        except csv.Error as exc:  # e.g. a header longer than the field size limit
            raise FileRejected("file.unreadable", f"{path.name}: the header cannot be read ({exc})") from exc
        if not header:
            raise FileRejected("file.empty", f"{path.name} has no header row (row {header_row})")
        self.header = [cells.clean(h).text for h in header]  # a zero-width or odd space never hides a column

    def header_below(self, needed: set[str], within: int = 10) -> int | None:
        try:
            with self.path.open(encoding=self.encoding, newline="") as fh:
                reader = csv.reader(fh, delimiter=self.delimiter)
                for record in reader:
                    if reader.line_num > self.header_row + within:
                        return None
                    if reader.line_num > self.header_row and needed <= {cells.clean(c).text for c in record}:
                        return reader.line_num
        except (csv.Error, OSError, UnicodeDecodeError):  # only a hint: the columns are missing either way
            return None
        return None

    def present_columns(self) -> set[str]:
        return set(self.header)

    def rows(self) -> Iterator[SourceRow]:
        self._binary = self.path.open("rb")
        try:
            text = io.TextIOWrapper(self._binary, encoding=self.encoding, newline="")
            reader = csv.reader(text, delimiter=self.delimiter)
            for _ in reader:  # the title rows and the header
                if reader.line_num >= self.header_row:
                    break
            width = len(self.header)
            for record in reader:
                if not record or all(not cell.strip() for cell in record):
                    continue
                row = SourceRow(row_no=reader.line_num, cells=dict(zip(self.header, record, strict=False)))
                if len(record) != width:
                    row.problems.append(("row.bad_value", "", f"{len(record)} cells where the header has {width}"))
                yield row
        except csv.Error as exc:
            raise FileRejected("file.unreadable", f"{self.path.name}: {exc}") from exc
        finally:
            self._binary.close()


class JsonLinesReader(Reader):
    """JSON Lines: one JSON object per line; its members become cells (numbers keep their JSON spelling)."""

    def rows(self) -> Iterator[SourceRow]:
        self._binary = self.path.open("rb")
        try:
            text = io.TextIOWrapper(self._binary, encoding=self.encoding, newline=None)
            for number, line in enumerate(text, start=1):
                if not line.strip():
                    continue
                try:
                    value = json.loads(line)
                except (json.JSONDecodeError, RecursionError) as exc:
                    row = SourceRow(row_no=number, cells={})
                    row.problems.append(("row.bad_value", "", f"not usable JSON: {getattr(exc, 'msg', exc)}"))
                    yield row
                    continue
                if not isinstance(value, dict):
                    row = SourceRow(row_no=number, cells={})
                    row.problems.append(("row.bad_value", "", "a line must hold a JSON object"))
                    yield row
                    continue
                geometry = value.pop("geometry", None) if isinstance(value.get("geometry"), dict) else None
                numeric = {k for k, v in value.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
                exact = {k for k in numeric if exact_integer(value[k])}
                texts = {k: _text(v) for k, v in value.items()}
                yield _checked(SourceRow(row_no=number, cells=texts, geometry=geometry, numeric=numeric, exact=exact))
        finally:
            self._binary.close()


class XlsxReader(Reader):
    """An Excel workbook, read-only and streaming (openpyxl ``read_only``): constant memory on large sheets.

    The first row of the sheet (``sheet`` or the first one), or ``header_row``, is the header. Text cells stay as
    they are; date cells become ISO 8601 text; numeric cells become their Python spelling and are marked numeric,
    so an identifier normaliser refuses them (``id.lossy_numeric``) instead of rebuilding lost digits — unless an
    integer of at most 15 digits, which Excel keeps exactly (``identifier.from_number``) — and a date
    normaliser reads them as Excel serials in the workbook's date system (``serial_epoch``: 1900 or 1904).
    """

    def __init__(self, path: Path, *, sheet: str | None = None, header_row: int = 1) -> None:
        self.path = path
        self.header_row = header_row
        self.size = path.stat().st_size
        self.encoding = "xlsx"
        self.crs = None
        self._binary = None
        self.sheet_name = sheet
        try:
            import openpyxl

            self._book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException …
            raise FileRejected("file.unreadable", f"{path.name} is not a readable XLSX workbook: {exc}") from exc
        self.serial_epoch = EPOCH_1904 if self._book.epoch.year == 1904 else EPOCH_1900
        if sheet is not None and sheet not in self._book.sheetnames:
            raise FileRejected("file.unreadable", f"{path.name} has no sheet {sheet!r}")
        try:
            self._sheet = self._book[sheet] if sheet else self._book.worksheets[0]
            rows = self._sheet.iter_rows(min_row=header_row, max_row=header_row, values_only=True)
            first = next(rows, None)
        except Exception as exc:
            raise FileRejected("file.unreadable", f"{path.name}: the sheet cannot be read ({exc})") from exc
        if not first or all(v is None for v in first):
            raise FileRejected("file.empty", f"{path.name} has no header row (row {header_row})")
        self.header = ["" if v is None else cells.clean(str(v)).text for v in first]

    @property
    def position(self) -> int:
        return self.size

    def present_columns(self) -> set[str]:
        return set(self.header)

    def header_below(self, needed: set[str], within: int = 10) -> int | None:
        start = self.header_row + 1
        try:
            rows = self._sheet.iter_rows(min_row=start, max_row=start + within - 1, values_only=True)
            for number, values in enumerate(rows, start=start):
                if needed <= {cells.clean(str(v)).text for v in values if v is not None}:
                    return number
        except Exception:
            return None
        return None

    @staticmethod
    def _cell(value: Any) -> tuple[str | None, bool]:
        import datetime as dt

        if value is None:
            return None, False
        if isinstance(value, bool):
            return ("true" if value else "false"), False
        if isinstance(value, (int, float)):
            return repr(value) if isinstance(value, float) else str(value), True
        if isinstance(value, dt.datetime):
            return (value.date().isoformat() if value.time() == dt.time() else value.isoformat()), False
        if isinstance(value, (dt.date, dt.time)):
            return value.isoformat(), False
        return str(value), False

    def rows(self) -> Iterator[SourceRow]:
        try:
            yield from self._rows()
        except FileRejected:
            raise
        except Exception as exc:  # a truncated or malformed sheet surfaces only while streaming
            raise FileRejected("file.unreadable", f"{self.path.name}: the sheet cannot be read ({exc})") from exc
        finally:
            self._book.close()

    def _rows(self) -> Iterator[SourceRow]:
        start = self.header_row + 1
        for number, values in enumerate(self._sheet.iter_rows(min_row=start, values_only=True), start=start):
            if values is None or all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                continue
            cells: dict[str, str | None] = {}
            numeric: set[str] = set()
            exact: set[str] = set()
            for column, value in zip(self.header, values, strict=False):
                text, is_number = self._cell(value)
                cells[column] = text
                if is_number:
                    numeric.add(column)
                    if exact_integer(value, digits=15):  # a number cell is a double; Excel keeps 15 digits
                        exact.add(column)
            yield SourceRow(row_no=number, cells=cells, numeric=numeric, exact=exact)


def open_reader(
    path: Path,
    *,
    format: str,
    encoding: str = "auto",
    delimiter: str = ",",
    sheet: str | None = None,
    header_row: int = 1,
) -> Reader:
    """The reader for ``format`` (``csv``, ``geojson``, ``topojson``, ``jsonl``, ``xlsx``) over ``path``;
    ``sheet`` names the XLSX sheet or the TopoJSON object, ``header_row`` the CSV or XLSX header row (1-based:
    title rows above it are skipped, row numbers still count them)."""
    if not path.is_file():
        raise FileRejected("file.unreadable", f"no such file: {path}")
    if format == "csv":
        return CsvReader(path, encoding=encoding, delimiter=delimiter, header_row=header_row)
    if format == "geojson":
        return GeoJsonReader(path, encoding=encoding)
    if format == "jsonl":
        return JsonLinesReader(path, encoding=encoding)
    if format == "xlsx":
        return XlsxReader(path, sheet=sheet, header_row=header_row)
    if format == "topojson":
        return TopoJsonReader(path, encoding=encoding, object_name=sheet)
    raise FileRejected("file.unreadable", f"format {format!r} is not supported")
