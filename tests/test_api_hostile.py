"""Hostile input against the HTTP API, on each backend.

Every error must be an RFC 9457 problem+json document whose ``code`` is published in docs/codes.md, with a
sensible status: never a 500, never a stack trace, never a hang. Some tests reproduce defects and fail until
they are fixed; the others pin behaviour that already holds. Most run on both backends through ``api``.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import threading
import zipfile
from collections import Counter

import httpx
import openpyxl
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from stdnum.cn import ric

from api.app import create_app
from mdm.db import Database
from mdm.settings import Settings
from standards import default_registry
from standards.codes import CODES
from tests.helpers import LOADER_DEPARTMENT, write_profile
from tests.served import SERVED, another_client
from tests.test_api import api, assert_problem, auth  # noqa: F401  (api is a fixture)

RECORDS = "/repositories/geo_feature/records"
LOADS = "/repositories/geo_feature/loads"
POI_HEADER = "id,name,level,division,since,lon,lat"
POI_PROPERTIES = {"id": "g1", "name": "测试", "level": None, "division": "320505", "since": "2020-01-01"}


# -- helpers ---------------------------------------------------------------------------------------------------


def assert_not_a_server_error(response, *, allowed: tuple[int, ...] | None = None) -> None:
    """Below 500; an error is a problem+json document with a published code and no trace."""
    assert response.status_code < 500, response.text
    if allowed is not None:
        assert response.status_code in allowed, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json"), response.text
        body = response.json()
        assert body["code"] in CODES and body["status"] == response.status_code
        assert "Traceback" not in response.text


def upload(client, key, name, body, *, profile="test-poi", content_type="text/csv", **extra):
    return client.post(
        LOADS, headers=auth(key), data={"profile": profile, **extra}, files={"file": (name, body, content_type)}
    )


def geo_count(client, key) -> int:
    items = client.get("/repositories", headers=auth(key)).json()["items"]
    return next(item["count"] for item in items if item["id"] == "geo_feature")


def cursor_for(key: str, fingerprint: str) -> str:
    raw = json.dumps({"k": key, "q": fingerprint}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def fingerprint_of(cursor: str) -> str:
    return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))["q"]


@pytest.fixture
def geo_api(api):  # noqa: F811
    """The ``api`` fixture plus a GeoJSON profile, ``test-geo``, with the POI fields as feature properties."""
    client, keys, tmp_path = api
    write_profile(
        tmp_path / "profiles",
        "test-geo",
        format="geojson",
        geometry={"source": "feature"},
        source_system={"id": "test-geo", "name": "test GeoJSON source", "department": LOADER_DEPARTMENT},
    )
    return client, keys, tmp_path


def feature_collection(*features, **members) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features), **members}).encode()


def feature(geometry, **properties) -> dict:
    return {"type": "Feature", "properties": {**POI_PROPERTIES, **properties}, "geometry": geometry}


GOOD_POINT = {"type": "Point", "coordinates": [120.6, 31.3]}


# -- as_of -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("as_of", "allowed"),
    [("0001-01-01T00:00:00+08:00", (400, 404)), ("9999-12-31T23:59:59-14:00", (200, 400))],
    ids=["year-1-east-of-utc", "year-9999-west-of-utc"],
)
def test_an_as_of_at_the_edge_of_the_calendar_is_not_a_server_error(api, as_of, allowed):  # noqa: F811
    client, keys, _ = api
    response = client.get(f"{RECORDS}/p1", params={"as_of": as_of}, headers=auth(keys["reader"]))
    assert_not_a_server_error(response, allowed=allowed)


@pytest.mark.parametrize("as_of", ["1700000000", "253402300799"], ids=["unix-seconds", "read-as-milliseconds"])
def test_an_as_of_that_is_not_an_iso_8601_date_time_is_refused(api, as_of):  # noqa: F811
    client, keys, _ = api
    response = client.get(f"{RECORDS}/p1", params={"as_of": as_of}, headers=auth(keys["reader"]))
    assert_problem(response, 400, "request.invalid")


@pytest.mark.parametrize(
    "as_of", ["garbage", "", "2024-13-01T00:00:00Z", "2024-01-01T00:00:00+25:00", "99999-01-01T00:00:00Z", "now"]
)
def test_a_malformed_as_of_is_a_400_problem(api, as_of):  # noqa: F811
    client, keys, _ = api
    response = client.get(f"{RECORDS}/p1", params={"as_of": as_of}, headers=auth(keys["reader"]))
    assert_problem(response, 400, "request.invalid")


# -- NUL and unpaired surrogates reaching the database -----------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "allowed"),
    [
        (f"{RECORDS}/%00", {}, (400, 404)),
        (f"{RECORDS}/p1%00", {}, (400, 404)),
        (f"{RECORDS}/a%00b/history", {}, (400, 404)),
        (RECORDS, {"name": "\x00"}, (200, 400)),
        (RECORDS, {"division_code": "320508\x00"}, (200, 400)),
        ("/loads/%00", {}, (400, 404)),
    ],
    ids=["key", "key-suffix", "history-key", "filter", "filter-suffix", "batch-id"],
)
def test_a_nul_character_in_a_key_filter_or_batch_id_is_not_a_server_error(api, path, params, allowed):  # noqa: F811
    client, keys, _ = api
    response = client.get(path, params=params, headers=auth(keys["loader"]))
    assert_not_a_server_error(response, allowed=allowed)


@pytest.mark.parametrize("key", ["\x00", "p1\x00", "\ud800"], ids=["nul", "nul-suffix", "lone-surrogate"])
def test_a_forged_cursor_with_an_unstorable_key_is_not_a_server_error(api, key):  # noqa: F811
    client, keys, _ = api
    first = client.get(RECORDS, params={"limit": 1}, headers=auth(keys["reader"])).json()["next_cursor"]
    forged = cursor_for(key, fingerprint_of(first))
    response = client.get(RECORDS, params={"limit": 1, "cursor": forged}, headers=auth(keys["reader"]))
    assert_not_a_server_error(response, allowed=(200, 400))


def test_a_cursor_from_another_repository_is_refused(api):  # noqa: F811
    client, keys, _ = api
    others = [r for r in default_registry().repositories if r != "geo_feature"]
    if not others:
        pytest.skip("only one repository is registered")
    first = client.get(RECORDS, params={"limit": 1}, headers=auth(keys["reader"])).json()["next_cursor"]
    response = client.get(
        f"/repositories/{others[0]}/records", params={"limit": 1, "cursor": first}, headers=auth(keys["reader"])
    )
    assert_problem(response, 400, "request.cursor_invalid")


PERSON_IDS = sorted(body + ric.calc_check_digit(body + "0") for body in ("99010219800101001", "99010219800101002"))


@pytest.fixture
def person_api(api):  # noqa: F811
    """The ``api`` fixture plus two synthetic persons (address code 990102 is no real county).

    SQLite only: the cursor is encoded the same way on both backends, and on PostgreSQL a load waits on the
    repository's advisory lock, which is database-wide, so any other natural_person load in the test database
    (another schema, a benchmark) would stall this test.
    """
    client, keys, tmp_path = api
    if client.app.state.db.dialect != "sqlite":
        pytest.skip("backend-independent; see the docstring")
    write_profile(
        tmp_path / "profiles",
        "test-person",
        repository="natural_person",
        source_system={"id": "test-household", "name": "test household registry", "department": LOADER_DEPARTMENT},
        geometry=None,
        crs=None,
        fields={
            "citizen_id": {"column": "id", "normalise": ["resident_id"]},
            "name": {"column": "name", "normalise": ["text"]},
        },
    )
    body = "id,name\n" + "".join(f"{pid},张{n}\n" for n, pid in enumerate(PERSON_IDS))
    response = client.post(
        "/repositories/natural_person/loads",
        headers=auth(keys["loader"]),
        data={"profile": "test-person"},
        files={"file": ("persons.csv", body.encode(), "text/csv")},
    )
    assert response.status_code == 201 and response.json()["inserted"] == 2, response.text
    return client, keys, tmp_path


def test_a_readers_cursor_does_not_reveal_a_masked_business_key(person_api):
    """citizen_id is sensitive and masked for a reader; the next_cursor must not carry it in clear."""
    client, keys, _ = person_api
    page = client.get("/repositories/natural_person/records", params={"limit": 1}, headers=auth(keys["reader"]))
    body = page.json()
    assert body["items"][0]["masked"] and body["items"][0]["key"] != PERSON_IDS[0]
    assert PERSON_IDS[0] not in page.text
    cursor = body["next_cursor"]
    decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8", "replace")
    assert PERSON_IDS[0] not in decoded and PERSON_IDS[0] not in cursor, decoded
    second = client.get(
        "/repositories/natural_person/records", params={"limit": 1, "cursor": cursor}, headers=auth(keys["reader"])
    ).json()
    # the next record, not the same again (masked keys all read alike now: compare the records)
    assert len(second["items"]) == 1 and second["items"][0]["data"] != body["items"][0]["data"]


# -- search and lookup ------------------------------------------------------------------------------------------

SEARCH = "/repositories/geo_feature/search"
LOOKUP = "/repositories/geo_feature/lookup"


@pytest.mark.parametrize(
    "params",
    [{"q": "a\x00b"}, {"q": "\x00"}, {"q": "苏州", "name": "\x00"}],
    ids=["nul-inside", "nul-only", "nul-filter"],
)
def test_a_nul_character_in_a_search_is_not_a_server_error(api, params):  # noqa: F811
    client, keys, _ = api
    response = client.get(SEARCH, params=params, headers=auth(keys["reader"]))
    assert_not_a_server_error(response, allowed=(200, 400))


def test_a_nul_character_in_a_lookup_key_is_not_a_server_error(api):  # noqa: F811
    client, keys, _ = api
    response = client.post(LOOKUP, json={"keys": ["p1", "\x00", "p2\x00"]}, headers=auth(keys["reader"]))
    assert_not_a_server_error(response, allowed=(200, 400))
    if response.status_code == 200:
        assert [r["key"] for r in response.json()["items"]] == ["p1"]


@pytest.mark.parametrize(
    "q", ["%", "_", "' OR 1=1 --", '"*', "NEAR(a b)", "a OR b AND NOT c", 'fuzzy"unbalanced', "a" * 100]
)
def test_query_syntax_in_search_text_is_taken_literally(api, q):  # noqa: F811
    client, keys, _ = api
    response = client.get(SEARCH, params={"q": q, "mode": "exact"}, headers=auth(keys["reader"]))
    assert response.status_code == 200 and response.json()["items"] == [], response.text[:300]
    fuzzy = client.get(SEARCH, params={"q": q, "mode": "fuzzy"}, headers=auth(keys["reader"]))
    assert fuzzy.status_code == 200, fuzzy.text[:300]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"q": ""}, "request.invalid"),
        ({"q": "苏州", "mode": "bogus"}, "request.invalid"),
        ({"near": "nan,nan,1"}, "request.invalid"),
        ({"near": "120.6,31.3,-5"}, "request.invalid"),
        ({"near": "120.6,31.3"}, "request.invalid"),
        ({"bbox": "nan,0,1,1"}, "request.invalid"),
        ({"limit": "0"}, "request.invalid"),
        ({"q": "苏州", "cursor": "abc"}, "request.cursor_invalid"),
        ({"q": "苏州", "bogus": "x"}, "request.filter_unknown"),
    ],
)
def test_bad_search_parameters_are_400_problems(api, params, code):  # noqa: F811
    client, keys, _ = api
    assert_problem(client.get(SEARCH, params=params, headers=auth(keys["reader"])), 400, code)


@pytest.mark.parametrize(
    "body",
    [{"keys": []}, {"keys": [1, 2]}, {"keys": None}, {"keys": "p1"}, {}, [], {"keys": [str(n) for n in range(1001)]}],
    ids=["empty", "numbers", "null", "string", "no-keys", "array", "too-many"],
)
def test_a_malformed_lookup_is_a_400_problem(api, body):  # noqa: F811
    client, keys, _ = api
    assert_problem(client.post(LOOKUP, json=body, headers=auth(keys["reader"])), 400, "request.invalid")
    raw = client.post(LOOKUP, content=b"[" * 5000, headers={**auth(keys["reader"]), "Content-Type": "application/json"})
    assert_problem(raw, 400, "request.invalid")


# -- spatial filters ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"contains": "nan,nan"},
        {"contains": "inf,31"},
        {"contains": "120.6,-inf"},
        {"contains": "1e400,31"},
        {"bbox": "nan,nan,nan,nan"},
        {"bbox": "120,31,121,nan"},
        {"bbox": "-inf,-inf,inf,inf"},
    ],
    ids=lambda p: next(iter(p.values())),
)
def test_non_finite_coordinates_are_refused(api, params):  # noqa: F811
    """NaN compares false with everything (it slips past the min <= max check) and ±inf answers differently on
    SQLite (every feature) and PostGIS (none); both must be 400, as 'a,b' already is."""
    client, keys, _ = api
    response = client.get(RECORDS, params=params, headers=auth(keys["reader"]))
    assert_problem(response, 400, "request.invalid")


@pytest.mark.parametrize(
    "params",
    [{"contains": "120.6"}, {"contains": "1,2,3"}, {"contains": ","}, {"contains": "0x1p3,1"}, {"bbox": "1,2,3"}],
)
def test_malformed_coordinates_are_400_problems(api, params):  # noqa: F811
    client, keys, _ = api
    assert_problem(client.get(RECORDS, params=params, headers=auth(keys["reader"])), 400, "request.invalid")


# -- query parameters --------------------------------------------------------------------------------------------


def test_a_repeated_filter_is_refused_rather_than_silently_reduced_to_its_last_value(api):  # noqa: F811
    client, keys, _ = api
    response = client.get(f"{RECORDS}?division_code=320508&division_code=320505", headers=auth(keys["reader"]))
    assert_problem(response, 400, "request.parameter_repeated")  # the one refusal of every repeated parameter


@pytest.mark.parametrize(
    "value",
    ["' OR '1'='1", "320508' OR 1=1 --", "320508'; DROP TABLE golden_records; --", "%", "_", "\\", '"', "*"],
)
def test_sql_looking_filter_values_match_nothing_and_change_nothing(api, value):  # noqa: F811
    client, keys, _ = api
    response = client.get(RECORDS, params={"division_code": value}, headers=auth(keys["reader"]))
    assert response.status_code == 200 and response.json()["items"] == []
    assert geo_count(client, keys["reader"]) == 3


@pytest.mark.parametrize(
    "name", ["name') OR 1=1 --", "data", "geometry", "__class__", "", "Level", "level[]", "name\x00", "区划"]
)
def test_unknown_or_hostile_filter_names_are_400_filter_unknown(api, name):  # noqa: F811
    client, keys, _ = api
    response = client.get(RECORDS, params={name: "x"}, headers=auth(keys["reader"]))
    # a NUL is refused before any filter is looked at
    assert_problem(response, 400, "request.invalid" if "\x00" in name else "request.filter_unknown")


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "abc"},
        {"limit": "1.5"},
        {"limit": ""},
        {"limit": "-1"},
        {"limit": "99999999999999999999999"},
        {"include_retired": "maybe"},
    ],
)
def test_odd_list_parameters_are_400_problems(api, params):  # noqa: F811
    client, keys, _ = api
    assert_problem(client.get(RECORDS, params=params, headers=auth(keys["reader"])), 400, "request.invalid")


@pytest.mark.parametrize("cursor", ["a", "====", "éé", "bnVsbA", "W10", "ImFiYyI", "eyJrIjoxLCJxIjoiIn0", "x" * 1000])
def test_malformed_cursors_are_400_cursor_invalid(api, cursor):  # noqa: F811
    client, keys, _ = api
    response = client.get(RECORDS, params={"cursor": cursor}, headers=auth(keys["reader"]))
    assert_problem(response, 400, "request.cursor_invalid")


@pytest.mark.parametrize(
    "key", ["%2e%2e", "..%5C..%5Cetc", "%E2%80%AE", "%FF%FE", "%ED%A0%80", "p1%20", "9" * 4000, "p1;DROP"]
)
def test_hostile_record_keys_are_404_record_not_found(api, key):  # noqa: F811
    client, keys, _ = api
    for suffix in ("", "/history"):
        response = client.get(f"{RECORDS}/{key}{suffix}", headers=auth(keys["reader"]))
        assert_problem(response, 404, "record.not_found")


@pytest.mark.parametrize("path", [f"{RECORDS}/..%2F..%2Fetc%2Fpasswd", f"{RECORDS}/a%2Fb", "/loads/..%2F.."])
def test_encoded_slashes_in_keys_do_not_reach_another_route(api, path):  # noqa: F811
    client, keys, _ = api
    assert_problem(client.get(path, headers=auth(keys["loader"])), 404, "request.not_found")


# -- authentication ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("Bearer", "auth.missing_key"),
        ("Basic dXNlcjpwYXNz", "auth.missing_key"),
        ("Token {key}", "auth.missing_key"),
        ("{key}", "auth.missing_key"),
        ("Bearer\t{key}", "auth.missing_key"),
        ("Bearer {key}x", "auth.invalid_key"),
        ("Bearer {prefix}", "auth.invalid_key"),
        ("Bearer " + "x" * 20_000, "auth.invalid_key"),
        ("Bearer {key},Bearer {key}", "auth.invalid_key"),
    ],
)
def test_wrong_authorization_shapes_are_401_problems_with_a_challenge(api, header, code):  # noqa: F811
    client, keys, _ = api
    value = header.format(key=keys["reader"], prefix=keys["reader"][:12])
    response = client.get("/repositories", headers={"Authorization": value})
    assert_problem(response, 401, code)
    assert response.headers["www-authenticate"] == "Bearer"
    if code == "auth.missing_key":  # a key sent without the Bearer scheme is told how to send it
        assert "Bearer <key>" in response.json()["detail"]


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "Bearer "])
def test_the_bearer_scheme_is_case_insensitive(api, scheme):  # noqa: F811
    client, keys, _ = api
    response = client.get("/repositories", headers={"Authorization": f"{scheme} {keys['reader']}"})
    assert response.status_code == 200


def test_authentication_comes_before_repository_lookup(api):  # noqa: F811
    client, _, _ = api
    assert_problem(client.get("/repositories/people/records"), 401, "auth.missing_key")
    assert_problem(client.post("/repositories/people/loads"), 401, "auth.missing_key")


# -- methods -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", "/repositories", "GET"),
        ("DELETE", f"{RECORDS}/p1", "GET"),
        ("PUT", RECORDS, "GET"),
        ("GET", LOADS, "POST"),
        ("PATCH", "/loads/x", "GET"),
        ("POST", "/health", "GET"),
    ],
)
def test_a_wrong_method_is_a_405_problem_naming_the_allowed_methods(api, method, path, allow):  # noqa: F811
    """RFC 9110 §15.5.6: a 405 response MUST carry an Allow header."""
    client, keys, _ = api
    response = client.request(method, path, headers=auth(keys["admin"]))
    assert_problem(response, 405, "request.method_not_allowed")
    assert allow in response.headers.get("allow", ""), dict(response.headers)


@pytest.mark.parametrize("path", ["/health", "/repositories", f"{RECORDS}/p1"])
def test_head_is_answered_wherever_get_is(api, path):  # noqa: F811
    """RFC 9110 §9.1: general-purpose servers MUST support HEAD."""
    client, keys, _ = api
    response = client.head(path, headers=auth(keys["reader"]))
    assert response.status_code == 200 and response.content == b""


# -- uploads: profile and file names -----------------------------------------------------------------------------

ONE_ROW = f"{POI_HEADER}\np9,虎丘,,320505,2020-01-01,120.58,31.33\n".encode()


@pytest.mark.parametrize("name", ["..", "/", ".", "a" * 300 + ".csv", "../../../../tmp/x.csv", "a\x00b.csv"])
def test_a_hostile_upload_file_name_is_not_a_server_error(api, name):  # noqa: F811
    client, keys, tmp_path = api
    response = upload(client, keys["loader"], name, ONE_ROW)
    assert_not_a_server_error(response, allowed=(201, 400))
    assert not (tmp_path.parent / "x.csv").exists()


@pytest.mark.parametrize("name", ["a" * 5000, "é" * 200])
def test_an_overlong_profile_name_is_a_400_problem(api, name):  # noqa: F811
    client, keys, _ = api
    response = upload(client, keys["loader"], "a.csv", ONE_ROW, profile=name)
    assert_not_a_server_error(response, allowed=(400,))


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("..", "request.invalid"),
        ("../etc/passwd", "request.invalid"),
        ("/etc/passwd", "request.invalid"),
        ("..\\x", "request.invalid"),
        (".hidden", "request.invalid"),
        ("test-poi.yaml", "load.profile_unknown"),
        ("test-poi\x00", "request.invalid"),
        ("~root", "request.invalid"),
    ],
)
def test_a_profile_must_be_a_plain_name(api, name, code):  # noqa: F811
    client, keys, _ = api
    assert_problem(upload(client, keys["loader"], "a.csv", ONE_ROW, profile=name), 400, code)


def test_a_profile_for_another_repository_is_refused(api):  # noqa: F811
    client, keys, tmp_path = api
    write_profile(tmp_path / "profiles", "people-feed", repository="person")
    response = upload(client, keys["loader"], "a.csv", ONE_ROW, profile="people-feed")
    assert_problem(response, 400, "request.invalid")
    assert_problem(
        client.post(
            "/repositories/person/loads",
            headers=auth(keys["loader"]),
            data={"profile": "people-feed"},
            files={"file": ("a.csv", ONE_ROW, "text/csv")},
        ),
        404,
        "repository.unknown",
    )


# -- uploads: multipart shape ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"json": {"profile": "test-poi"}},
        {"data": {"profile": "test-poi"}},
        {"files": {"file": ("a.csv", ONE_ROW, "text/csv")}},
        {"data": {"profile": "test-poi", "file": "not a file"}},
        {"data": {"profile": ""}, "files": {"file": ("a.csv", ONE_ROW, "text/csv")}},
        {"data": {"profile": "test-poi", "force": "maybe"}, "files": {"file": ("a.csv", ONE_ROW, "text/csv")}},
        {"content": b"garbage", "headers": {"Content-Type": "multipart/form-data"}},
        {"content": b"garbage", "headers": {"Content-Type": "multipart/form-data; boundary=xyz"}},
    ],
    ids=[
        "nothing",
        "json",
        "no-file",
        "no-profile",
        "file-as-text",
        "empty-profile",
        "bad-force",
        "no-boundary",
        "bad-multipart",
    ],
)
def test_a_malformed_load_request_is_a_400_problem(api, kwargs):  # noqa: F811
    client, keys, _ = api
    headers = {**auth(keys["loader"]), **kwargs.pop("headers", {})}
    assert_problem(client.post(LOADS, headers=headers, **kwargs), 400, "request.invalid")


def test_two_file_parts_are_refused_rather_than_loading_only_the_last(api):  # noqa: F811
    client, keys, _ = api
    second = f"{POI_HEADER}\np8,留园,,320508,2020-01-01,120.59,31.32\n".encode()
    response = client.post(
        LOADS,
        headers=auth(keys["loader"]),
        data={"profile": "test-poi"},
        files=[("file", ("a.csv", ONE_ROW, "text/csv")), ("file", ("b.csv", second, "text/csv"))],
    )
    assert_problem(response, 400, "request.invalid")


# -- uploads: file contents --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"", "file.empty"),
        (b"\n\n\n", "file.empty"),
        (f"{POI_HEADER}\n".encode(), "file.empty"),
        (bytes(range(256)) * 4, "file.encoding_unknown"),
        (f"{POI_HEADER}\np9,x,,320505,,120.5,31.3\n".encode("utf-16"), "file.encoding_unknown"),
        (b"id,name\np9,x\n", "file.missing_columns"),
        (b"\x00" * 100, "file.missing_columns"),
    ],
    ids=["empty", "blank-lines", "header-only", "binary", "utf-16", "missing-columns", "nuls"],
)
def test_a_file_rejected_whole_is_a_422_problem(api, body, code):  # noqa: F811
    client, keys, _ = api
    response = upload(client, keys["loader"], "a.csv", body)
    problem = assert_problem(response, 422, code)
    assert problem["load"]["status"] == "rejected"


def test_rows_with_the_wrong_number_of_cells_are_rejected_one_by_one(api):  # noqa: F811
    client, keys, _ = api
    body = f"{POI_HEADER}\np7,短\np8,长,,320505,2020-01-01,120.5,31.3,extra,extra\np9,好,,320505,,120.58,31.33\n"
    response = upload(client, keys["loader"], "a.csv", body.encode())
    assert response.status_code == 201, response.text
    summary = response.json()
    assert (summary["read"], summary["inserted"], summary["rejected"]) == (3, 1, 2)
    assert summary["reject_codes"] == {"row.bad_value": 2}


@pytest.mark.in_process("lowers csv.field_size_limit in the test's own process")
def test_a_header_longer_than_the_field_limit_is_422_unreadable(api):  # noqa: F811
    """The reader's header line is parsed outside its csv.Error handler; the limit is lowered here to reproduce
    what a 64 MiB single-line upload does on the real server."""
    client, keys, _ = api
    previous = csv.field_size_limit(1000)
    try:
        response = upload(client, keys["loader"], "a.csv", b"id,name," + b"y" * 5000)
    finally:
        csv.field_size_limit(previous)
    assert_problem(response, 422, "file.unreadable")


def test_an_upload_one_byte_over_the_limit_is_413_and_at_the_limit_is_accepted(api):  # noqa: F811
    client, keys, _ = api
    limit = client.app.state.settings.max_upload_bytes
    row = b"p9,x,,320505,2020-01-01,120.58,31.33\n"
    base = f"{POI_HEADER}\n".encode() + row
    padded = base + b" " * (limit - len(base))
    assert upload(client, keys["loader"], "a.csv", padded).status_code == 201
    assert_problem(upload(client, keys["loader"], "a.csv", padded + b" "), 413, "file.too_large")


# -- uploads: hostile GeoJSON ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"[" * 5000, b'{"a":' * 1500, b"hello", b"[]", json.dumps({"type": "FeatureCollection"}).encode()],
    ids=["deep-array", "deep-object", "not-json", "array", "no-features"],
)
def test_a_geojson_file_that_is_not_a_feature_collection_is_422_unreadable(geo_api, body):
    client, keys, _ = geo_api
    response = upload(client, keys["loader"], "a.geojson", body, profile="test-geo")
    assert_problem(response, 422, "file.unreadable")


@pytest.mark.parametrize("bad", ["a string", [1, 2], 7], ids=["string", "list", "number"])
def test_a_feature_that_is_not_an_object_is_a_rejected_row(geo_api, bad):
    client, keys, _ = geo_api
    body = feature_collection(feature(GOOD_POINT), bad)
    response = upload(client, keys["loader"], "a.geojson", body, profile="test-geo")
    assert response.status_code == 201, response.text
    assert (response.json()["inserted"], response.json()["reject_codes"]) == (1, {"row.bad_value": 1})


@pytest.mark.parametrize("crs", ["EPSG:4490", {"properties": "EPSG:4490"}, {"properties": ["x"]}, 42])
def test_a_malformed_crs_member_is_not_a_server_error(geo_api, crs):
    client, keys, _ = geo_api
    body = feature_collection(feature(GOOD_POINT), crs=crs)
    response = upload(client, keys["loader"], "a.geojson", body, profile="test-geo")
    assert_not_a_server_error(response, allowed=(201, 422))


@pytest.mark.parametrize(
    ("geometry", "code"),
    [
        ({"type": "LineString", "coordinates": [[120.6, 31.3]]}, "geo.invalid_geometry"),
        ({"type": "MultiLineString", "coordinates": [[[120.6, 31.3]]]}, "geo.invalid_geometry"),
        ({"type": "Point", "coordinates": [True, False]}, "geo.bad_coordinates"),
        ({"type": "Point", "coordinates": []}, "geo.bad_coordinates"),
        ({"type": "Polygon", "coordinates": [[[1, 1], [1, 1], [1, 1], [1, 1]]]}, "geo.invalid_geometry"),
        ({"type": "GeometryCollection", "geometries": []}, "geo.invalid_geometry"),
        ("POINT(120 31)", "geo.invalid_geometry"),
    ],
    ids=[
        "line-one-position",
        "multiline-one-position",
        "booleans",
        "empty-point",
        "degenerate-ring",
        "collection",
        "wkt-string",
    ],
)
def test_a_bad_geometry_is_a_rejected_row_with_a_geo_code(geo_api, geometry, code):
    client, keys, _ = geo_api
    body = feature_collection(feature(GOOD_POINT), feature(geometry, id="g2"))
    response = upload(client, keys["loader"], "a.geojson", body, profile="test-geo")
    assert response.status_code == 201, response.text
    summary = response.json()
    assert (summary["inserted"], summary["reject_codes"]) == (1, {code: 1}), summary


def test_an_integer_beyond_the_parsers_range_rejects_the_file_whole(geo_api):
    # the streaming parser (yajl) refuses integers beyond 64 bits: 422, nothing loaded, never a 500
    client, keys, _ = geo_api
    body = feature_collection(feature(GOOD_POINT), feature({"type": "Point", "coordinates": [10**400, 31]}, id="g2"))
    response = upload(client, keys["loader"], "a.geojson", body, profile="test-geo")
    assert_problem(response, 422, "file.unreadable")


def test_nan_in_geojson_is_not_json_and_the_file_is_rejected_whole(geo_api):
    # NaN and Infinity are not JSON (RFC 8259 §6); the streaming parser refuses the file, loading nothing.
    client, keys, _ = geo_api
    bad = json.dumps(feature({"type": "Point", "coordinates": [0, 0]}, id="g2")).replace("[0, 0]", "[NaN, Infinity]")
    body = b'{"type":"FeatureCollection","features":[' + json.dumps(feature(GOOD_POINT)).encode() + b"," + bad.encode()
    response = upload(client, keys["loader"], "a.geojson", body + b"]}", profile="test-geo")
    assert_problem(response, 422, "file.unreadable")


@pytest.mark.parametrize("field", ["name", "id"])
def test_an_unpaired_surrogate_escape_in_a_property_is_not_a_server_error(geo_api, field):
    client, keys, _ = geo_api
    text = json.dumps(feature(GOOD_POINT, id="g2", name="x")).replace(f'"{field}": "', f'"{field}": "\\ud800', 1)
    body = b'{"type":"FeatureCollection","features":[' + text.encode() + b"]}"
    response = upload(client, keys["loader"], "a.geojson", body, profile="test-geo")
    assert_not_a_server_error(response, allowed=(201, 422))


# -- uploads: hostile JSON Lines and XLSX ----------------------------------------------------------------------


@pytest.fixture
def formats_api(api):  # noqa: F811
    """The ``api`` fixture plus ``test-jsonl`` and ``test-xlsx`` profiles (the POI columns, other formats)."""
    client, keys, tmp_path = api
    write_profile(tmp_path / "profiles", "test-jsonl", format="jsonl")
    write_profile(tmp_path / "profiles", "test-xlsx", format="xlsx")
    return client, keys, tmp_path


GOOD_LINE = {"id": "j1", "name": "好", "division": "320505", "since": "2020-01-01", "lon": "120.58", "lat": "31.33"}


@pytest.mark.parametrize(
    "bad_line",
    [b"[" * 5000, b'{"a":' * 1500, b'{"id": "j2", "name": "\\ud800", "lon": "120.5", "lat": "31.3"}'],
    ids=["deep-array", "deep-object", "lone-surrogate"],
)
def test_a_hostile_json_line_is_not_a_server_error(formats_api, bad_line):
    client, keys, _ = formats_api
    body = json.dumps(GOOD_LINE).encode() + b"\n" + bad_line + b"\n"
    response = upload(client, keys["loader"], "a.jsonl", body, profile="test-jsonl")
    assert_not_a_server_error(response, allowed=(201, 422))


def xlsx_bytes(sheet_xml=None) -> bytes:
    """A one-row POI workbook; ``sheet_xml`` rewrites the sheet's XML."""
    book = openpyxl.Workbook()
    book.active.append(POI_HEADER.split(","))
    book.active.append(["x1", "好", None, "320505", "2020-01-01", "120.58", "31.33"])
    plain = io.BytesIO()
    book.save(plain)
    if sheet_xml is None:
        return plain.getvalue()
    out = io.BytesIO()
    with zipfile.ZipFile(plain) as zin, zipfile.ZipFile(out, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            zout.writestr(item, sheet_xml(data) if item.filename == "xl/worksheets/sheet1.xml" else data)
    return out.getvalue()


_ENTITIES = '<!ENTITY e0 "lol">' + "".join(f'<!ENTITY e{i} "{f"&e{i - 1};" * 10}">' for i in range(1, 10))


@pytest.mark.parametrize(
    "sheet_xml",
    [
        lambda xml: xml[: len(xml) // 2],
        lambda xml: xml.replace(b"<sheetData>", b'<sheetData><row r="9"><c r="A9"><v>&nope;</v></c></row>'),
        lambda xml: (
            f'<?xml version="1.0"?><!DOCTYPE worksheet [{_ENTITIES}]>'.encode()
            + xml.replace(b"<t>x1</t>", b"<t>&e9;</t>")
        ),
    ],
    ids=["truncated-sheet", "undefined-entity", "billion-laughs"],
)
def test_an_xlsx_with_a_broken_sheet_is_422_unreadable(formats_api, sheet_xml):
    client, keys, _ = formats_api
    body = xlsx_bytes(sheet_xml)
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response = upload(client, keys["loader"], "a.xlsx", body, profile="test-xlsx", content_type=xlsx)
    assert_problem(response, 422, "file.unreadable")


def test_a_well_formed_xlsx_loads_and_a_non_zip_is_422_unreadable(formats_api):
    client, keys, _ = formats_api
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response = upload(client, keys["loader"], "a.xlsx", xlsx_bytes(), profile="test-xlsx", content_type=xlsx)
    assert response.status_code == 201 and response.json()["inserted"] == 1, response.text
    response = upload(client, keys["loader"], "a.xlsx", b"PK\x03\x04 not a zip", profile="test-xlsx")
    assert_problem(response, 422, "file.unreadable")


# -- database trouble --------------------------------------------------------------------------------------------


@pytest.mark.in_process("builds its own app on an unreachable database")
def test_a_database_that_goes_away_after_start_is_503_database_unavailable():
    """``migrate=False`` stands for a database that was migrated at start and is unreachable now."""
    db = Database("postgresql+psycopg2://mdm:mdm@127.0.0.1:1/mdm", migrate=False)
    client = TestClient(create_app(Settings(database_url="sqlite://"), db=db), raise_server_exceptions=False)
    try:
        assert_problem(client.get("/repositories", headers=auth("mdm_x")), 503, "database.unavailable")
    finally:
        db.dispose()


@pytest.mark.in_process("builds its own app on a database refusing its credentials")
def test_a_database_that_refuses_the_credentials_is_503_database_unavailable(pg_url):
    url = sa.engine.make_url(pg_url).set(password="not-the-password").render_as_string(hide_password=False)
    db = Database(url)
    client = TestClient(create_app(Settings(database_url="sqlite://"), db=db), raise_server_exceptions=False)
    try:
        assert_problem(client.get("/repositories", headers=auth("mdm_x")), 503, "database.unavailable")
    finally:
        db.dispose()


@pytest.mark.in_process("builds its own app on an unreachable database")
def test_the_unauthenticated_health_check_does_not_reveal_connection_details():
    db = Database("postgresql+psycopg2://secret_user:secret_pw@127.0.0.1:1/secret_db")
    client = TestClient(create_app(Settings(database_url="sqlite://"), db=db), raise_server_exceptions=False)
    try:
        response = client.get("/health")
        assert response.status_code == 503 and response.json()["status"] == "degraded"
        leaked = [s for s in ("secret_user", "secret_pw", "secret_db", "127.0.0.1", "psycopg2") if s in response.text]
        assert not leaked, response.text
    finally:
        db.dispose()


# -- concurrency -------------------------------------------------------------------------------------------------


def test_concurrent_reads_during_two_loads_of_the_same_file_stay_consistent(api):  # noqa: F811
    client, keys, _ = api
    app = client.app
    codes = [f"c{n:03d}" for n in range(120)]
    body = (f"{POI_HEADER}\n" + "".join(f"{c},点{c},,320505,2020-01-01,120.6,31.3\n" for c in codes)).encode()
    assert len(body) < app.state.settings.max_upload_bytes
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    summaries: list[dict] = []
    lock = threading.Lock()
    start = threading.Barrier(10)

    def reader(n: int) -> None:
        local = another_client(client, raise_server_exceptions=False)
        start.wait(timeout=60)
        for i in range(10):
            path = [RECORDS, f"{RECORDS}/{codes[(n * 7 + i) % 120]}", f"{RECORDS}/p1/history", "/repositories"][i % 4]
            response = local.get(
                path, params={"limit": 1000} if path == RECORDS else None, headers=auth(keys["reader"])
            )
            with lock:
                statuses[response.status_code] += 1
                if response.status_code >= 500 or (
                    response.status_code >= 400
                    and not response.headers["content-type"].startswith("application/problem+json")
                ):
                    failures.append(f"{path}: {response.status_code} {response.text[:200]}")

    def loader() -> None:
        local = another_client(client, raise_server_exceptions=False)
        start.wait(timeout=60)
        response = upload(local, keys["loader"], "same.csv", body)
        with lock:
            summaries.append({"status_code": response.status_code, **response.json()})

    threads = [threading.Thread(target=reader, args=(n,)) for n in range(8)]
    threads += [threading.Thread(target=loader) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a request hung"
    assert not failures, failures
    assert sorted(s["status_code"] for s in summaries) == [201, 201], summaries
    assert sorted((s["inserted"], s["unchanged"]) for s in summaries) == [(0, 120), (120, 0)], summaries

    listed = client.get(RECORDS, params={"limit": 1000}, headers=auth(keys["reader"])).json()
    listed_keys = [r["key"] for r in listed["items"]]
    assert len(listed_keys) == len(set(listed_keys)) == 123 and listed["next_cursor"] is None
    assert geo_count(client, keys["reader"]) == 123
    for key in codes[::10]:
        versions = [
            v["version"] for v in client.get(f"{RECORDS}/{key}/history", headers=auth(keys["reader"])).json()["items"]
        ]
        assert versions == [1], (key, versions)


def test_an_overlong_search_text_is_a_400_problem(api):  # noqa: F811
    client, keys, _ = api
    response = client.get(SEARCH, params={"q": "a" * 101}, headers=auth(keys["reader"]))
    assert_problem(response, 400, "request.invalid")


@pytest.mark.parametrize(
    ("path", "params"),
    [
        (SEARCH, {"q": "a" * 20_000}),
        (SEARCH, {"q": "苏州", "division_code": "3" * 5000}),
        (SEARCH, {"cursor": "x" * 5000}),
        (SEARCH, {"name" * 300: "x"}),
        (RECORDS, {"division_code": "苏" * 1001}),
        (RECORDS, {"cursor": "x" * 5000}),
        (SEARCH, {"q": "苏州", "cursor": base64.urlsafe_b64encode(b'{"k":' + b"[" * 3000).decode()}),
        (f"{RECORDS}/p1", {"as_of": "2024-01-01T00:00:00" + "0" * 2000 + "Z"}),
    ],
    ids=[
        "q",
        "search-filter",
        "search-cursor",
        "parameter-name",
        "list-filter",
        "list-cursor",
        "nested-cursor",
        "as-of",
    ],
)
def test_a_query_parameter_longer_than_the_limit_is_a_400_too_long(api, path, params):  # noqa: F811
    client, keys, _ = api
    body = assert_problem(client.get(path, params=params, headers=auth(keys["reader"])), 400, "request.too_long")
    assert body["limit"] == 1000 and len(body["parameters"]) == 1


def test_a_query_parameter_at_the_limit_is_read(api):  # noqa: F811
    client, keys, _ = api
    response = client.get(RECORDS, params={"division_code": "3" * 1000}, headers=auth(keys["reader"]))
    assert response.status_code == 200 and response.json()["items"] == []


# -- cursors of a hostile shape (a 500 before the one strict cursor codec; longer ones are request.too_long) -----


def raw_cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "body",
    [
        lambda fp: '{"a":' + "[" * 300 + "]" * 300 + "}",
        lambda fp: '{"a":' + "[" * 80 + "]" * 80 + "}",
        lambda fp: '{"p":[[[[[[1]]]]]],"q":"' + fp + '"}',
        lambda fp: '{"p":[NaN],"q":"' + fp + '"}',
        lambda fp: '{"p":[Infinity],"q":"' + fp + '"}',
        lambda fp: '{"p":[1e999],"q":"' + fp + '"}',
        lambda fp: '{"p":[true],"q":"' + fp + '"}',
        lambda fp: '{"i":1,"q":"' + fp + '"}',
    ],
    ids=["nested-300-deep", "nested-80-deep", "nested-in-bounds", "nan", "infinity", "overflow", "boolean", "old"],
)
def test_a_list_cursor_of_a_hostile_shape_is_400_cursor_invalid(api, body):  # noqa: F811
    client, keys, _ = api
    first = client.get(RECORDS, params={"limit": 1}, headers=auth(keys["reader"])).json()["next_cursor"]
    forged = raw_cursor(body(fingerprint_of(first)))
    response = client.get(RECORDS, params={"limit": 1, "cursor": forged}, headers=auth(keys["reader"]))
    assert_problem(response, 400, "request.cursor_invalid")
    assert client.get(RECORDS, params={"limit": 1, "cursor": first}, headers=auth(keys["reader"])).status_code == 200


# -- request bodies: sizes before parsing (issue 20) ---------------------------------------------------------------


def test_a_json_body_over_the_limit_is_413_request_too_large_and_one_at_the_limit_is_parsed(api):  # noqa: F811
    client, keys, _ = api
    limit = client.app.state.settings.max_json_bytes
    padding = '{"keys": ["p1"], "pad": "' + "x" * limit + '"}'
    response = client.post(
        LOOKUP, content=padding.encode(), headers={**auth(keys["reader"]), "Content-Type": "application/json"}
    )
    body = assert_problem(response, 413, "request.too_large")
    assert body["limit"] == limit
    at_limit = '{"keys": ["p1"]}'.ljust(limit).encode()
    assert len(at_limit) == limit
    parsed = client.post(LOOKUP, content=at_limit, headers={**auth(keys["reader"]), "Content-Type": "application/json"})
    assert parsed.status_code == 200, parsed.text


def test_a_streamed_json_body_without_a_length_is_cut_off_at_the_limit(api):  # noqa: F811
    client, keys, _ = api
    limit = client.app.state.settings.max_json_bytes
    sent = []

    def chunks():
        yield b'{"keys": ["p1"], "pad": "'
        for _ in range(limit // 65536 + 40):
            sent.append(1)
            yield b"x" * 65536
        yield b'"}'

    response = client.post(
        LOOKUP, content=chunks(), headers={**auth(keys["reader"]), "Content-Type": "application/json"}
    )
    assert_problem(response, 413, "request.too_large")


def _socket_post(client, path: str, headers: list[tuple[bytes, bytes]]) -> tuple[int, dict, list[str]]:
    """A served app (tests/served.py): POST ``path`` over a socket with ``headers`` and a body that is never sent;
    the answer must come without it (a server that waited for the body would time out here): the status, the
    problem document and ``[]`` (what the app asked for is not seen from outside)."""
    import socket

    url = httpx.URL(client.served.url)
    lines = [f"POST {path} HTTP/1.1".encode(), f"Host: {url.host}".encode()]
    lines += [name + b": " + value for name, value in headers]
    with socket.create_connection((url.host, url.port), timeout=30) as sock:
        sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n")
        received = b""
        while b"\r\n\r\n" not in received:
            received += sock.recv(65536)
        head, _, body = received.partition(b"\r\n\r\n")
        length = int(re.search(rb"(?im)^content-length: *(\d+)", head).group(1))
        while len(body) < length:
            body += sock.recv(65536)
    return int(head.split()[1]), json.loads(body), []


def _asgi_post(app, path: str, headers: list[tuple[bytes, bytes]]) -> tuple[int, dict, list[str]]:
    """POST ``path`` to ``app`` at the ASGI level with ``headers`` and a body that is never sent: returns the
    status, the problem document and what the application asked for (``receive`` calls); over a socket to a
    served app (``app`` its client) with :func:`_socket_post`."""
    if SERVED:
        return _socket_post(app, path, headers)
    import asyncio

    asked: list[str] = []
    sent: list[dict] = []

    async def receive():
        asked.append("receive")
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], json.loads(body), asked


def test_an_upload_declaring_more_than_the_limit_is_413_before_a_byte_is_read(api):  # noqa: F811
    client, keys, _ = api
    limit = client.app.state.settings.max_upload_bytes
    headers = [
        (b"authorization", f"Bearer {keys['loader']}".encode()),
        (b"content-type", b"multipart/form-data; boundary=x"),
        (b"content-length", str(300 * 1024 * 1024).encode()),
    ]
    status, body, asked = _asgi_post(client if SERVED else client.app, LOADS, headers)
    assert (status, body["code"], body["limit"]) == (413, "file.too_large", limit)
    assert asked == []  # the body was never read
    status, body, asked = _asgi_post(client if SERVED else client.app, "/projects/1/documents", headers)
    assert (status, body["code"], asked) == (413, "file.too_large", [])


def test_a_json_body_declaring_more_than_the_limit_is_413_before_a_byte_is_read(api):  # noqa: F811
    client, keys, _ = api
    headers = [
        (b"authorization", f"Bearer {keys['admin']}".encode()),
        (b"content-type", b"application/json"),
        (b"content-length", str(80 * 1024 * 1024).encode()),
    ]
    status, body, asked = _asgi_post(client if SERVED else client.app, "/departments", headers)
    assert (status, body["code"], asked) == (413, "request.too_large", [])


def test_the_body_limits_are_documented_on_every_operation_with_a_body(api):  # noqa: F811
    client, _, _ = api
    for path, item in client.app.openapi()["paths"].items():
        for method, operation in item.items():
            if "requestBody" in operation:
                assert "413" in operation["responses"], f"{method} {path}"


# -- headers given twice (issue 20) ----------------------------------------------------------------------------


def test_two_authorization_headers_are_refused_not_resolved_to_the_first(api):  # noqa: F811
    client, keys, _ = api
    twice = [("Authorization", f"Bearer {keys['reader']}"), ("Authorization", f"Bearer {keys['admin']}")]
    assert_problem(client.get("/repositories", headers=twice), 400, "request.header_repeated")
    same = [("Authorization", f"Bearer {keys['reader']}")] * 2
    assert_problem(client.get(RECORDS, headers=same), 400, "request.header_repeated")
    assert client.get("/repositories", headers=twice[:1]).status_code == 200


def test_two_purpose_headers_are_refused_not_resolved_to_the_first(api):  # noqa: F811
    client, keys, _ = api
    from tests.helpers import TEST_PURPOSE

    headers = [("Authorization", f"Bearer {keys['reader']}"), ("X-Purpose", TEST_PURPOSE), ("X-Purpose", "other.use")]
    assert_problem(client.get(RECORDS, headers=headers), 400, "request.header_repeated")
    assert_problem(client.get(f"{RECORDS}/p1", headers=headers), 400, "request.header_repeated")
    assert client.get(RECORDS, headers=headers[:2]).status_code == 200


# -- one integer parser for every route (issue 20) ---------------------------------------------------------------


def _integer_parameters(app) -> list[tuple[str, str, str, str]]:
    """(method, path, where, name) of every integer query or path parameter in the OpenAPI document."""
    found = []
    for path, item in app.openapi()["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                schema = parameter["schema"]
                types = [schema.get("type")] + [s.get("type") for s in schema.get("anyOf", [])]
                if "integer" in types:
                    found.append((method, path, parameter["in"], parameter["name"]))
    return found


def _fill(path: str, name: str | None = None, value: str = "1") -> str:
    values = {"repository": "geo_feature", "key": "p1", "batch_id": "b1"}
    return re.sub(r"\{(\w+)\}", lambda m: value if m.group(1) == name else values.get(m.group(1), "1"), path)


@pytest.mark.parametrize("written", ["1000.0", "1.0", "5_0", " 5", "+5", "1e3", "０５", "0x10"])
def test_an_integer_parameter_not_written_in_plain_digits_is_400_on_every_route(api, written):  # noqa: F811
    client, keys, _ = api
    checked = _integer_parameters(client.app)
    assert {
        ("get", "/repositories/{repository}/records", "query", "limit"),
        ("get", "/projects", "query", "offset"),
    } <= {c for c in checked}
    for method, path, where, name in checked:
        if where == "path":
            url, params = _fill(path, name, written), {}
        else:
            url, params = _fill(path), {name: written}
        response = client.request(method.upper(), url, params=params, headers=auth(keys["admin"]), json={})
        assert_problem(response, 400, "request.invalid")
        assert name in response.text, (method, path, response.text)
