"""Sharing rules that need a standard of their own or a search engine: a field never shared (x-share: none),
x-reveals checked by the registry, and search refusal on Elasticsearch as on the sql backend (issue 9)."""

from __future__ import annotations

import json
import os
import shutil
import uuid

import pytest

from api.app import create_app
from mdm.access import decide
from mdm.access.grants import GrantSpec, check_spec
from mdm.errors import InvalidRequest
from mdm.search.elastic import ElasticBackend
from mdm.settings import Settings
from standards import default_registry
from standards.registry import Registry, StandardError
from tests.conftest import missing
from tests.helpers import ensure_purpose, grant
from tests.sharing_env import CIVIL, make_bed

SCHEMAS = default_registry().root
ES_URL = os.environ.get("MDM_TEST_ELASTICSEARCH_URL")


def registry_with(tmp_path, repository: str, name: str, prop: dict) -> Registry:
    root = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, root)
    path = root / repository / "1.0.0.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    document["properties"][name] = prop
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return Registry(root)


@pytest.mark.in_process("an app with a registry of the test's own (a standard changed in memory)")
def test_a_field_never_shared_is_withheld_under_any_grant_and_cannot_be_granted(db, tmp_path):
    registry = registry_with(tmp_path, "natural_person", "religion", {"type": "string", "x-share": "none"})
    standard = registry.get("natural_person")
    from tests.test_access import NOW, terms

    seen = decide(standard, role="reader", grants=[terms()], purpose="tax.audit", now=NOW)
    projection = seen.project({"citizen_id": "x", "religion": "y"})
    assert {"field": "religion", "reason": "access.share_none"} in projection.withheld
    ensure_purpose(db, "tax.audit")
    with db.read() as session, pytest.raises(InvalidRequest) as caught:
        check_spec(session, standard, GrantSpec("natural_person", ("religion",), ("tax.audit",)))
    assert caught.value.code == "grant.share_none"
    from fastapi.testclient import TestClient

    from mdm.keys import create_key

    client = TestClient(create_app(Settings(database_url="sqlite://"), db=db, registry=registry))
    admin = {"Authorization": f"Bearer {create_key(db, department='bigdata', role='admin', register=True)}"}
    body = {"department": "bigdata", "repository": "natural_person", "fields": ["religion"], "purposes": ["tax.audit"]}
    response = client.post("/grants", json=body, headers=admin)
    assert response.status_code == 400 and response.json()["code"] == "grant.share_none"


@pytest.mark.parametrize("reveals", [["nope"], "citizen_id", ["birth_date"]], ids=["unknown", "not-a-list", "itself"])
def test_x_reveals_must_name_other_fields_of_the_standard(tmp_path, reveals):
    with pytest.raises(StandardError, match="x-reveals"):
        registry_with(tmp_path, "natural_person", "birth_date", {"type": "string", "x-reveals": reveals})


def test_the_shipped_standards_say_which_fields_reveal_the_citizen_id_number():
    fields = default_registry().get("natural_person").fields
    assert {n for n, f in fields.items() if "citizen_id" in f.reveals} == {"birth_date", "household_division_code"}


@pytest.mark.parametrize(
    ("repository", "field", "share", "sensitivity"),
    [
        ("natural_person", "citizen_id", "conditional", "sensitive"),
        ("natural_person", "phone", "conditional", "sensitive"),
        ("natural_person", "residence_address", "conditional", "sensitive"),
        ("credit_record", "subject_citizen_id", "conditional", "sensitive"),
        ("credit_record", "subject_name", "conditional", "sensitive"),
        ("legal_entity", "name", "unconditional", "public"),
        ("legal_entity", "uscc", "unconditional", "public"),
        ("legal_entity", "legal_rep_name", "unconditional", "public"),
        ("legal_entity", "registered_address", "unconditional", "public"),
        ("legal_entity", "legal_rep_id_no", "conditional", "sensitive"),
    ],
)
def test_share_classes_follow_the_national_field_classifications(repository, field, share, sensitivity):
    rule = default_registry().get(repository).fields[field]
    assert (rule.share, rule.sensitivity) == (share, sensitivity)


@pytest.fixture
def es_bed(tmp_path, request):
    """A bed on Elasticsearch: its records in SQLite, or in PostgreSQL when served (tests/served.py)."""
    from tests.conftest import _make_db
    from tests.served import SERVED

    if not ES_URL or ElasticBackend(ES_URL).health()["status"] != "ok":
        missing(f"Elasticsearch at MDM_TEST_ELASTICSEARCH_URL={ES_URL!r}")
    backend = ElasticBackend(ES_URL, prefix=f"t{uuid.uuid4().hex[:10]}")
    gen = _make_db("postgres" if SERVED else "sqlite", tmp_path, request)
    db = next(gen)
    yield make_bed(db, tmp_path, search=backend)
    for repository in default_registry().repositories:
        backend.drop(repository)
    for _ in gen:
        pass


def test_on_elasticsearch_a_search_on_hidden_fields_is_refused_and_granted_hits_are_masked(es_bed):
    bed = es_bed
    credit = next(c for c in bed.credits if c["subject_type"] == "natural_person" and c.get("content"))
    refused = bed.get("civil", "/repositories/credit_record/search", q=credit["content"][:4])
    assert refused.status_code == 403 and refused.json()["code"] == "access.field_not_granted"
    grant(bed.db, CIVIL, "credit_record", purposes=("social.assistance",))
    found = bed.get("civil", "/repositories/credit_record/search", q=credit["content"][:4], limit=100).json()
    hit = next(h for h in found["items"] if h["key"] == credit["record_id"])
    assert hit["data"]["subject_name"] != credit["subject_name"] and "subject_name" in hit["masked"]
    by_subject = bed.get("civil", "/repositories/credit_record/search", subject_citizen_id=credit["subject_citizen_id"])
    assert by_subject.status_code == 403 and by_subject.json()["fields"] == ["subject_citizen_id"]
    bed.flush()
    events = bed.get("admin", "/audit", purpose=None, repository="credit_record").json()["items"]
    assert [e["detail"].get("refused") for e in events if e["action"] == "read:search"] == [
        "access.field_not_granted",
        None,
        "access.field_not_granted",
    ]
