"""Loaders on small files written here: encodings, cells as text, normalisers, geometry, profiles."""

import json

import pytest

from loaders.encoding import detect_encoding
from loaders.profiles import find_profile, load_profile
from mdm import records
from mdm.db import Database
from mdm.errors import FileRejected
from standards import default_registry
from tests.helpers import csv_file, load, profile, read_jsonl, write_profile

HEADER = "id,name,level,division,since,lon,lat"
GEO_STANDARD = default_registry().get("geo_feature")


@pytest.fixture
def sqlite_db(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'mdm.db'}")
    yield db
    db.dispose()


def rejects(summary):
    return read_jsonl(summary["rejects_path"])


def warnings(summary):
    return read_jsonl(summary["warnings_path"])


def get(db, key):
    with db.read() as session:
        return records.get_record(session, "geo_feature", key)


def test_gb18030_with_a_character_outside_gbk_and_utf8_with_bom_load_the_same_record(db, tmp_path):
    row = ["p1,𠀾家祠堂,,320508,2020-01-01,120.6,31.3"]  # U+2003E is in GB18030, not in GBK
    gb = csv_file(tmp_path / "gb.csv", row, encoding="gb18030")
    bom = csv_file(tmp_path / "bom.csv", row, encoding="utf-8-sig")
    first = load(db, profile(), gb, tmp_path)
    second = load(db, profile(), bom, tmp_path)
    assert (first["encoding"], first["inserted"]) == ("gb18030", 1)
    assert (second["encoding"], second["unchanged"]) == ("utf-8-bom", 1)
    assert get(db, "p1").data["name"] == "𠀾家祠堂"


def test_a_file_in_no_known_encoding_is_rejected_whole(tmp_path, sqlite_db):
    path = tmp_path / "utf16.csv"
    path.write_text(HEADER + "\np1,苏州,,320508,,,\n", encoding="utf-16")
    with pytest.raises(FileRejected) as caught:
        load(sqlite_db, profile(), path, tmp_path)
    assert caught.value.code == "file.encoding_unknown"
    assert caught.value.extra["summary"]["status"] == "rejected"


def test_detection_never_decodes_lossily(tmp_path):
    path = tmp_path / "mixed.txt"
    path.write_bytes("苏州".encode() + b"\xff\xfe")
    with pytest.raises(FileRejected):
        detect_encoding(path)


def test_code_columns_keep_their_leading_zeros(sqlite_db, tmp_path):
    prof = profile(
        fields={
            "feature_id": {"column": "id"},
            "name": {"column": "name"},
            "house_no": {"column": "level"},
            "feature_type": {"value": "address"},
        }
    )
    load(sqlite_db, prof, csv_file(tmp_path / "z.csv", ["007,零零七号,0042,,,,"]), tmp_path)
    record = get(sqlite_db, "007")
    assert record.data["house_no"] == "0042" and record.key == "007"


def test_an_identifier_that_went_through_excel_is_rejected_not_rebuilt(sqlite_db, tmp_path):
    prof = profile(
        fields={
            "feature_id": {"column": "id", "normalise": ["identifier"]},
            "name": {"column": "name"},
            "feature_type": {"value": "poi"},
        }
    )
    summary = load(sqlite_db, prof, csv_file(tmp_path / "x.csv", ["1.10105E+17,甲,,,,,", "P2,乙,,,,,"]), tmp_path)
    assert (summary["inserted"], summary["rejected"]) == (1, 1)
    assert rejects(summary)[0]["code"] == "id.lossy_numeric"
    assert rejects(summary)[0]["errors"][0]["value"] == "1.10105E+17"


def test_full_width_characters_in_an_identifier_are_normalised_and_the_raw_value_kept(sqlite_db, tmp_path):
    summary = load(sqlite_db, profile(), csv_file(tmp_path / "fw.csv", ["p1,甲,,３２０５０８,,,"]), tmp_path)
    assert summary["inserted"] == 1
    with sqlite_db.read() as session:
        from sqlalchemy import select

        from mdm.models import SourceRecord

        source = session.execute(select(SourceRecord)).scalar_one()
    assert source.data["division_code"] == "320508" and source.raw["division"] == "３２０５０８"


def test_nbs_short_codes_are_padded_to_the_full_form(sqlite_db, tmp_path):
    load(sqlite_db, profile(), csv_file(tmp_path / "s.csv", ["p1,甲,,32,,,", "p2,乙,,3205,,,"]), tmp_path)
    assert get(sqlite_db, "p1").data["division_code"] == "320000"
    assert get(sqlite_db, "p2").data["division_code"] == "320500"


