"""Coordinates as they arrive (issue 8 items 6, 7 and 9): swapped or implausible positions, GCJ-02 and BD-09
map-provider coordinates, and RFC 7946 ring orientation on output — on both databases."""

import json

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from shapely.geometry import LinearRing

from api.app import create_app
from mdm import records
from mdm.errors import FileRejected
from mdm.keys import create_key
from mdm.models import GoldenRecord, SourceRecord
from mdm.settings import Settings
from tests.helpers import PURPOSE_HEADER, csv_file, grant_everything, load, profile, rejects, warnings

# Reference pairs: WGS 84 positions and their GCJ-02 / BD-09 forms computed with eviltransform 0.1.1 (MIT), an
# implementation of the published algorithm independent of prcoords (which the loader uses); the two agree to
# about 1e-7 degree (1 cm), so a tolerance of 1e-6 degree (about 10 cm) holds either way.
SUZHOU_WGS = (120.5853, 31.2990)
SUZHOU_GCJ = (120.5894775016397, 31.296815304942463)
SUZHOU_BD = (120.59587936523305, 31.303118832527435)
BEIJING_WGS = (116.3975, 39.9087)
BEIJING_GCJ = (116.40374367837322, 39.91010352310999)


def golden(db, key):
    with db.read() as session:
        return records.get_record(session, "geo_feature", key)


def points(tmp_path, *rows):
    return csv_file(tmp_path / "pts.csv", [f"{key},点,,,,{lon},{lat}" for key, lon, lat in rows])


def feature_file(tmp_path, geometry, key="g1"):
    document = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": {"id": key, "name": "宗地"}, "geometry": geometry}],
    }
    path = tmp_path / f"{key}.geojson"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def features(**changes):
    return profile(
        "parcels",
        **{
            "format": "geojson",
            "crs": None,
            "source_key": "id",
            "geometry": {"source": "feature", "field": "geometry"},
            "fields": {"feature_id": {"column": "id"}, "name": {"column": "name"}, "feature_type": {"value": "parcel"}},
            **changes,
        },
    )


# 6. swapped or implausible coordinates


def test_swapped_axes_and_points_abroad_are_rejected_with_the_hint_where_swapping_helps(db, tmp_path):
    rows = [
        ("ok", 120.6285, 31.3236),  # Suzhou
        ("swapped", 31.3236, 120.6285),  # Suzhou, latitude first: not even a latitude
        ("swapped_west", 43.8256, 87.6168),  # Ürümqi, latitude first: a valid position in the Arctic Ocean
        ("paris", 2.3522, 48.8566),
    ]
    summary = load(db, profile(), points(tmp_path, *rows), tmp_path)
    assert (summary["inserted"], summary["rejected"]) == (1, 3)
    found = {r["source_key"]: (r["code"], r["errors"][0]["message"]) for r in rejects(summary)}
    assert {key: code for key, (code, _) in found.items()} == dict.fromkeys(
        ["swapped", "swapped_west", "paris"], "geo.outside_extent"
    )
    assert "axes swapped it would be inside" in found["swapped"][1] and "latlon" in found["swapped"][1]
    assert "axes swapped it would be inside" in found["swapped_west"][1]
    assert "swapped" not in found["paris"][1]
    assert golden(db, "ok").data["geometry"]["coordinates"] == [120.6285, 31.3236]


def test_a_profile_declares_its_own_extent(db, tmp_path):
    suzhou_only = profile(extent=[119.9, 30.7, 121.4, 32.1])
    summary = load(db, suzhou_only, points(tmp_path, ("sz", 120.6, 31.3), ("bj", *BEIJING_WGS)), tmp_path)
    assert (summary["inserted"], [r["code"] for r in rejects(summary)]) == (1, ["geo.outside_extent"])
    abroad = profile(extent=[-10, 35, 30, 60])
    assert load(db, abroad, points(tmp_path, ("paris", 2.3522, 48.8566)), tmp_path)["inserted"] == 1


@pytest.mark.parametrize("extent", [[121, 30, 120, 32], [0, 0, 200, 10], [1, 2, 3]])
def test_a_bad_extent_is_a_clear_profile_error(extent):
    with pytest.raises(FileRejected) as caught:
        profile(extent=extent)
    assert caught.value.code == "load.profile_invalid" and "extent" in caught.value.detail


# 9. GCJ-02 and BD-09


