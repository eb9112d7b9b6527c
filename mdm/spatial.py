"""Spatial storage and predicates, hiding the difference between PostGIS and embedded SQLite.

Geometry is stored in CGCS2000 (EPSG:4490) with x = longitude, y = latitude (DESIGN §3):

* PostgreSQL: a PostGIS ``geometry(Geometry, 4490)`` column with a GiST index (created by the migrations);
* SQLite: the geometry as WKB in a BLOB column, its envelope in ``min_x … max_y`` columns mirrored into an
  R*Tree (``golden_rtree``, kept by triggers from the migrations); shapely answers the exact predicate.

Both dialects keep the envelope columns, so candidates by envelope and the final answer are the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

from sqlalchemy import LargeBinary, and_, func, literal, select
from sqlalchemy.types import TypeDecorator, UserDefinedType

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

# shapely is imported where a geometry is made or read, not here: the models import this module, and commands
# that never touch a geometry (``mdm check``, ``mdm keys``) should not pay for it.

SRID = 4490  # CGCS2000


class _PostgisGeometry(UserDefinedType):
    """PostGIS ``geometry(Geometry, 4490)``. Values travel as EWKT in and hex EWKB out (PostGIS's text forms)."""

    cache_ok = True

    def get_col_spec(self, **kw) -> str:
        return f"geometry(Geometry, {SRID})"


class GeometryColumn(TypeDecorator):
    """A column type holding a shapely geometry: PostGIS geometry(Geometry, 4490) or WKB in SQLite.

    Our own small type rather than GeoAlchemy2's ``Geometry``: GeoAlchemy2's DDL hooks manage only its own
    types and assume SpatiaLite on SQLite, which the embedded mode does not have.
    """

    impl = LargeBinary
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            return dialect.type_descriptor(_PostgisGeometry())
        return dialect.type_descriptor(LargeBinary())

    def process_bind_param(self, value: BaseGeometry | None, dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "postgresql":
            return f"SRID={SRID};{value.wkt}"
        import shapely

        return shapely.to_wkb(value)

    def process_result_value(self, value: Any, dialect) -> BaseGeometry | None:
        if value is None:
            return None
        import shapely

        if dialect.name == "postgresql":
            data = getattr(value, "data", value)
            if isinstance(data, str):
                return shapely.from_wkb(bytes.fromhex(data))
            return shapely.from_wkb(bytes(data))
        return shapely.from_wkb(bytes(value))


@dataclass(frozen=True)
class Envelope:
    """An axis-aligned envelope in EPSG:4490 degrees: (min_x, min_y, max_x, max_y) = (west, south, east, north)."""

    min_x: float
    min_y: float
    max_x: float
    max_y: float

    @classmethod
    def of(cls, geometry: BaseGeometry) -> Envelope:
        return cls(*geometry.bounds)


@overload
def geometry_from_geojson(value: dict[str, Any]) -> BaseGeometry: ...
@overload
def geometry_from_geojson(value: None) -> None: ...
def geometry_from_geojson(value: dict[str, Any] | None) -> BaseGeometry | None:
    """A shapely geometry from an RFC 7946 GeoJSON geometry object (None passes through)."""
    from shapely.geometry import shape

    return None if value is None else shape(value)


def geometry_to_geojson(geometry: BaseGeometry) -> dict[str, Any]:
    """RFC 7946 GeoJSON geometry (lists, not tuples) for a shapely geometry."""
    from shapely.geometry import mapping

    return _listify(mapping(geometry))


def oriented(value: Any) -> Any:
    """A GeoJSON Polygon or MultiPolygon with RFC 7946 §3.1.6 ring orientation — exterior rings counter-clockwise,
    holes clockwise (shapely's ``orient``, sign 1.0) — or ``value`` itself when it is no polygon or is already so
    oriented. Positions are kept exactly; only the order of a wrongly wound ring is reversed."""
    if not isinstance(value, dict) or value.get("type") not in ("Polygon", "MultiPolygon"):
        return value
    import shapely
    from shapely.geometry import MultiPolygon, Polygon, shape
    from shapely.geometry.polygon import orient

    try:
        geometry = shape(value)
    except (ValueError, TypeError, AttributeError, shapely.errors.GEOSException):
        return value  # not a usable polygon: served as stored
    if isinstance(geometry, MultiPolygon):
        parts = list(geometry.geoms)
    elif isinstance(geometry, Polygon):
        parts = [geometry]
    else:  # shape() of a Polygon or MultiPolygon object is one of the two
        return value
    if all(p.exterior.is_ccw and all(not r.is_ccw for r in p.interiors) for p in parts):
        return value
    fixed = [orient(p, sign=1.0) for p in parts]
    result = MultiPolygon(fixed) if isinstance(geometry, MultiPolygon) else fixed[0]
    return {**value, **geometry_to_geojson(result)}


def _listify(node: Any) -> Any:
    if isinstance(node, (list, tuple)):
        return [_listify(v) for v in node]
    if isinstance(node, dict):
        return {k: _listify(v) for k, v in node.items()}
    return node


def storage_value(geometry: BaseGeometry | None, dialect_name: str) -> Any:
    """What a staging table holds for a geometry: EWKB hex on PostgreSQL, WKB bytes on SQLite."""
    if geometry is None:
        return None
    import shapely

    if dialect_name == "postgresql":
        return (
            shapely.to_wkb(geometry, hex=True, include_srid=True)
            if geometry.has_z is False and shapely.get_srid(geometry) == SRID
            else shapely.to_wkb(shapely.set_srid(geometry, SRID), hex=True, include_srid=True)
        )
    return shapely.to_wkb(geometry)


def staged_geometry_sql(column: str, dialect_name: str) -> str:
    """SQL turning a staging column (see :func:`storage_value`) into the stored geometry value."""
    if dialect_name == "postgresql":
        return f"ST_GeomFromEWKB(decode({column}, 'hex'))"
    return column


def _point_params(lon: float, lat: float) -> BaseGeometry:
    import shapely

    return shapely.Point(lon, lat)


def contains_point(table, lon: float, lat: float, dialect_name: str):
    """A WHERE clause for features whose geometry contains the point (lon, lat) in EPSG:4490.

    On PostgreSQL the database answers exactly (``ST_Contains``); on SQLite the clause selects envelope candidates
    through the R*Tree and :func:`refine_contains` finishes the job with shapely.
    """
    if dialect_name == "postgresql":
        point = func.ST_SetSRID(func.ST_MakePoint(lon, lat), SRID)
        return func.ST_Contains(table.c.geom, point)
    return table.c.id.in_(_rtree_candidates(lon, lat, lon, lat))


def intersects_envelope(table, env: Envelope, dialect_name: str):
    """A WHERE clause for features whose geometry intersects the envelope (exact on PostgreSQL, candidates on
    SQLite; :func:`refine_intersects` finishes)."""
    if dialect_name == "postgresql":
        rect = func.ST_MakeEnvelope(env.min_x, env.min_y, env.max_x, env.max_y, SRID)
        return and_(table.c.geom.op("&&")(rect), func.ST_Intersects(table.c.geom, rect))
    return table.c.id.in_(_rtree_candidates(env.min_x, env.min_y, env.max_x, env.max_y))


def _rtree_candidates(min_x: float, min_y: float, max_x: float, max_y: float):
    from sqlalchemy import column, table

    rtree = table("golden_rtree", column("id"), column("min_x"), column("max_x"), column("min_y"), column("max_y"))
    return select(rtree.c.id).where(
        rtree.c.min_x <= literal(max_x),
        rtree.c.max_x >= literal(min_x),
        rtree.c.min_y <= literal(max_y),
        rtree.c.max_y >= literal(min_y),
    )


def needs_refinement(dialect_name: str) -> bool:
    """True where the database returns envelope candidates only (SQLite) and shapely must decide."""
    return dialect_name != "postgresql"


def refine_contains(geometry: BaseGeometry | None, lon: float, lat: float) -> bool:
    return geometry is not None and geometry.contains(_point_params(lon, lat))


def refine_intersects(geometry: BaseGeometry | None, env: Envelope) -> bool:
    from shapely.geometry import box

    return geometry is not None and geometry.intersects(box(env.min_x, env.min_y, env.max_x, env.max_y))
