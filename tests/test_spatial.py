"""Spatial predicates give the same answers on PostGIS and on SQLite (R*Tree + shapely)."""

import pytest

from mdm import records, spatial
from standards import default_registry
from tests.helpers import load, profile

GEO = default_registry().get("geo_feature")

# Three polygons (EPSG:4490) and a point: an L-shaped polygon whose envelope holds a point it does not contain
# tells a real predicate from an envelope test.
FEATURES = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"id": "square", "name": "方块"},
            "geometry": {"type": "Polygon", "coordinates": [[[120, 31], [121, 31], [121, 32], [120, 32], [120, 31]]]},
        },
        {
            "type": "Feature",
            "properties": {"id": "ell", "name": "L形"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[122, 31], [124, 31], [124, 31.5], [122.5, 31.5], [122.5, 33], [122, 33], [122, 31]]],
            },
        },
        {
            "type": "Feature",
            "properties": {"id": "far", "name": "远处"},
            "geometry": {"type": "MultiPolygon", "coordinates": [[[[100, 20], [101, 20], [101, 21], [100, 20]]]]},
        },
        {
            "type": "Feature",
            "properties": {"id": "dot", "name": "点"},
            "geometry": {"type": "Point", "coordinates": [120.5, 31.5]},
        },
    ],
}


@pytest.fixture
def features(db, tmp_path):
    import json

    path = tmp_path / "features.geojson"
    path.write_text(json.dumps(FEATURES), encoding="utf-8")
    prof = profile(
        "shapes",
        format="geojson",
        crs=None,
        source_key="id",
        geometry={"source": "feature", "field": "geometry"},
        fields={"feature_id": {"column": "id"}, "name": {"column": "name"}, "feature_type": {"value": "parcel"}},
    )
    summary = load(db, prof, path, tmp_path)
    assert summary["rejected"] == 0
    return db


def keys(db, **query):
    with db.read() as session:
        found, _ = records.list_records(session, GEO, records.ListQuery(filters={}, **query))
    return [r.key for r in found]


def test_contains_finds_the_polygons_holding_a_point(features):
    assert keys(features, contains=(120.3, 31.7)) == ["square"]


def test_contains_is_exact_not_an_envelope_test(features):
    # (123.5, 32.5) is inside the L's envelope but outside the L.
    assert keys(features, contains=(123.5, 32.5)) == []
    assert keys(features, contains=(122.2, 32.5)) == ["ell"]


def test_bbox_returns_features_whose_geometry_intersects_it(features):
    assert keys(features, bbox=spatial.Envelope(120.4, 31.4, 122.1, 31.6)) == ["dot", "ell", "square"]
    assert keys(features, bbox=spatial.Envelope(123, 32, 124, 33)) == []


def test_spatial_filters_page_like_any_other(features):
    with features.read() as session:
        query = records.ListQuery(filters={}, limit=1, bbox=spatial.Envelope(119, 30, 125, 34))
        first, cursor = records.list_records(session, GEO, query)
        second, cursor2 = records.list_records(
            session, GEO, records.ListQuery(filters={}, limit=1, cursor=cursor, bbox=query.bbox)
        )
    assert [r.key for r in first] == ["dot"] and [r.key for r in second] == ["ell"]
    assert cursor2 is not None


def test_a_geometry_round_trips_as_rfc7946_geojson(features):
    with features.read() as session:
        record = records.get_record(session, "geo_feature", "far")
    assert record.data["geometry"] == FEATURES["features"][2]["geometry"]
