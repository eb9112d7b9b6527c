"""Spatial readers: GeoJSON (streamed with ijson, constant memory) and TopoJSON (one object of a topology)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ijson

from loaders.rows import Reader, SourceRow
from loaders.rows import cell_text as _text
from loaders.rows import checked as _checked
from mdm.errors import FileRejected


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

    def present_columns(self) -> set[str]:
        return self._columns

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
        kind = geometry.get("type")
        # untrusted JSON, None included: a malformed ``arcs`` raises TypeError, IndexError or KeyError, and
        # rows() reports it as the row's problem
        arcs: Any = geometry.get("arcs")
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

    def present_columns(self) -> set[str]:
        present: set[str] = set()
        for geometry in (self.object.get("geometries") or [])[:100]:
            if isinstance(geometry, dict) and isinstance(geometry.get("properties"), dict):
                present |= set(geometry["properties"])
        return present

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
