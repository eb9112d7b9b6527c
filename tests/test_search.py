"""Search behaviour, the same tests on every backend: sql on SQLite, sql on PostgreSQL, and Elasticsearch."""

from __future__ import annotations

import os
import uuid

import pytest
from stdnum.cn import ric

from api.app import create_app
from api.demo import SAMPLES
from loaders.profiles import load_profile, parse_profile
from mdm.keys import create_key
from mdm.search import SearchQuery
from mdm.search.elastic import ElasticBackend
from mdm.search.indexer import drain
from mdm.search.sql import SqlBackend
from mdm.settings import Settings
from mdm.spatial import Envelope
from standards import default_registry
from tests.conftest import missing
from tests.helpers import PURPOSE_HEADER, grant, grant_everything, load
from tests.served import SERVED, client_for

ES_URL = os.environ.get("MDM_TEST_ELASTICSEARCH_URL")
REGISTRY = default_registry()
PERSONS = load_profile(str(SAMPLES / "persons.yaml"), [])
ENTITIES = load_profile(str(SAMPLES / "entities.yaml"), [])


def citizen_id(born: str, seq: int) -> str:
    body = f"990102{born}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


PEOPLE = {
    "周晓岚": citizen_id("19900307", 1),
    "周晓": citizen_id("19910101", 2),
    "晓岚": citizen_id("19920202", 3),
    "周岚": citizen_id("19930303", 4),
    "张三": citizen_id("19800101", 5),
    "李四光": citizen_id("19700505", 6),
}
ADDRESSES = {"周晓岚": "江苏省苏州市姑苏区人民路100号", "张三": "江苏省苏州市吴中区东吴北路8号"}
COMPANIES = {
    "91320505MA1B2C3D85": "苏州星河科技有限公司",
    "91320505MA1B2C3E8X": "锦程软件（苏州）有限公司",
    "91320505MA1B2C3F8P": "博远咨询(苏州)有限公司",
}


def _uscc_fix(code: str) -> str:
    from stdnum.cn import uscc

    return code[:17] + uscc.calc_check_digit(code[:17])


COMPANIES = {_uscc_fix(k): v for k, v in COMPANIES.items()}


class Env:
    """A database, a search backend, and how to load and make the index catch up."""

    def __init__(self, db, backend, tmp_path):
        self.db, self.backend, self.tmp_path = db, backend, tmp_path

    def load(self, profile, path):
        summary = load(self.db, profile, path, self.tmp_path)
        assert summary["rejected"] == 0, summary["reject_codes"]
        self.sync()
        return summary

    def sync(self):
        if isinstance(self.backend, ElasticBackend):
            result = drain(self.db, self.backend, REGISTRY)
            assert (result.failed, result.pending) == (0, 0), result
            for repository in REGISTRY.repositories:
                self.backend.refresh(repository)

    def search(self, repository, **query):
        return self.backend.search(REGISTRY.get(repository), SearchQuery(**query))

    def keys(self, repository, **query):
        return [h.key for h in self.search(repository, **query).hits]


@pytest.fixture(params=["sql-postgres", "elasticsearch"] if SERVED else ["sql-sqlite", "sql-postgres", "elasticsearch"])
def env(request, tmp_path):
    """Records in a database and a search backend; served (tests/served.py) the database is PostgreSQL."""
    from tests.conftest import _make_db

    kind = request.param
    db_gen = _make_db("postgres" if kind == "sql-postgres" or SERVED else "sqlite", tmp_path, request)
    db = next(db_gen)
    if kind == "elasticsearch":
        if not ES_URL or ElasticBackend(ES_URL).health()["status"] != "ok":
            missing(f"Elasticsearch at MDM_TEST_ELASTICSEARCH_URL={ES_URL!r}")
        backend = ElasticBackend(ES_URL, prefix=f"t{uuid.uuid4().hex[:10]}")
    else:
        backend = SqlBackend(db)
    yield Env(db, backend, tmp_path)
    if isinstance(backend, ElasticBackend):
        for repository in REGISTRY.repositories:
            backend.drop(repository)
    for _ in db_gen:
        pass


