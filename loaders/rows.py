"""What every reader yields and shares: a row of text cells with its number, and the reader's interface.

Every cell is text (``str``) or ``None``; nothing guesses types, so codes keep their leading zeros. A reader
raises :class:`mdm.errors.FileRejected` for a file that cannot be read at all (``file.unreadable``,
``file.missing_columns``, ``file.empty``); row-level trouble is the pipeline's business.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loaders.encoding import detect_encoding
from mdm.errors import FileRejected

RAW_GEOMETRY = "(geometry)"  # the raw key holding a feature's geometry as supplied, when it was converted


@dataclass
class SourceRow:
    """One row: its number in the file (CSV: the line as a spreadsheet shows it, header = 1; GeoJSON: the
    feature's position, from 1; JSON Lines: the line), its cells, and for spatial formats its geometry."""

    row_no: int
    cells: dict[str, str | None]
    geometry: dict[str, Any] | None = None
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # (code, column, message)
    numeric: set[str] = field(default_factory=set)  # columns whose value arrived as a number, not text
    exact: set[str] = field(default_factory=set)  # of those, the integers whose digits are surely as issued


class Reader:
    """Base of the readers: ``encoding`` (as detected), ``size`` in bytes, ``position`` read so far."""

    def __init__(self, path: Path, *, encoding: str = "auto") -> None:
        self.path = path
        try:
            self.size = path.stat().st_size
        except OSError as exc:
            raise FileRejected("file.unreadable", f"cannot open {path}: {exc}") from exc
        self.encoding = detect_encoding(path, encoding)
        self._binary: io.BufferedReader | None = None
        self.crs: str | None = None  # a CRS the file itself declares
        self.serial_epoch: dt.date | None = None  # a workbook's date system (numeric date cells are serials)

    @property
    def position(self) -> int:
        if self._binary is None or self._binary.closed:
            return self.size
        return self._binary.tell()

    def present_columns(self) -> set[str] | None:
        """The columns (properties) the file has, or None where the format cannot tell before reading."""
        return None

    header_row = 1  # the 1-based row holding the header (tabular readers: the profile's header_row)

    def check_columns(self, needed: set[str]) -> None:
        """Raise ``file.missing_columns`` if a column the profile maps is absent from the file; when a lower row
        holds them all (a title row above the header, often a merged cell), the message says which row and
        ``extra["header_row"]`` suggests it."""
        present = self.present_columns()
        if not present:
            return
        missing = sorted(needed - present)
        if missing:
            message = f"{self.path.name} lacks column(s) {', '.join(missing)}; it has: {', '.join(sorted(present))}"
            extra: dict[str, Any] = {"missing": missing}
            found = self.header_below(needed)
            if found is not None:
                title = "a title row (a merged cell?)" if len(present - {""}) <= 1 else "not the header"
                message += (
                    f". Row {self.header_row} looks like {title}: row {found} holds every column the profile maps;"
                    f" set header_row: {found} in the profile"
                )
                extra["header_row"] = found
            raise FileRejected("file.missing_columns", message, **extra)

    def header_below(self, needed: set[str], within: int = 10) -> int | None:
        """The first row below the header, within ``within`` rows, whose cells hold every ``needed`` column;
        None when none does or the format has no rows of cells."""
        return None

    def rows(self) -> Iterator[SourceRow]:
        raise NotImplementedError


def checked(row: SourceRow) -> SourceRow:
    """Turn cells no store can keep (an unpaired surrogate from a JSON escape) into a row problem."""
    for column, cell in row.cells.items():
        if cell is None:
            continue
        try:
            cell.encode("utf-8")
        except UnicodeEncodeError:
            row.problems.append(("row.bad_value", column, "an unpaired surrogate (a broken \\u escape)"))
            row.cells[column] = cell.encode("utf-8", "backslashreplace").decode("utf-8")
    return row


_DOUBLE_EXACT = 2**53  # every integer up to here is exactly a double


def exact_integer(value: Any, *, digits: int | None = None) -> bool:
    """Whether a number read from a file is an integer whose digits are surely as issued: at most ``digits``
    digits where the format keeps no more (an XLSX number cell: Excel keeps 15 significant digits), else one
    that a double holds exactly (up to 2**53) or cannot hold at all (so no double-typed writer rounded it).
    ``1.10105E+17`` (a float) never is; neither is ``110101199003071232``, which a double could have rounded."""
    if isinstance(value, bool) or not isinstance(value, int):
        return False
    if digits is not None:
        return len(str(abs(value))) <= digits
    if abs(value) <= _DOUBLE_EXACT:
        return True
    try:
        return int(float(value)) != value
    except OverflowError:
        return True


def cell_text(value: Any) -> str | None:
    """A JSON value as cell text: strings as they are, numbers in their JSON spelling, null as None."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)
