"""The HTTP API against a real database on each backend."""

import datetime as dt

import pytest

from api.app import create_app
from mdm.keys import create_key
from mdm.settings import Settings
from tests.helpers import PURPOSE_HEADER, csv_file, grant_everything, load, profile, write_profile
from tests.served import client_for, started

ROWS = [
    "p1,苏州博物馆,,320508,2020-01-01,120.6285,31.3236",
    "p2,拙政园,,320508,2020-01-02,120.6271,31.3264",
    "p3,寒山寺,,320505,2020-01-03,120.5682,31.3104",
]


@pytest.fixture
def api(db, tmp_path, request):
    profiles = tmp_path / "profiles"
    write_profile(profiles, "test-poi")
    settings = Settings(
        database_url="sqlite://", report_dir=tmp_path / "loads", max_upload_bytes=10_000, profile_path=str(profiles)
    )
    app = lambda: create_app(settings, db=db)  # noqa: E731
    client = client_for(request, app, settings, db, raise_server_exceptions=False, headers=PURPOSE_HEADER)
    keys = {
        role: create_key(db, department=f"{role} dept", role=role, register=True)
        for role in ("reader", "loader", "admin")
    }
    for role in ("reader", "loader"):
        grant_everything(db, f"{role} dept")
    load(db, profile(), csv_file(tmp_path / "seed.csv", ROWS), tmp_path)
    return started(client), keys, tmp_path


def auth(key):
    return {"Authorization": f"Bearer {key}"}


def assert_problem(response, status, code):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code and body["status"] == status
    assert {"type", "title", "detail"} <= set(body)
    return body


def test_health_needs_no_key_and_reports_the_database(api):
    client, _, _ = api
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["database"]["status"] == "ok" and body["database"]["revision"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}],
    ids=["none", "unknown", "wrong-scheme"],
)
def test_every_other_request_needs_a_valid_key(api, headers):
    client, _, _ = api
    response = client.get("/repositories", headers=headers)
    body = assert_problem(response, 401, "auth.invalid_key" if "nope" in str(headers) else "auth.missing_key")
    assert body["instance"] == "/repositories"


def test_repositories_list_geo_feature_with_its_count(api):
    client, keys, _ = api
    items = client.get("/repositories", headers=auth(keys["reader"])).json()["items"]
    assert {
        "id": "geo_feature",
        "title": "地理空间信息 Geographic features",
        "standard_version": "1.0.0",
        "count": 3,
    } in items


def test_the_standard_is_served(api):
    client, keys, _ = api
    body = client.get("/repositories/geo_feature/standard", headers=auth(keys["reader"])).json()
    assert body["schema"]["$id"] == "urn:mdm:standard:geo_feature:1.0.0" and body["business_key"] == ["feature_id"]


def test_a_record_reads_with_version_provenance_and_visibility_lists(api):
    client, keys, _ = api
    body = client.get("/repositories/geo_feature/records/p2", headers=auth(keys["reader"])).json()
    assert (body["repository"], body["key"], body["version"], body["status"]) == ("geo_feature", "p2", 1, "active")
    assert body["data"]["name"] == "拙政园" and body["masked"] == [] and body["withheld"] == []
    assert body["provenance"]["name"]["source"] == "test-poi"


def test_unknown_records_and_repositories_are_404_problems(api):
    client, keys, _ = api
    assert_problem(
        client.get("/repositories/geo_feature/records/zzz", headers=auth(keys["reader"])), 404, "record.not_found"
    )
    assert_problem(client.get("/repositories/people/records", headers=auth(keys["reader"])), 404, "repository.unknown")
    assert_problem(client.get("/nowhere", headers=auth(keys["reader"])), 404, "request.not_found")


