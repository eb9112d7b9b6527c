"""Issue 26, kind 7: a load whose records Elasticsearch refuses says so — status ``committed_unindexed``, the
count under ``unindexed``, notice ``load.unindexed``, ``mdm load`` exit 6 — in the summary it returns, in the
batch row ``GET /loads/{id}`` answers, and after a later drain; and turns ``committed`` again once the index holds
them. Against the real node, with documents it really refuses: an index built for an older standard that lacks a
field (``dynamic: strict`` refuses it) and one that maps the field as a number (the text cannot be parsed)."""

from __future__ import annotations

import json
import os

import pytest
from stdnum.cn import ric

from api.demo import SAMPLES
from loaders.pipeline import LoadOptions, load_file
from loaders.profiles import load_profile
from mdm.batches import get_batch
from mdm.search import SearchQuery
from mdm.search.elastic import SETTINGS, mapping
from mdm.search.indexer import check, drain, reindex
from standards import default_registry

REGISTRY = default_registry()
PERSON = REGISTRY.get("natural_person")
PERSONS = load_profile(str(SAMPLES / "persons.yaml"), [])
HEADER = (
    "citizen_id,name,gender_code,birth_date,nationality_code,ethnicity_code,household_address,"
    "household_division_code,phone,record_status,residence_address"
)
# synthetic citizen ID numbers (address code 990102, no real county); two rows carry a nationality code
ROWS = [
    ("990102199003070011", "周晓兰", "2", "1990-03-07", "CHN"),
    ("990102198501010018", "王建国", "1", "1985-01-01", ""),
    ("990102197212120035", "李娟", "2", "1972-12-12", "CHN"),
    ("990102200002290016", "赵强", "1", "2000-02-29", ""),
    ("990102196608080070", "陈平", "1", "1966-08-08", ""),
]
REFUSED = {ROWS[0][0], ROWS[2][0]}


def _checked(key: str) -> str:
    return key[:17] + ric.calc_check_digit(key)


def people_file(path, suffix=""):
    lines = [HEADER] + [",".join((_checked(r[0]), r[1] + suffix, *r[2:], "", "", "", "", "", "")) for r in ROWS]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def people(tmp_path):
    return people_file(tmp_path / "people.csv")


def keys(rows=ROWS) -> set[str]:
    return {_checked(r[0]) for r in rows}


def old_index(es, how: str) -> None:
    """The repository's alias over an index built for another version of the standard: without
    ``nationality_code`` (strict mapping refusal) or with it mapped as a number (a parse failure)."""
    body = mapping(PERSON)
    if how == "missing":
        del body["properties"]["nationality_code"]
    else:
        body["properties"]["nationality_code"] = {"type": "long"}
    name = f"{es.alias('natural_person')}-old"
    es.client.indices.create(index=name, settings=SETTINGS, mappings=body)
    es.client.indices.put_alias(index=name, name=es.alias("natural_person"))


def searchable(es) -> set[str]:
    es.refresh("natural_person")
    return {key for key, _, _ in es.scan("natural_person")}


@pytest.mark.parametrize("how", ["missing", "number"])
def test_a_load_whose_records_the_index_refuses_is_stored_but_says_not_all_searchable(db, es, tmp_path, people, how):
    old_index(es, how)
    summary = load_file(db, PERSONS, people, options=LoadOptions(report_root=tmp_path / "loads"), search=es)
    assert summary.status == "committed_unindexed" and summary.inserted == 5
    assert summary.unindexed == 2 and summary.index["refused"] == 2 and summary.index["indexed"] == 3
    assert summary.notice["code"] == "load.unindexed"
    reason = "strict_dynamic_mapping_exception" if how == "missing" else "parsing_exception"
    assert {k.split("/")[1] for k in summary.index["errors"]} == {_checked(k) for k in REFUSED}
    assert all(reason in e for e in summary.index["errors"].values())
    assert searchable(es) == keys() - {_checked(k) for k in REFUSED}
    stored = get_batch(db, summary.batch_id, viewer=None)  # what GET /loads/{id} answers
    assert stored.status == "committed_unindexed" and stored.summary["status"] == "committed_unindexed"
    assert stored.summary["unindexed"] == 2 and stored.summary["index"]["refused"] == 2
    written = json.loads((tmp_path / "loads" / summary.batch_id / "summary.json").read_text(encoding="utf-8"))
    assert written["status"] == "committed_unindexed" and written["unindexed"] == 2

    reindex(db, es, PERSON)  # the fix: an index built from the standard in force
    assert searchable(es) == keys()
    settled = drain(db, es, REGISTRY)  # the refused rows, retried, are there now (stale: reindex wrote them)
    assert (settled.refused, settled.pending) == (0, 0)
    stored = get_batch(db, summary.batch_id, viewer=None)
    assert stored.status == "committed" and stored.summary["status"] == "committed"
    assert "unindexed" not in stored.summary and not check(db, es, PERSON)["drift"]


