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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ijson

from loaders.encoding import detect_encoding
from mdm.errors import FileRejected

csv.field_size_limit(64 * 1024 * 1024)


@dataclass
class SourceRow:
    """One row: its number in the file (CSV: the line as a spreadsheet shows it, header = 1; GeoJSON: the
    feature's position, from 1; JSON Lines: the line), its cells, and for spatial formats its geometry."""

    row_no: int
    cells: dict[str, str | None]
    geometry: dict[str, Any] | None = None
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # (code, column, message)
    numeric: set[str] = field(default_factory=set)  # columns whose value arrived as a number, not text


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

    @property
    def position(self) -> int:
        if self._binary is None or self._binary.closed:
            return self.size
        return self._binary.tell()

    def check_columns(self, needed: set[str]) -> None:
        """Raise ``file.missing_columns`` if a column the profile maps is absent (header-based formats)."""

    def rows(self) -> Iterator[SourceRow]:
        raise NotImplementedError


def _checked(row: SourceRow) -> SourceRow:
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


def _text(value: Any) -> str | None:
    """A JSON value as cell text: strings as they are, numbers in their JSON spelling, null as None."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


class CsvReader(Reader):
    """Delimited text with a header row. A BOM is stripped before headers are matched."""

    def __init__(self, path: Path, *, encoding: str = "auto", delimiter: str = ",") -> None:
        super().__init__(path, encoding=encoding)
        self.delimiter = delimiter
        try:
            with path.open(encoding=self.encoding, newline="") as fh:
                header = next(csv.reader(fh, delimiter=delimiter), None)
        except csv.Error as exc:  # e.g. a header longer than the field size limit
            raise FileRejected("file.unreadable", f"{path.name}: the header cannot be read ({exc})") from exc
        if not header:
            raise FileRejected("file.empty", f"{path.name} has no header row")
        self.header = [h.strip() for h in header]

    def check_columns(self, needed: set[str]) -> None:
        missing = sorted(needed - set(self.header))
        if missing:
            raise FileRejected(
                "file.missing_columns",
                f"{self.path.name} lacks column(s) {', '.join(missing)}; it has: {', '.join(self.header)}",
                missing=missing,
            )

    def rows(self) -> Iterator[SourceRow]:
        self._binary = self.path.open("rb")
        try:
            text = io.TextIOWrapper(self._binary, encoding=self.encoding, newline="")
            reader = csv.reader(text, delimiter=self.delimiter)
            next(reader, None)
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


class _Utf8Bytes(io.RawIOBase):
    """A binary UTF-8 view of a text file in another encoding (for ijson, which parses bytes)."""

    def __init__(self, text: io.TextIOBase) -> None:
        self.text = text
        self.pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while len(self.pending) < len(buffer):
            chunk = self.text.read(65536)
            if not chunk:
                break
            self.pending += chunk.encode("utf-8")
        size = min(len(buffer), len(self.pending))
        buffer[:size], self.pending = self.pending[:size], self.pending[size:]
        return size

    def close(self) -> None:
        self.text.close()
        super().close()


def _utf8(path: Path, encoding: str):
    """``path`` opened as UTF-8 bytes without a BOM, whatever its (detected) encoding."""
    if encoding == "utf-8-sig":
        fh = path.open("rb")
        if fh.read(3) != b"\xef\xbb\xbf":
            fh.seek(0)
        return fh
    return io.BufferedReader(_Utf8Bytes(path.open(encoding=encoding)))


class GeoJsonReader(Reader):
    """A GeoJSON FeatureCollection, streamed with ijson: features are read one at a time, so memory stays
    constant however large the file. Properties become cells; geometry stays a GeoJSON object.

    A legacy ``crs`` member (``urn:ogc:def:crs:EPSG::4490``) is honoured; without one, RFC 7946 applies:
    WGS 84 longitude/latitude.
    """

    def __init__(self, path: Path, *, encoding: str = "auto") -> None:
        super().__init__(path, encoding=encoding)
        kind, has_features, crs_name = None, False, None
        self._columns: set[str] = set()
        try:
            with _utf8(path, self.encoding) as fh:
                for prefix, event, value in ijson.parse(fh):
                    if prefix == "type" and event == "string":
                        kind = value
                    elif prefix == "features" and event == "start_array":
                        has_features = True
                    elif prefix == "crs.properties.name" and event == "string":
                        crs_name = value
                    elif prefix == "features.item.properties" and event == "map_key":
                        self._columns.add(value)
        except (ijson.JSONError, UnicodeDecodeError, RecursionError, ValueError) as exc:
            raise FileRejected("file.unreadable", f"{path.name} is not JSON: {exc}") from exc
        if kind != "FeatureCollection":
            raise FileRejected("file.unreadable", f"{path.name} is not a GeoJSON FeatureCollection")
        if not has_features:
            raise FileRejected("file.unreadable", f"{path.name} has no features array")
        if isinstance(crs_name, str) and "EPSG" in crs_name.upper():
            self.crs = "EPSG:" + crs_name.rsplit(":", 1)[-1]
        elif isinstance(crs_name, str) and crs_name.upper().endswith("CRS84"):
            self.crs = "EPSG:4326"

    def check_columns(self, needed: set[str]) -> None:
        missing = sorted(needed - self._columns)
        if missing and self._columns:
            raise FileRejected(
                "file.missing_columns",
                f"{self.path.name}: no feature has the propert(ies) {', '.join(missing)}",
                missing=missing,
            )

    @property
    def position(self) -> int:
        return self.size

    def rows(self) -> Iterator[SourceRow]:
        try:
            yield from self._features()
        except (ijson.JSONError, ValueError, OverflowError) as exc:  # e.g. a number beyond the parser's range
            raise FileRejected("file.unreadable", f"{self.path.name}: {exc}") from exc

    def _features(self) -> Iterator[SourceRow]:
        with _utf8(self.path, self.encoding) as fh:
            for number, feature in enumerate(ijson.items(fh, "features.item", use_float=True), start=1):
                if not isinstance(feature, dict) or feature.get("type") != "Feature":
                    row = SourceRow(row_no=number, cells={})
                    row.problems.append(("row.bad_value", "", "not a GeoJSON Feature"))
                    yield row
                    continue
                properties = feature.get("properties") or {}
                if not isinstance(properties, dict):
                    row = SourceRow(row_no=number, cells={})
                    row.problems.append(("row.bad_value", "", "properties must be a JSON object"))
                    yield row
                    continue
                cells = {k: _text(v) for k, v in properties.items()}
                yield _checked(SourceRow(row_no=number, cells=cells, geometry=feature.get("geometry")))


class TopoJsonReader(Reader):
    """One object of a TopoJSON topology (a GeometryCollection) as rows: properties become cells, each
    geometry is rebuilt as GeoJSON from the shared arcs (delta-decoded and scaled when the topology is quantised).
    ``object_name`` picks the object (the first one when None). Coordinates are taken as RFC 7946 lon/lat unless
    the profile declares a CRS."""

    def __init__(self, path: Path, *, encoding: str = "auto", object_name: str | None = None) -> None:
        super().__init__(path, encoding=encoding)
        try:
            with path.open(encoding=self.encoding) as fh:
                topology = json.load(fh)
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise FileRejected("file.unreadable", f"{path.name} is not JSON: {exc}") from exc
        objects = topology.get("objects") if isinstance(topology, dict) else None
        if topology.get("type") != "Topology" or not isinstance(objects, dict) or not objects:
            raise FileRejected("file.unreadable", f"{path.name} is not a TopoJSON topology with objects")
        name = object_name or next(iter(objects))
        if name not in objects:
            raise FileRejected("file.unreadable", f"{path.name} has no object {name!r}; it has {', '.join(objects)}")
        self.object = objects[name]
        self.arcs = self._decode_arcs(topology.get("arcs") or [], topology.get("transform"))

    @staticmethod
    def _decode_arcs(arcs: list, transform: dict | None) -> list[list[list[float]]]:
        scale = translate = None
        if isinstance(transform, dict):
            scale, translate = transform.get("scale"), transform.get("translate")
        decoded = []
        for arc in arcs:
            points, x, y = [], 0, 0
            for position in arc:
                if scale and translate:
                    x, y = x + position[0], y + position[1]
                    points.append([x * scale[0] + translate[0], y * scale[1] + translate[1]])
                else:
                    points.append([position[0], position[1]])
            decoded.append(points)
        return decoded

    def _line(self, indices: list[int]) -> list[list[float]]:
        line: list[list[float]] = []
        for index in indices:
            arc = self.arcs[index] if index >= 0 else list(reversed(self.arcs[~index]))
            line.extend(arc if not line else arc[1:])
        return line

    def _geometry(self, geometry: dict[str, Any]) -> dict[str, Any] | None:
        kind, arcs = geometry.get("type"), geometry.get("arcs")
        if kind == "Polygon":
            return {"type": kind, "coordinates": [self._line(ring) for ring in arcs]}
        if kind == "MultiPolygon":
            return {"type": kind, "coordinates": [[self._line(ring) for ring in polygon] for polygon in arcs]}
        if kind == "LineString":
            return {"type": kind, "coordinates": self._line(arcs)}
        if kind == "MultiLineString":
            return {"type": kind, "coordinates": [self._line(line) for line in arcs]}
        if kind in ("Point", "MultiPoint"):
            return {"type": kind, "coordinates": geometry.get("coordinates")}
        return None

    @property
    def position(self) -> int:
        return self.size

    def check_columns(self, needed: set[str]) -> None:
        present: set[str] = set()
        for geometry in (self.object.get("geometries") or [])[:100]:
            if isinstance(geometry, dict) and isinstance(geometry.get("properties"), dict):
                present |= set(geometry["properties"])
        missing = sorted(needed - present)
        if missing:
            raise FileRejected(
                "file.missing_columns", f"{self.path.name}: no geometry has {', '.join(missing)}", missing=missing
            )

    def rows(self) -> Iterator[SourceRow]:
        for number, geometry in enumerate(self.object.get("geometries") or [], start=1):
            if not isinstance(geometry, dict) or not isinstance(geometry.get("properties") or {}, dict):
                row = SourceRow(row_no=number, cells={})
                row.problems.append(("row.bad_value", "", "not a TopoJSON geometry object"))
                yield row
                continue
            try:
                shape = self._geometry(geometry)
            except (IndexError, TypeError, KeyError) as exc:
                row = SourceRow(row_no=number, cells={})
                row.problems.append(("geo.invalid_geometry", "", f"arcs cannot be resolved: {exc}"))
                yield row
                continue
            cells = {k: _text(v) for k, v in (geometry.get("properties") or {}).items()}
            yield _checked(SourceRow(row_no=number, cells=cells, geometry=shape))


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
                yield _checked(
                    SourceRow(
                        row_no=number, cells={k: _text(v) for k, v in value.items()}, geometry=geometry, numeric=numeric
                    )
                )
        finally:
            self._binary.close()


class XlsxReader(Reader):
    """An Excel workbook, read-only and streaming (openpyxl ``read_only``): constant memory on large sheets.

    The first row of the sheet (``sheet`` or the first one) is the header. Text cells stay as they are; date
    cells become ISO 8601 text; numeric cells become their Python spelling and are marked numeric, so an
    identifier normaliser refuses them (``id.lossy_numeric``) instead of rebuilding lost digits.
    """

    def __init__(self, path: Path, *, sheet: str | None = None) -> None:
        self.path = path
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
        if sheet is not None and sheet not in self._book.sheetnames:
            raise FileRejected("file.unreadable", f"{path.name} has no sheet {sheet!r}")
        try:
            self._sheet = self._book[sheet] if sheet else self._book.worksheets[0]
            first = next(self._sheet.iter_rows(max_row=1, values_only=True), None)
        except Exception as exc:
            raise FileRejected("file.unreadable", f"{path.name}: the sheet cannot be read ({exc})") from exc
        if not first or all(v is None for v in first):
            raise FileRejected("file.empty", f"{path.name} has no header row")
        self.header = ["" if v is None else str(v).strip() for v in first]

    @property
    def position(self) -> int:
        return self.size

    def check_columns(self, needed: set[str]) -> None:
        CsvReader.check_columns(self, needed)  # type: ignore[arg-type]

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
        for number, values in enumerate(self._sheet.iter_rows(min_row=2, values_only=True), start=2):
            if values is None or all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                continue
            cells: dict[str, str | None] = {}
            numeric: set[str] = set()
            for column, value in zip(self.header, values, strict=False):
                text, is_number = self._cell(value)
                cells[column] = text
                if is_number:
                    numeric.add(column)
            yield SourceRow(row_no=number, cells=cells, numeric=numeric)


def open_reader(
    path: Path, *, format: str, encoding: str = "auto", delimiter: str = ",", sheet: str | None = None
) -> Reader:
    """The reader for ``format`` (``csv``, ``geojson``, ``topojson``, ``jsonl``, ``xlsx``) over ``path``;
    ``sheet`` names the XLSX sheet or the TopoJSON object."""
    if not path.is_file():
        raise FileRejected("file.unreadable", f"no such file: {path}")
    if format == "csv":
        return CsvReader(path, encoding=encoding, delimiter=delimiter)
    if format == "geojson":
        return GeoJsonReader(path, encoding=encoding)
    if format == "jsonl":
        return JsonLinesReader(path, encoding=encoding)
    if format == "xlsx":
        return XlsxReader(path, sheet=sheet)
    if format == "topojson":
        return TopoJsonReader(path, encoding=encoding, object_name=sheet)
    raise FileRejected("file.unreadable", f"format {format!r} is not supported")