def test_as_of_reads_the_version_recorded_then_and_history_lists_all(api, db):
    client, keys, tmp_path = api
    before = dt.datetime.now(dt.UTC)
    changed = [ROWS[0].replace("苏州博物馆", "苏州博物馆本馆"), *ROWS[1:]]
    load(db, profile(), csv_file(tmp_path / "b.csv", changed), tmp_path)
    now = client.get("/repositories/geo_feature/records/p1", headers=auth(keys["reader"])).json()
    then = client.get(
        "/repositories/geo_feature/records/p1", params={"as_of": before.isoformat()}, headers=auth(keys["reader"])
    ).json()
    history = client.get("/repositories/geo_feature/records/p1/history", headers=auth(keys["reader"])).json()
    assert (now["version"], now["data"]["name"]) == (2, "苏州博物馆本馆")
    assert (then["version"], then["data"]["name"]) == (1, "苏州博物馆")
    assert [v["version"] for v in history["items"]] == [1, 2]


def test_as_of_without_a_zone_is_refused(api):
    client, keys, _ = api
    response = client.get(
        "/repositories/geo_feature/records/p1", params={"as_of": "2024-01-01T00:00:00"}, headers=auth(keys["reader"])
    )
    assert_problem(response, 400, "request.invalid")


def test_lists_filter_exactly_and_page_with_a_cursor(api):
    client, keys, _ = api
    first = client.get(
        "/repositories/geo_feature/records",
        params={"division_code": "320508", "limit": 1},
        headers=auth(keys["reader"]),
    ).json()
    second = client.get(
        "/repositories/geo_feature/records",
        params={"division_code": "320508", "limit": 1, "cursor": first["next_cursor"]},
        headers=auth(keys["reader"]),
    ).json()
    assert [r["key"] for r in first["items"]] == ["p1"] and [r["key"] for r in second["items"]] == ["p2"]
    assert second["next_cursor"] is None


def test_a_cursor_from_another_query_is_refused(api):
    client, keys, _ = api
    first = client.get("/repositories/geo_feature/records", params={"limit": 1}, headers=auth(keys["reader"])).json()
    response = client.get(
        "/repositories/geo_feature/records",
        params={"limit": 1, "level": "county", "cursor": first["next_cursor"]},
        headers=auth(keys["reader"]),
    )
    assert_problem(response, 400, "request.cursor_invalid")
    assert_problem(
        client.get("/repositories/geo_feature/records", params={"cursor": "%%%"}, headers=auth(keys["reader"])),
        400,
        "request.cursor_invalid",
    )


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"population": "1"}, "request.filter_unknown"),
        ({"limit": "0"}, "request.invalid"),
        ({"limit": "1001"}, "request.invalid"),
        ({"contains": "120.6"}, "request.invalid"),
        ({"bbox": "1,2,3"}, "request.invalid"),
        ({"bbox": "121,31,120,32"}, "request.invalid"),
        ({"contains": "a,b"}, "request.invalid"),
    ],
)
def test_bad_list_parameters_are_400_problems(api, params, code):
    client, keys, _ = api
    assert_problem(
        client.get("/repositories/geo_feature/records", params=params, headers=auth(keys["reader"])), 400, code
    )


def test_spatial_filters_over_http(api):
    client, keys, _ = api
    found = client.get(
        "/repositories/geo_feature/records", params={"bbox": "120.62,31.32,120.63,31.33"}, headers=auth(keys["reader"])
    ).json()
    assert [r["key"] for r in found["items"]] == ["p1", "p2"]


def test_a_loader_posts_a_file_and_reads_its_summary(api):
    client, keys, _ = api
    body = "id,name,level,division,since,lon,lat\np9,虎丘,,320505,2020-01-01,120.58,31.33\np10,坏,,9X,,120,31\n"
    response = client.post(
        "/repositories/geo_feature/loads",
        headers=auth(keys["loader"]),
        data={"profile": "test-poi"},
        files={"file": ("poi.csv", body.encode(), "text/csv")},
    )
    assert response.status_code == 201, response.text
    summary = response.json()
    assert (summary["read"], summary["inserted"], summary["rejected"], summary["encoding"]) == (2, 1, 1, "utf-8")
    again = client.get(f"/loads/{summary['batch_id']}", headers=auth(keys["loader"])).json()
    assert again["batch_id"] == summary["batch_id"] and again["status"] == "committed"
    assert_problem(client.get("/loads/nope", headers=auth(keys["loader"])), 404, "load.not_found")