def person_file(path, people=PEOPLE, addresses=ADDRESSES):
    lines = ["citizen_id,name,residence_address"]
    lines += [f"{pid},{name},{addresses.get(name, '')}" for name, pid in people.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def subset(profile, columns):
    document = profile.model_dump(exclude={"name"})
    document["fields"] = {k: v for k, v in document["fields"].items() if v["column"] in columns}
    return parse_profile(document, default_name=profile.name)


PERSON_PROFILE = subset(PERSONS, {"citizen_id", "name", "residence_address"})
ENTITY_PROFILE = subset(ENTITIES, {"uscc", "name"})


@pytest.fixture
def people(env):
    env.load(PERSON_PROFILE, person_file(env.tmp_path / "people.csv"))
    return env


@pytest.fixture
def companies(env):
    path = env.tmp_path / "companies.csv"
    path.write_text("uscc,name\n" + "".join(f"{k},{v}\n" for k, v in COMPANIES.items()), encoding="utf-8")
    env.load(ENTITY_PROFILE, path)
    return env


def names(env, **query):
    by_id = {pid: name for name, pid in PEOPLE.items()}
    return [by_id[k] for k in env.keys("natural_person", **query)]


def test_a_two_character_name_is_found(people):
    assert names(people, q="张三") == ["张三"]


def test_a_two_character_piece_of_an_address_is_found(companies):
    path = companies.tmp_path / "addresses.csv"
    path.write_text(
        "uscc,name,registered_address\n"
        + "".join(f"{k},{v},江苏省苏州市姑苏区人民路{n}号\n" for n, (k, v) in enumerate(COMPANIES.items())),
        encoding="utf-8",
    )
    companies.load(subset(ENTITIES, {"uscc", "name", "registered_address"}), path)
    assert len(companies.keys("legal_entity", q="人民")) == 3
    assert companies.keys("legal_entity", q="东吴") == []


def test_a_full_name_in_exact_mode_finds_that_person_only(people):
    assert names(people, q="周晓岚") == ["周晓岚"]


def test_fuzzy_mode_ranks_the_full_match_first_and_may_add_partial_ones(people):
    found = names(people, q="周晓岚", mode="fuzzy")
    assert found[0] == "周晓岚"
    assert set(found) <= {"周晓岚", "周晓", "晓岚", "周岚"} and "张三" not in found


def test_a_substring_of_a_company_name_finds_it(companies):
    assert [COMPANIES[k] for k in companies.keys("legal_entity", q="星河科技")] == ["苏州星河科技有限公司"]


@pytest.mark.parametrize(
    ("typed", "registered"),
    [("锦程软件(苏州)", "锦程软件（苏州）有限公司"), ("博远咨询（苏州）", "博远咨询(苏州)有限公司")],
)
def test_brackets_typed_half_or_full_width_find_the_other(companies, typed, registered):
    assert [COMPANIES[k] for k in companies.keys("legal_entity", q=typed)] == [registered]


@pytest.mark.parametrize("typed", ["zhouxiaolan", "zxl", "ZXL"])
def test_full_pinyin_and_initials_find_the_name(people, typed):
    assert names(people, q=typed) == ["周晓岚"]


def test_a_citizen_id_is_found_as_a_keyword(people):
    assert names(people, q=PEOPLE["李四光"]) == ["李四光"]


def test_a_retired_record_is_not_found_and_an_updated_one_only_by_its_new_value(people):
    snapshot = parse_profile(
        {**PERSON_PROFILE.model_dump(exclude={"name"}), "mode": "snapshot"}, default_name=PERSON_PROFILE.name
    )
    renamed = {("周晓兰" if n == "周晓岚" else n): pid for n, pid in PEOPLE.items() if n != "张三"}
    summary = load(
        people.db, snapshot, person_file(people.tmp_path / "p2.csv", renamed, {}), people.tmp_path, guard=0.5
    )
    assert summary["retired"] == 1
    people.sync()
    assert people.keys("natural_person", q="张三") == []
    assert people.keys("natural_person", q="周晓兰") == [PEOPLE["周晓岚"]]
    assert people.keys("natural_person", q="周晓岚") == []
    assert people.keys("natural_person", q="人民") == []  # the old address went with the old version


def test_results_page_with_a_cursor_without_repeats(people):
    first = people.search("natural_person", limit=4)
    assert len(first.hits) == 4 and first.next_cursor
    second = people.search("natural_person", limit=4, cursor=first.next_cursor)
    keys = [h.key for h in first.hits + second.hits]
    assert sorted(keys) == sorted(PEOPLE.values()) and second.next_cursor is None


def test_filters_narrow_a_search(people):
    assert names(people, filters={"name": "李四光"}) == ["李四光"]
    assert names(people, q="李四", filters={"name": "李四光"}) == ["李四光"]


POINTS = {  # a feature per point, EPSG:4490; distances from (120.62, 31.30) are well away from the radii used
    "p-0": (120.62, 31.30),
    "p-1": (120.63, 31.30),
    "p-2": (120.65, 31.32),
    "p-far": (121.50, 31.23),
}


@pytest.fixture
def places(env):
    path = env.tmp_path / "points.csv"
    path.write_text(
        "id,name,level,division,since,lon,lat\n" + "".join(f"{k},地点{k},,,,{x},{y}\n" for k, (x, y) in POINTS.items()),
        encoding="utf-8",
    )
    from tests.helpers import profile

    env.load(profile(), path)
    return env


def test_near_returns_points_within_the_radius_nearest_first(places):
    page = places.search("geo_feature", near=(120.62, 31.30, 5000))
    assert [h.key for h in page.hits] == ["p-0", "p-1", "p-2"]
    assert page.hits[1].distance_m == pytest.approx(951, abs=5)  # 0.01° of longitude at 31.3°N


def test_bbox_returns_features_whose_envelope_intersects_it(places):
    assert sorted(places.keys("geo_feature", bbox=Envelope(120.625, 31.29, 120.66, 31.33))) == ["p-1", "p-2"]


def test_the_search_endpoint_masks_hits_like_reads_and_lookup_reports_missing_keys(people):
    settings = Settings(database_url="sqlite://", report_dir=people.tmp_path / "loads")
    app = lambda: create_app(settings, db=people.db, search=people.backend)  # noqa: E731
    client = client_for(None, app, settings, people.db, search=people.backend, headers=PURPOSE_HEADER)
    reader = {"Authorization": f"Bearer {create_key(people.db, department='统计局', role='reader', register=True)}"}
    grant(people.db, "统计局", "natural_person")
    # q could match the household division code in part, which reveals digits of the masked ID: refused
    refused = client.get("/repositories/natural_person/search", params={"q": "周晓岚"}, headers=reader)
    assert refused.status_code == 403 and refused.json()["code"] == "access.field_not_granted"
    grant(people.db, "统计局", "natural_person", unmasked=("citizen_id",))
    body = client.get("/repositories/natural_person/search", params={"q": "周晓岚"}, headers=reader).json()
    [hit] = body["items"]
    assert hit["data"]["name"] == "周晓岚" and hit["data"]["citizen_id"] == PEOPLE["周晓岚"]
    assert "*" in hit["data"]["residence_address"] and hit["masked"] == ["residence_address"]
    assert hit["score"] > 0
    found = client.post(
        "/repositories/natural_person/lookup", json={"keys": [PEOPLE["张三"], "nope"]}, headers=reader
    ).json()
    assert [r["data"]["name"] for r in found["items"]] == ["张三"] and found["not_found"] == ["nope"]
    too_many = client.post("/repositories/natural_person/lookup", json={"keys": ["k"] * 1001}, headers=reader)
    assert too_many.status_code == 400 and too_many.json()["code"] == "request.invalid"
    bad = client.get("/repositories/natural_person/search", params={"q": "x", "mode": "maybe"}, headers=reader)
    assert bad.status_code == 400 and bad.json()["code"] == "request.invalid"


def test_every_loaded_person_is_searchable(people):
    # guards the other tests against passing on an empty index
    assert len(people.keys("natural_person", limit=100)) == len(PEOPLE)


def test_masked_values_cannot_be_probed_through_search(people):
    # the whole citizen ID finds its record (a key lookup would too); no part of it, of the residence address
    # or of any other sensitive field does
    zhou = PEOPLE["周晓岚"]
    assert people.keys("natural_person", q=zhou) == [zhou]
    assert people.keys("natural_person", q=zhou[:10]) == []
    assert people.keys("natural_person", q="人民路100号") == []
    assert people.keys("natural_person", q="人民", mode="fuzzy") == []


def test_out_of_range_places_and_overlong_text_are_refused(people):
    from mdm.errors import InvalidRequest

    for query in ({"near": (200.0, 31.0, 100.0)}, {"near": (120.0, 95.0, 100.0)}, {"q": "苏州" * 51}):
        with pytest.raises(InvalidRequest):
            people.search("geo_feature" if "near" in query else "natural_person", **query)


def test_a_search_that_hit_the_sql_candidate_cap_says_it_is_incomplete(people):
    from mdm.search.sql import SqlBackend

    full = people.search("natural_person", q="周")
    assert full.complete and len(full.hits) == 3
    if isinstance(people.backend, SqlBackend):
        capped = SqlBackend(people.db, max_candidates=2).search(REGISTRY.get("natural_person"), SearchQuery(q="周"))
        assert not capped.complete and len(capped.hits) == 2


# -- hostile input through the search endpoint, on every backend ------------------------------------------------


def _client(env):
    """A client and the headers of a reader whose department may see (and so search) every field unmasked."""
    settings = Settings(database_url="sqlite://", report_dir=env.tmp_path / "loads")
    app = lambda: create_app(settings, db=env.db, search=env.backend)  # noqa: E731
    client = client_for(
        None, app, settings, env.db, search=env.backend, raise_server_exceptions=False, headers=PURPOSE_HEADER
    )
    key = create_key(env.db, department="统计局", role="reader", register=True)
    grant_everything(env.db, "统计局", unmasked=True)
    return client, {"Authorization": f"Bearer {key}"}


def _forged(cursor: str, position_json: str) -> str:
    import base64
    import json

    fingerprint = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))["q"]
    text = '{"p":' + position_json + ',"q":"' + fingerprint + '"}'
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "position",
    [
        "[" * 3000 + "]" * 3000,
        "[" * 300 + "]" * 300,
        "[" * 80 + "]" * 80,
        "[[[[1]]]]",
        "[NaN]",
        "[NaN, 1]",
        "[Infinity, 1]",
        "[1e999, 1]",
        "[1, -1]",
        "[-1]",
    ],
    ids=[
        "nested-3000-deep",
        "nested-300-deep",
        "nested-80-deep",
        "nested",
        "nan",
        "nan-pair",
        "infinity-pair",
        "overflow-pair",
        "negative-seq",
        "negative",
    ],
)
def test_a_search_cursor_of_a_hostile_shape_is_400_cursor_invalid(people, position):
    client, reader = _client(people)
    first = client.get("/repositories/natural_person/search", params={"limit": 2}, headers=reader)
    cursor = first.json()["next_cursor"]
    assert first.status_code == 200 and cursor
    response = client.get(
        "/repositories/natural_person/search", params={"limit": 2, "cursor": _forged(cursor, position)}, headers=reader
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    # longer than any query parameter may be: refused by the HTTP guard before the cursor codec reads it
    wanted = "request.too_long" if len(position) > 1000 else "request.cursor_invalid"
    assert response.json()["code"] == wanted
    again = client.get("/repositories/natural_person/search", params={"limit": 2, "cursor": cursor}, headers=reader)
    assert again.status_code == 200 and len(again.json()["items"]) == 2


def test_an_exact_search_filter_of_thousands_of_characters_is_a_400_problem(people):
    client, reader = _client(people)
    for value in ("李" * 5000, "x" * 20_000):
        response = client.get("/repositories/natural_person/search", params={"name": value}, headers=reader)
        assert response.status_code == 400, response.text[:300]
        assert response.json()["code"] == "request.too_long"
    at_limit = client.get("/repositories/natural_person/search", params={"name": "李" * 1000}, headers=reader)
    assert at_limit.status_code == 200 and at_limit.json()["items"] == []
    fine = client.get("/repositories/natural_person/search", params={"name": "李四光"}, headers=reader)
    assert fine.status_code == 200 and [h["data"]["name"] for h in fine.json()["items"]] == ["李四光"]


# -- traditional and simplified characters (issue 8 item 10) ----------------------------------------------------

SCRIPTS = {"華信雲數科技有限公司": "华信云数", "华信云数据服务有限公司": "華信雲數據"}  # stored name: typed query


@pytest.fixture
def scripts(env):
    codes = [_uscc_fix(f"91320505MA1B2C4{n}0X") for n in range(len(SCRIPTS))]
    path = env.tmp_path / "scripts.csv"
    path.write_text("uscc,name\n" + "".join(f"{c},{n}\n" for c, n in zip(codes, SCRIPTS, strict=True)), "utf-8")
    env.load(ENTITY_PROFILE, path)
    env.codes = dict(zip(SCRIPTS, codes, strict=True))
    return env


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("华信云数科技", "華信雲數科技有限公司"), ("華信雲數據", "华信云数据服务有限公司")],
    ids=["simplified-finds-traditional", "traditional-finds-simplified"],
)
def test_a_name_is_found_in_either_script(scripts, typed, stored):
    assert scripts.keys("legal_entity", q=typed) == [scripts.codes[stored]]
    assert set(scripts.keys("legal_entity", q=typed, mode="fuzzy")) >= {scripts.codes[stored]}


def test_traditional_and_simplified_queries_find_the_same_records(scripts):
    both = sorted(scripts.codes.values())
    assert sorted(scripts.keys("legal_entity", q="華信雲數")) == both
    assert sorted(scripts.keys("legal_entity", q="华信云数")) == both


def test_a_name_found_across_scripts_is_shown_as_supplied(scripts):
    client, reader = _client(scripts)
    body = client.get("/repositories/legal_entity/search", params={"q": "华信云数科技"}, headers=reader).json()
    assert [hit["data"]["name"] for hit in body["items"]] == ["華信雲數科技有限公司"]