def test_a_nul_byte_is_removed_with_a_warning_and_the_batch_loads(db, tmp_path):
    rows = ["p1,苏州\x00博物馆,,320508,,,", "p2,拙政园,,320508,,,"]
    summary = load(db, profile(), csv_file(tmp_path / "nul.csv", rows), tmp_path)
    assert (summary["inserted"], summary["rejected"]) == (2, 0)
    assert summary["warning_codes"] == {"row.control_characters": 1}
    assert get(db, "p1").data["name"] == "苏州博物馆"


def test_an_impossible_calendar_date_is_rejected_by_the_format_checker(sqlite_db, tmp_path):
    summary = load(sqlite_db, profile(), csv_file(tmp_path / "d.csv", ["p1,甲,,,2023-02-29,,"]), tmp_path)
    assert [r["code"] for r in rejects(summary)] == ["date.invalid"]


def test_a_date_in_no_accepted_format_is_not_guessed(sqlite_db, tmp_path):
    summary = load(sqlite_db, profile(), csv_file(tmp_path / "d.csv", ["p1,甲,,,03/04/2020,,"]), tmp_path)
    assert [r["code"] for r in rejects(summary)] == ["date.unparseable"]


def test_csv_coordinates_without_a_declared_crs_are_rejected(sqlite_db, tmp_path):
    summary = load(sqlite_db, profile(crs=None), csv_file(tmp_path / "c.csv", ["p1,甲,,,,120.6,31.3"]), tmp_path)
    assert [r["code"] for r in rejects(summary)] == ["geo.crs_missing"]


def test_latitude_first_columns_are_swapped_when_declared(sqlite_db, tmp_path):
    load(sqlite_db, profile(axis_order="latlon"), csv_file(tmp_path / "c.csv", ["p1,甲,,,,31.3,120.6"]), tmp_path)
    assert get(sqlite_db, "p1").data["geometry"]["coordinates"] == [120.6, 31.3]


def geojson(tmp_path, geometry, crs=None):
    document = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": {"id": "g1", "name": "宗地"}, "geometry": geometry}],
    }
    if crs:
        document["crs"] = {"type": "name", "properties": {"name": crs}}
    path = tmp_path / "g.geojson"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def geo_profile(repair=False):
    return profile(
        "parcels",
        format="geojson",
        crs=None,
        source_key="id",
        geometry={"source": "feature", "field": "geometry", "repair": repair},
        fields={"feature_id": {"column": "id"}, "name": {"column": "name"}, "feature_type": {"value": "parcel"}},
    )


BOWTIE = {"type": "Polygon", "coordinates": [[[120, 31], [121, 32], [121, 31], [120, 32], [120, 31]]]}
UNCLOSED = {"type": "Polygon", "coordinates": [[[120, 31], [121, 31], [121, 32], [120, 32]]]}


def test_a_self_intersecting_polygon_is_rejected_with_the_reason(sqlite_db, tmp_path):
    summary = load(sqlite_db, geo_profile(), geojson(tmp_path, BOWTIE), tmp_path)
    [reject] = rejects(summary)
    assert reject["code"] == "geo.invalid_geometry" and "Self-intersection" in reject["errors"][0]["message"]


def test_an_unclosed_ring_is_rejected_with_the_reason(sqlite_db, tmp_path):
    summary = load(sqlite_db, geo_profile(repair=True), geojson(tmp_path, UNCLOSED), tmp_path)
    [reject] = rejects(summary)
    assert reject["code"] == "geo.invalid_geometry" and "unclosed ring" in reject["errors"][0]["message"]


def test_repair_makes_an_invalid_polygon_valid_with_a_warning_naming_it(sqlite_db, tmp_path):
    summary = load(sqlite_db, geo_profile(repair=True), geojson(tmp_path, BOWTIE), tmp_path)
    assert (summary["inserted"], summary["warning_codes"]) == (1, {"geo.repaired": 1})
    assert "宗地" in warnings(summary)[0]["message"]
    assert get(sqlite_db, "g1").data["geometry"]["type"] == "MultiPolygon"


def test_geojson_without_a_crs_is_rfc7946_longitude_latitude(sqlite_db, tmp_path):
    load(sqlite_db, geo_profile(), geojson(tmp_path, {"type": "Point", "coordinates": [120.6, 31.3]}), tmp_path)
    assert get(sqlite_db, "g1").data["geometry"]["coordinates"] == [120.6, 31.3]