def test_a_reader_may_not_load(api):
    client, keys, _ = api
    response = client.post(
        "/repositories/geo_feature/loads",
        headers=auth(keys["reader"]),
        data={"profile": "test-poi"},
        files={"file": ("a.csv", b"id\n", "text/csv")},
    )
    assert_problem(response, 403, "auth.forbidden")


def test_an_upload_above_the_limit_is_413_and_loads_nothing(api):
    client, keys, _ = api
    big = b"id,name,level,division,since,lon,lat\n" + b"x" * 20_000
    response = client.post(
        "/repositories/geo_feature/loads",
        headers=auth(keys["loader"]),
        data={"profile": "test-poi"},
        files={"file": ("big.csv", big, "text/csv")},
    )
    assert_problem(response, 413, "file.too_large")


@pytest.mark.parametrize(
    ("profile_name", "code"), [("../etc/passwd", "request.invalid"), ("no-such-profile", "load.profile_unknown")]
)
def test_a_load_names_a_profile_on_the_server(api, profile_name, code):
    client, keys, _ = api
    response = client.post(
        "/repositories/geo_feature/loads",
        headers=auth(keys["loader"]),
        data={"profile": profile_name},
        files={"file": ("a.csv", b"id\n", "text/csv")},
    )
    assert_problem(response, 400, code)


def test_a_file_rejected_whole_is_a_422_problem_with_its_load_summary(api):
    client, keys, _ = api
    response = client.post(
        "/repositories/geo_feature/loads",
        headers=auth(keys["loader"]),
        data={"profile": "test-poi"},
        files={"file": ("a.csv", b"\xff\xfe\x00bad", "text/csv")},
    )
    body = assert_problem(response, 422, "file.encoding_unknown")
    assert body["load"]["status"] == "rejected"


def test_the_openapi_document_describes_the_routes(api):
    client, _, _ = api
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/health", "/repositories", "/repositories/{repository}/records/{key}", "/loads/{batch_id}"} <= set(paths)
    assert client.get("/docs").status_code == 200


def test_as_of_with_an_unencoded_plus_still_means_the_offset(api):
    client, keys, _ = api
    url = "/repositories/geo_feature/records/p1?as_of=2999-01-01T00:00:00+08:00"  # '+' arrives as a space
    assert client.get(url, headers=auth(keys["reader"])).json()["version"] == 1
    assert_problem(
        client.get("/repositories/geo_feature/records/p1", params={"as_of": "yesterday"}, headers=auth(keys["reader"])),
        400,
        "request.invalid",
    )


def test_a_repeated_filter_is_refused_rather_than_silently_narrowed(api):
    client, keys, _ = api
    response = client.get(
        "/repositories/geo_feature/records?division_code=320508&division_code=320505", headers=auth(keys["reader"])
    )
    assert_problem(response, 400, "request.parameter_repeated")


def test_401_problems_carry_the_bearer_challenge(api):
    client, _, _ = api
    for headers in ({}, {"Authorization": "Bearer nope"}):
        assert client.get("/repositories", headers=headers).headers["www-authenticate"] == "Bearer"


def test_openapi_documents_problem_responses_not_fastapi_validation_errors(api):
    client, _, _ = api
    document = client.get("/openapi.json").json()
    operation = document["paths"]["/repositories/{repository}/loads"]["post"]
    assert {"400", "401", "409", "413", "422"} <= set(operation["responses"])
    assert "Problem" in str(operation["responses"]["422"]) and "HTTPValidationError" not in str(document)


def test_a_file_whose_every_row_is_rejected_says_so_in_its_summary(api):
    client, keys, _ = api
    body = "id,name,level,division,since,lon,lat\np9,,,9X,,,\n"
    response = client.post(
        "/repositories/geo_feature/loads",
        headers=auth(keys["loader"]),
        data={"profile": "test-poi"},
        files={"file": ("bad.csv", body.encode(), "text/csv")},
    )
    assert response.status_code == 201
    assert response.json()["notice"]["code"] == "load.all_rejected"