def test_a_load_indexed_later_is_marked_when_the_indexer_finds_refusals(db, es, tmp_path, people):
    summary = load_file(db, PERSONS, people, options=LoadOptions(report_root=tmp_path / "loads"))  # no search
    assert summary.status == "committed" and get_batch(db, summary.batch_id, viewer=None).status == "committed"
    old_index(es, "missing")
    later = drain(db, es, REGISTRY)
    assert (later.indexed, later.refused, later.pending) == (3, 2, 2)
    stored = get_batch(db, summary.batch_id, viewer=None)
    assert stored.status == "committed_unindexed" and stored.summary["unindexed"] == 2
    again = drain(db, es, REGISTRY)  # a retry refused again counts once, not twice
    assert again.refused == 2 and get_batch(db, summary.batch_id, viewer=None).summary["unindexed"] == 2
    es.refresh("natural_person")  # a general drain does not wait for searchability; a load's own drain does
    assert [h.key for h in es.search(PERSON, SearchQuery(q="王建国")).hits] == [_checked(ROWS[1][0])]


def test_an_unreachable_index_is_no_refusal(db, es, tmp_path, people):
    from mdm.search.elastic import ElasticBackend

    dead = ElasticBackend("http://127.0.0.1:9", prefix=es.prefix, timeout=1)
    summary = load_file(db, PERSONS, people, options=LoadOptions(report_root=tmp_path / "loads"), search=dead)
    assert summary.status == "committed" and summary.unindexed is None
    assert summary.index["unavailable"] and summary.index["pending"] == 5 and summary.index["refused"] == 0
    assert get_batch(db, summary.batch_id, viewer=None).status == "committed"


def test_mdm_load_exits_6_when_the_index_refuses_records(es, tmp_path, people, monkeypatch):
    from typer.testing import CliRunner

    from api.cli import EXIT, app
    from mdm.settings import get_settings

    monkeypatch.setenv("MDM_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("MDM_REPORT_DIR", str(tmp_path / "loads"))
    monkeypatch.setenv("MDM_ELASTICSEARCH_URL", os.environ["MDM_TEST_ELASTICSEARCH_URL"])
    monkeypatch.setenv("MDM_ES_INDEX_PREFIX", es.prefix)
    get_settings.cache_clear()
    try:
        old_index(es, "missing")
        result = CliRunner().invoke(app, ["load", "--profile", str(SAMPLES / "persons.yaml"), "--json", str(people)])
        summary = json.loads(result.stdout.splitlines()[-1])
        assert result.exit_code == EXIT["unindexed"] == 6
        assert summary["status"] == "committed_unindexed" and summary["unindexed"] == 2
        renamed = people_file(tmp_path / "renamed.csv", suffix="明")  # every record changes: indexed again
        table = CliRunner().invoke(app, ["load", "--profile", str(SAMPLES / "persons.yaml"), str(renamed)])
        assert table.exit_code == 6 and "load.unindexed" in table.output  # the table says so too
    finally:
        get_settings.cache_clear()


def test_the_http_load_answers_committed_unindexed_and_so_does_its_batch(db, es, tmp_path, people):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from mdm.keys import create_key
    from mdm.settings import Settings

    settings = Settings(
        database_url="sqlite://",
        report_dir=tmp_path / "loads",
        profile_path=str(SAMPLES),
        elasticsearch_url=os.environ["MDM_TEST_ELASTICSEARCH_URL"],
        es_index_prefix=es.prefix,
        indexer_interval=0,
    )
    steward = create_key(db, department="unindexed stewards", role="admin", register=True)
    old_index(es, "number")
    with TestClient(create_app(settings, db=db), raise_server_exceptions=False) as client, people.open("rb") as fh:
        headers = {"Authorization": f"Bearer {steward}"}
        response = client.post(
            "/repositories/natural_person/loads",
            headers=headers,
            data={"profile": "persons"},
            files={"file": ("people.csv", fh, "text/csv")},
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert (body["status"], body["unindexed"], body["notice"]["code"]) == (
            "committed_unindexed",
            2,
            "load.unindexed",
        )
        stored = client.get(f"/loads/{body['batch_id']}", headers=headers).json()
    assert (stored["status"], stored["unindexed"], stored["index"]["refused"]) == ("committed_unindexed", 2, 2)
