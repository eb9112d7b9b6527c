"""Geometry on the way in: structure checks on raw GeoJSON, validity, optional repair, CRS to CGCS2000, extent.

Output geometry is in EPSG:4490 with x = longitude (pyproj with ``always_xy=True``). WGS 84 (EPSG:4326) and
CGCS2000 differ by centimetres and are taken as they are (DESIGN §3). Map-provider coordinates are converted
only when the profile declares them — never guessed: ``GCJ-02`` (the obfuscated datum of Chinese web maps,
offset by up to about 500 m) and ``BD-09`` (Baidu's, a further rotation of GCJ-02) are rectified to WGS 84 with
prcoords (public domain; the iterative "bored" inverse of the published forward algorithm, accurate to about
1e-9 degree), which is then taken as CGCS2000. A position outside prcoords' China box is left as it is: map
providers do not offset outside China.

Every geometry must lie within the profile's ``extent`` (default China's bounding box): outside it is
``geo.outside_extent``, and the message says what was done to the axes and where the other axis order would put
it (inside: a hint to set ``axis_order``; still outside: its bounds). A swap the profile asks for
(``axis_order: latlon``) is reported on every value it was applied to (:attr:`Prepared.axes_swapped`, warning
``geo.axes_swapped``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
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


MAP_PROVIDER_CRS = ("GCJ-02", "BD-09")


@dataclass
class Prepared:
    geojson: dict[str, Any]
    repaired_reason: str | None = None
    converted_from: str | None = None  # GCJ-02 or BD-09: the raw geometry is worth keeping
    axes_swapped: bool = False  # latitude came first (axis_order: latlon) and was swapped


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
    coordinates: Any = value.get("coordinates")
    for position in _positions(coordinates, _DEPTH[kind]):
        if not isinstance(position, list) or not 2 <= len(position) <= 3 or not all(_number(c) for c in position):
            raise GeometryProblem("geo.bad_coordinates", f"bad position {position!r}")
    rings: list[Any] = []
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


def _transform_xy(geometry: BaseGeometry, transformation: Callable[[Any, Any], tuple[Any, Any]]) -> BaseGeometry:
    """``shapely.transform`` with ``interleaved=False``: ``transformation`` takes the x and the y arrays and
    returns both."""
    # types-shapely describes only the interleaved form, a function of one (n, 2) array
    return shapely.transform(geometry, transformation, interleaved=False)  # type: ignore[arg-type]


def to_cgcs2000(geometry: BaseGeometry, crs: str, *, latlon: bool = False) -> BaseGeometry:
    """``geometry`` from ``crs`` into EPSG:4490 (x = longitude). ``latlon`` swaps input axes first."""
    if latlon:
        geometry = _transform_xy(geometry, lambda x, y: (y, x))
    if crs in _SAME_AS_CGCS2000:
        result = geometry
    elif crs in MAP_PROVIDER_CRS:
        result = _transform_xy(geometry, functools.partial(_rectify, crs))
    else:
        try:
            result = _transform_xy(geometry, _transformer(crs).transform)
        except CRSError as exc:
            raise GeometryProblem("geo.crs_unsupported", f"cannot transform from {crs}: {exc}") from exc
    min_x, min_y, max_x, max_y = result.bounds
    if not (-180 <= min_x <= max_x <= 180 and -90 <= min_y <= max_y <= 90):
        raise GeometryProblem("geo.bad_coordinates", f"coordinates out of range after conversion: {result.bounds}")
    return result


def _rectify(crs: str, xs: Any, ys: Any) -> tuple[list[float], list[float]]:
    """GCJ-02 or BD-09 longitudes and latitudes as WGS 84 (see the module)."""
    import prcoords

    inverse = prcoords.gcj_wgs_bored if crs == "GCJ-02" else prcoords.bd_wgs_bored
    lons, lats = [], []
    for lon, lat in zip(xs, ys, strict=True):
        if prcoords.sanity_in_china_p(prcoords.Coords(lat, lon)):
            lat, lon = inverse((lat, lon), False)
        lons.append(lon)
        lats.append(lat)
    return lons, lats


def _inside(geometry: BaseGeometry, extent: tuple[float, float, float, float]) -> bool:
    min_x, min_y, max_x, max_y = geometry.bounds
    return extent[0] <= min_x and max_x <= extent[2] and extent[1] <= min_y and max_y <= extent[3]


def _outside(
    geometry: BaseGeometry,
    crs: str,
    latlon: bool,
    extent: tuple[float, float, float, float],
    *,
    out_of_range: bool = False,
) -> tuple[str, bool]:
    """The message for a geometry outside ``extent``, saying what was done to its axes and what the other axis
    order would give (its position too when the geometry is ``out_of_range`` as read, so plainly swapped), and
    whether swapping would put it inside."""
    bounds = tuple(round(b, 6) for b in geometry.bounds)
    done = "; its axes were swapped (axis_order: latlon)" if latlon else ""
    message = f"the geometry (bounds {bounds} as supplied{done}) lies outside the extent {list(extent)}"
    order = "lonlat" if latlon else "latlon"
    try:
        swapped = to_cgcs2000(geometry, crs, latlon=not latlon)
    except GeometryProblem:
        return message, False
    if _inside(swapped, extent):
        return f"{message}; with its axes swapped it would be inside: check axis_order (set {order}?)", True
    if not out_of_range:
        return message, False
    other = tuple(round(b, 6) for b in swapped.bounds)
    return f"{message}; with its axes swapped (axis_order: {order}) it would be at {other}, still outside it", False


def prepare(
    value: dict[str, Any],
    *,
    crs: str | None,
    latlon: bool,
    repair: bool,
    extent: tuple[float, float, float, float] = (-180.0, -90.0, 180.0, 90.0),
) -> Prepared:
    """Check, optionally repair, and convert a GeoJSON geometry to EPSG:4490, within ``extent`` (degrees:
    min lon, min lat, max lon, max lat).

    Raises :class:`GeometryProblem`: ``geo.crs_missing`` (no CRS), ``geo.bad_coordinates``,
    ``geo.invalid_geometry`` (with shapely's reason, e.g. 'Self-intersection[120.1 31.2]'),
    ``geo.crs_unsupported``, ``geo.outside_extent`` (with the swapped-axes hint where it applies).
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
    try:
        converted = to_cgcs2000(geometry, crs, latlon=latlon)
    except GeometryProblem as exc:
        if exc.code != "geo.bad_coordinates":
            raise
        message, swapped = _outside(geometry, crs, latlon, extent, out_of_range=True)
        if swapped:
            raise GeometryProblem("geo.outside_extent", message) from None
        raise GeometryProblem("geo.bad_coordinates", f"{exc}; {message}") from None
    if not _inside(converted, extent):
        raise GeometryProblem("geo.outside_extent", _outside(geometry, crs, latlon, extent)[0])
    converted_from = crs if crs in MAP_PROVIDER_CRS else None
    return Prepared(
        geojson=geometry_to_geojson(converted),
        repaired_reason=repaired,
        converted_from=converted_from,
        axes_swapped=latlon,
    )
