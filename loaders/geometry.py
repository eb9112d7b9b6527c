"""Geometry on the way in: structure checks on raw GeoJSON, validity, optional repair, CRS to CGCS2000.

Output geometry is in EPSG:4490 with x = longitude (pyproj with ``always_xy=True``). WGS 84 (EPSG:4326) and
CGCS2000 differ by centimetres and are taken as they are (DESIGN §3); GCJ-02 has no published transformation in
PROJ and is refused (``geo.crs_unsupported``) rather than guessed.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from mdm.spatial import SRID, geometry_to_geojson

_SAME_AS_CGCS2000 = {"EPSG:4490", "EPSG:4326", "EPSG:4479", "EPSG:4480"}


class GeometryProblem(ValueError):
    """A geometry that cannot be loaded; ``code`` is ``geo.*``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Prepared:
    geojson: dict[str, Any]
    repaired_reason: str | None = None


def _positions(coordinates: Any, depth: int):
    if depth == 0:
        yield coordinates
        return
    if not isinstance(coordinates, list):
        raise GeometryProblem("geo.bad_coordinates", "coordinates must be nested arrays")
    for part in coordinates:
        yield from _positions(part, depth - 1)


def _number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer too large for a float
        return False


_DEPTH = {"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2, "Polygon": 2, "MultiPolygon": 3}


def _check_structure(value: dict[str, Any]) -> None:
    kind = value.get("type")
    if kind not in _DEPTH:
        raise GeometryProblem("geo.invalid_geometry", f"unsupported geometry type {kind!r}")
    coordinates = value.get("coordinates")
    for position in _positions(coordinates, _DEPTH[kind]):
        if not isinstance(position, list) or not 2 <= len(position) <= 3 or not all(_number(c) for c in position):
            raise GeometryProblem("geo.bad_coordinates", f"bad position {position!r}")
    rings = []
    if kind == "Polygon":
        rings = coordinates
    elif kind == "MultiPolygon":
        rings = [ring for polygon in coordinates for ring in polygon]
    for ring in rings:
        if len(ring) < 4:
            raise GeometryProblem("geo.invalid_geometry", "a polygon ring needs at least 4 positions")
        if ring[0] != ring[-1]:
            raise GeometryProblem("geo.invalid_geometry", f"unclosed ring: starts at {ring[0]}, ends at {ring[-1]}")


@functools.cache
def _transformer(source: str) -> Transformer:
    return Transformer.from_crs(CRS.from_user_input(source), CRS.from_epsg(SRID), always_xy=True)


def to_cgcs2000(geometry: BaseGeometry, crs: str, *, latlon: bool = False) -> BaseGeometry:
    """``geometry`` from ``crs`` into EPSG:4490 (x = longitude). ``latlon`` swaps input axes first."""
    if latlon:
        geometry = shapely.transform(geometry, lambda x, y: (y, x), interleaved=False)
    if crs in _SAME_AS_CGCS2000:
        result = geometry
    elif crs == "GCJ-02":
        raise GeometryProblem("geo.crs_unsupported", "GCJ-02 input needs a declared conversion; none is set up")
    else:
        try:
            result = shapely.transform(geometry, _transformer(crs).transform, interleaved=False)
        except CRSError as exc:
            raise GeometryProblem("geo.crs_unsupported", f"cannot transform from {crs}: {exc}") from exc
    min_x, min_y, max_x, max_y = result.bounds
    if not (-180 <= min_x <= max_x <= 180 and -90 <= min_y <= max_y <= 90):
        raise GeometryProblem("geo.bad_coordinates", f"coordinates out of range after conversion: {result.bounds}")
    return result


def prepare(value: dict[str, Any], *, crs: str | None, latlon: bool, repair: bool) -> Prepared:
    """Check, optionally repair, and convert a GeoJSON geometry to EPSG:4490.

    Raises :class:`GeometryProblem`: ``geo.crs_missing`` (no CRS), ``geo.bad_coordinates``,
    ``geo.invalid_geometry`` (with shapely's reason, e.g. 'Self-intersection[120.1 31.2]'),
    ``geo.crs_unsupported``.
    """
    if not isinstance(value, dict):
        raise GeometryProblem("geo.invalid_geometry", "geometry must be a GeoJSON object")
    if crs is None:
        raise GeometryProblem("geo.crs_missing", "coordinates without a declared CRS")
    _check_structure(value)
    try:
        geometry = shape(value)
    except (ValueError, TypeError, shapely.errors.GEOSException) as exc:  # e.g. a LineString of one position
        raise GeometryProblem("geo.invalid_geometry", f"not a usable geometry: {exc}") from exc
    repaired = None
    if not geometry.is_valid:
        reason = shapely.is_valid_reason(geometry)
        if not repair:
            raise GeometryProblem("geo.invalid_geometry", reason)
        fixed = shapely.make_valid(geometry, method="structure", keep_collapsed=False)
        if fixed.is_empty or not fixed.is_valid:
            raise GeometryProblem("geo.invalid_geometry", f"{reason}; repair failed")
        geometry, repaired = fixed, reason
    geometry = to_cgcs2000(geometry, crs, latlon=latlon)
    return Prepared(geojson=geometry_to_geojson(geometry), repaired_reason=repaired)