def test_gcj02_and_bd09_points_are_converted_to_cgcs2000_with_a_warning_and_the_raw_cells_kept(db, tmp_path):
    gcj = load(db, profile(crs="GCJ-02"), points(tmp_path, ("gcj", *SUZHOU_GCJ), ("bj", *BEIJING_GCJ)), tmp_path)
    assert (gcj["inserted"], gcj["warning_codes"]) == (2, {"geo.crs_converted": 2})
    assert "GCJ-02" in warnings(gcj)[0]["message"]
    bd = load(db, profile(crs="BD-09"), points(tmp_path, ("bd", *SUZHOU_BD)), tmp_path)
    assert (bd["inserted"], bd["warning_codes"]) == (1, {"geo.crs_converted": 1})
    for key, expected in (("gcj", SUZHOU_WGS), ("bd", SUZHOU_WGS), ("bj", BEIJING_WGS)):
        assert golden(db, key).data["geometry"]["coordinates"] == pytest.approx(list(expected), abs=1e-6), key
    with db.read() as session:
        raw = session.execute(sa.select(SourceRecord.raw).where(SourceRecord.business_key == "gcj")).scalar_one()
    assert (raw["lon"], raw["lat"]) == (str(SUZHOU_GCJ[0]), str(SUZHOU_GCJ[1]))
    again = load(db, profile(crs="GCJ-02"), points(tmp_path, ("gcj", *SUZHOU_GCJ), ("bj", *BEIJING_GCJ)), tmp_path)
    assert (again["unchanged"], golden(db, "gcj").version) == (2, 1)


def test_a_gcj02_polygon_keeps_its_raw_geometry_and_unconverted_input_is_never_guessed(db, tmp_path):
    lon, lat = SUZHOU_GCJ
    ring = [[lon, lat], [lon + 0.01, lat], [lon + 0.01, lat + 0.01], [lon, lat + 0.01], [lon, lat]]
    polygon = {"type": "Polygon", "coordinates": [ring]}
    summary = load(db, features(crs="GCJ-02"), feature_file(tmp_path, polygon), tmp_path)
    assert (summary["inserted"], summary["warning_codes"]) == (1, {"geo.crs_converted": 1})
    stored = golden(db, "g1").data["geometry"]["coordinates"][0][0]
    assert stored == pytest.approx(list(SUZHOU_WGS), abs=1e-6)
    with db.read() as session:
        raw = session.execute(sa.select(SourceRecord.raw).where(SourceRecord.business_key == "g1")).scalar_one()
    assert json.loads(raw["(geometry)"]) == polygon
    plain = load(db, features(), feature_file(tmp_path, polygon, key="g2"), tmp_path)  # no crs: RFC 7946 WGS 84
    assert plain["warnings"] == 0 and golden(db, "g2").data["geometry"] == polygon


# 7. ring orientation on output


CW_EXTERIOR = [[120.60, 31.30], [120.60, 31.32], [120.62, 31.32], [120.62, 31.30], [120.60, 31.30]]
CCW_HOLE = [[120.605, 31.305], [120.615, 31.305], [120.615, 31.315], [120.605, 31.315], [120.605, 31.305]]


@pytest.fixture
def api(db, tmp_path):
    settings = Settings(database_url="sqlite://", report_dir=tmp_path / "loads", profile_path=str(tmp_path))
    client = TestClient(create_app(settings, db=db), raise_server_exceptions=False, headers=PURPOSE_HEADER)
    key = create_key(db, department="readers", role="reader", register=True)
    grant_everything(db, "readers")
    return client, {"Authorization": f"Bearer {key}"}


def test_polygons_are_served_with_rfc7946_ring_orientation_and_stored_as_supplied(db, tmp_path, api):
    client, headers = api
    polygon = {"type": "Polygon", "coordinates": [CW_EXTERIOR, CCW_HOLE]}
    multi = {"type": "MultiPolygon", "coordinates": [[CW_EXTERIOR]]}
    load(db, features(), feature_file(tmp_path, polygon, key="g1"), tmp_path)
    load(db, features(), feature_file(tmp_path, multi, key="g2"), tmp_path)

    served = client.get("/repositories/geo_feature/records/g1", headers=headers).json()["data"]["geometry"]
    exterior, hole = served["coordinates"]
    assert LinearRing(exterior).is_ccw and not LinearRing(hole).is_ccw
    assert sorted(map(tuple, exterior)) == sorted(map(tuple, CW_EXTERIOR))  # the same positions, reordered
    listed = client.get("/repositories/geo_feature/records", headers=headers).json()["items"]
    [multi_served] = [item["data"]["geometry"] for item in listed if item["key"] == "g2"]
    assert LinearRing(multi_served["coordinates"][0][0]).is_ccw
    history = client.get("/repositories/geo_feature/records/g1/history", headers=headers).json()["items"]
    assert LinearRing(history[0]["data"]["geometry"]["coordinates"][0]).is_ccw

    with db.read() as session:
        stored = session.execute(sa.select(GoldenRecord.data).where(GoldenRecord.business_key == "g1")).scalar_one()
    assert stored["geometry"]["coordinates"] == [CW_EXTERIOR, CCW_HOLE]  # a winding never makes a new version