def test_a_projected_crs_declared_in_the_file_is_transformed_to_cgcs2000(sqlite_db, tmp_path):
    # CGCS2000 / 3-degree Gauss-Kruger CM 120E (EPSG:4549): x = easting 500 km at the central meridian.
    path = geojson(tmp_path, {"type": "Point", "coordinates": [500000, 3430000]}, crs="urn:ogc:def:crs:EPSG::4549")
    load(sqlite_db, geo_profile(), path, tmp_path)
    lon, lat = get(sqlite_db, "g1").data["geometry"]["coordinates"]
    assert lon == pytest.approx(120.0, abs=1e-6) and lat == pytest.approx(30.99, abs=0.01)


def test_profiles_are_found_by_path_or_by_name_in_the_profile_path(tmp_path):
    path = write_profile(tmp_path / "mine", "my-poi")
    assert find_profile(str(path), []) == path
    assert find_profile("my-poi", [tmp_path / "nowhere", tmp_path / "mine"]) == path
    with pytest.raises(FileRejected) as caught:
        find_profile("nope", [tmp_path / "mine"])
    assert caught.value.code == "load.profile_unknown" and "my-poi" in caught.value.detail  # the names there are
    assert str(tmp_path) not in caught.value.detail  # never a directory of the server


def test_a_malformed_profile_is_refused_with_what_is_wrong(tmp_path):
    path = write_profile(tmp_path, "broken", mode="sometimes")
    with pytest.raises(FileRejected) as caught:
        load_profile(str(path), [])
    assert caught.value.code == "load.profile_invalid" and "mode" in caught.value.detail


def test_a_profile_mapping_a_field_the_standard_lacks_is_refused(sqlite_db, tmp_path):
    prof = profile(fields={"feature_id": {"column": "id"}, "population": {"column": "name"}})
    with pytest.raises(FileRejected) as caught:
        load(sqlite_db, prof, csv_file(tmp_path / "a.csv", ["p1,甲,,,,,"]), tmp_path)
    assert caught.value.code == "load.profile_invalid" and "population" in caught.value.detail


def test_the_shipped_example_profiles_all_parse(tmp_path):
    from loaders.profiles import available_profiles
    from mdm.settings import Settings

    dirs = Settings().profile_dirs
    names = available_profiles(dirs)
    assert {"nbs2023-provinces", "nbs2023-cities", "nbs2023-areas", "nbs2023-streets", "cn-provinces"} <= set(names)
    for name in names:
        load_profile(name, dirs)


def test_a_quantised_topojson_object_is_rebuilt_with_shared_and_reversed_arcs(sqlite_db, tmp_path):
    # Two unit squares sharing the edge x=1: arc 0 is the shared edge, used forwards by one and reversed by the
    # other; the topology is quantised (delta-encoded) with scale 0.5 and translate (120, 31).
    topology = {
        "type": "Topology",
        "transform": {"scale": [0.5, 0.5], "translate": [120, 31]},
        "arcs": [[[2, 0], [0, 2]], [[2, 2], [-2, 0], [0, -2], [2, 0]], [[2, 0], [2, 0], [0, 2], [-2, 0]]],
        "objects": {
            "parcels": {
                "type": "GeometryCollection",
                "geometries": [
                    {"type": "Polygon", "arcs": [[0, 1]], "properties": {"id": "west", "name": "西块"}},
                    {"type": "Polygon", "arcs": [[2, -1]], "properties": {"id": "east", "name": "东块"}},
                ],
            }
        },
    }
    path = tmp_path / "parcels.topojson"
    path.write_text(json.dumps(topology), encoding="utf-8")
    prof = profile(
        "parcels-topo",
        format="topojson",
        sheet="parcels",
        crs=None,
        source_key="id",
        geometry={"source": "feature", "field": "geometry"},
        fields={"feature_id": {"column": "id"}, "name": {"column": "name"}, "feature_type": {"value": "parcel"}},
    )
    summary = load(sqlite_db, prof, path, tmp_path)
    assert (summary["inserted"], summary["rejected"]) == (2, 0)
    assert get(sqlite_db, "west").data["geometry"]["coordinates"] == [
        [[121.0, 31.0], [121.0, 32.0], [120.0, 32.0], [120.0, 31.0], [121.0, 31.0]]
    ]
    with sqlite_db.read() as session:
        found, _ = records.list_records(session, GEO_STANDARD, records.ListQuery(filters={}, contains=(121.5, 31.5)))
    assert [r.key for r in found] == ["east"]
