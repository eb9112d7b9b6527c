"""No answer is an oracle for a masked value (issue 20), on SQLite and PostgreSQL: a key the caller sees masked
addresses nothing (the refusal is the same whether the record exists or not), a text search never matches it,
a verification answers a missing key as a present one with wrong claims, verifications and key lookups are
metered, and the audit keeps every key tried."""

from __future__ import annotations

import hashlib

import pytest

from api.app import create_app
from api.demo_sharing import PERSON_FIELDS
from mdm.settings import Settings
from tests.helpers import grant
from tests.served import client_for
from tests.sharing_env import CIVIL, TAX, make_bed

NP = "/repositories/natural_person"


@pytest.fixture
def bed(db, tmp_path):
    return make_bed(db, tmp_path)


def a_missing_id(bed) -> str:
    """A well-formed citizen ID number (check character computed) that no sample person holds."""
    from stdnum.cn import ric

    held = {p["citizen_id"] for p in bed.persons}
    for day in range(1, 29):
        body = f"990102198002{day:02d}001"  # address code, birth date 1980-02-DD, sequence
        number = body + ric.calc_check_digit(body + "0")  # it reads 18 characters and ignores the last
        if number not in held:
            return number
    raise AssertionError("no free number")


def without_instance(response) -> dict:
    body = dict(response.json())
    body.pop("instance", None)
    return body


def test_a_masked_key_addresses_nothing_whether_or_not_the_record_exists(bed):
    grant(bed.db, CIVIL, "natural_person", purposes=("social.assistance",))  # citizen_id masked
    present, missing = bed.persons[0]["citizen_id"], a_missing_id(bed)
    for key in (present, missing):
        answers = {
            "get": bed.get("civil", f"{NP}/records/{key}"),
            "as_of": bed.get("civil", f"{NP}/records/{key}", as_of="2020-01-01T00:00:00Z"),
            "history": bed.get("civil", f"{NP}/records/{key}/history"),
            "lookup": bed.post("civil", f"{NP}/lookup", {"keys": [key]}),
        }
        for route, response in answers.items():
            assert response.status_code == 403, (route, key, response.text)
            assert response.json()["code"] == "access.field_not_granted" and response.json()["fields"] == ["citizen_id"]
        if key == present:
            first = {route: without_instance(r) for route, r in answers.items()}
        else:
            assert {route: without_instance(r) for route, r in answers.items()} == first
    # shown in clear, the key addresses the record (and a missing one is simply not found)
    grant(bed.db, TAX, "natural_person", purposes=("tax.audit",), unmasked=("citizen_id",))
    assert bed.get("tax", f"{NP}/records/{present}", purpose="tax.audit").status_code == 200
    assert bed.get("tax", f"{NP}/records/{missing}", purpose="tax.audit").status_code == 404


def test_a_text_search_never_matches_a_key_the_caller_sees_masked(bed):
    person = bed.persons[0]
    grant(bed.db, CIVIL, "natural_person", fields=PERSON_FIELDS, purposes=("social.assistance",))
    refused = bed.get("civil", f"{NP}/search", q=person["citizen_id"])  # the division code would reveal the ID
    assert refused.status_code == 403 and refused.json()["code"] == "access.field_not_granted"
    grant(bed.db, TAX, "natural_person", fields=PERSON_FIELDS, purposes=("tax.audit",), unmasked=("citizen_id",))
    clear = bed.get("tax", f"{NP}/search", purpose="tax.audit", q=person["citizen_id"]).json()["items"]
    assert [h["key"] for h in clear] == [person["citizen_id"]]


@pytest.mark.parametrize("engine", ["sql", "elasticsearch"])
def test_a_backend_told_the_key_is_masked_does_not_match_it(db, tmp_path, request, engine):
    """The read service passes ``match_key=False`` when the caller sees the key masked: the backends then match
    q against no business key (a hit would confirm the hidden number)."""
    from dataclasses import replace

    from mdm.query import SearchQuery
    from mdm.search.sql import SqlBackend
    from standards import default_registry

    backend = request.getfixturevalue("es") if engine == "elasticsearch" else SqlBackend(db)
    bed = make_bed(db, tmp_path, search=backend if engine == "elasticsearch" else None)
    standard = default_registry().get("natural_person")
    query = SearchQuery(q=bed.persons[0]["citizen_id"])
    assert [h.key for h in backend.search(standard, query).hits] == [bed.persons[0]["citizen_id"]]
    assert backend.search(standard, replace(query, match_key=False)).hits == []


def test_a_verification_of_a_missing_key_answers_as_wrong_claims_do_and_is_audited_hashed(bed):
    person = bed.persons[0]
    grant(bed.db, TAX, "natural_person", fields=("name", "phone"), purposes=("tax.audit",), kind="verify")
    claims = {"name": "无此人", "phone": "10000000000"}
    wrong = bed.post("tax", f"{NP}/verify", {"key": person["citizen_id"], "claims": claims}, purpose="tax.audit")
    missing = bed.post("tax", f"{NP}/verify", {"key": a_missing_id(bed), "claims": claims}, purpose="tax.audit")
    assert wrong.status_code == missing.status_code == 200
    assert wrong.content == missing.content == b'{"results":{"name":"no_match","phone":"no_match"}}'
    right = {"name": person["name"], "phone": person["phone"]}
    answered = bed.post("tax", f"{NP}/verify", {"key": person["citizen_id"], "claims": right}, purpose="tax.audit")
    assert answered.json() == {"results": {"name": "match", "phone": "match"}}
    bed.flush()
    events = [
        e
        for e in bed.get("admin", "/audit", purpose=None, department=TAX).json()["items"]
        if e["action"] == "read:verify"
    ]
    assert len(events) == 3
    digest = hashlib.sha256(person["citizen_id"].encode()).hexdigest()
    newest = events[0]  # newest first
    assert newest["detail"]["asked"] == {"key_sha256": digest}  # 税务局 cannot read the ID: hashed
    assert newest["detail"]["results"] == {"name": "match", "phone": "match"}
    assert all(person["citizen_id"] not in str(e["detail"]) for e in events)
    assert events[1]["detail"]["results"] == {"name": "no_match", "phone": "no_match"}


def test_verifications_past_the_grants_rate_are_refused_with_retry_after_and_use_nothing(bed):
    person = bed.persons[0]
    grant(
        bed.db,
        TAX,
        "natural_person",
        fields=("name",),
        purposes=("tax.audit",),
        kind="verify",
        per_minute=3,
    )
    body = {"key": person["citizen_id"], "claims": {"name": person["name"]}}
    for _ in range(3):
        assert bed.post("tax", f"{NP}/verify", body, purpose="tax.audit").status_code == 200
    refused = bed.post("tax", f"{NP}/verify", body, purpose="tax.audit")
    assert refused.status_code == 429 and refused.json()["code"] == "access.rate_limited"
    assert refused.headers["content-type"] == "application/problem+json"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60 and refused.json()["window"] == "minute"
    assert refused.json()["limit"] == 3
    # stewards are not metered
    assert bed.post("admin", f"{NP}/verify", body, purpose="tax.audit").status_code == 200
    bed.flush()
    audit = bed.get("admin", "/audit", purpose=None, department=TAX).json()["items"]
    assert audit[0]["action"] == "read:verify" and audit[0]["detail"]["refused"] == "access.rate_limited"


def test_the_daily_quota_and_the_default_limits_hold_per_department_and_purpose(bed, tmp_path):
    person = bed.persons[0]
    grant(bed.db, TAX, "natural_person", fields=("name",), purposes=("tax.audit",), kind="verify", per_day=2)
    grant(bed.db, CIVIL, "natural_person", fields=("name",), purposes=("social.assistance",), kind="verify")
    body = {"key": person["citizen_id"], "claims": {"name": person["name"]}}
    assert [bed.post("tax", f"{NP}/verify", body, purpose="tax.audit").status_code for _ in range(3)] == [200, 200, 429]
    day = bed.post("tax", f"{NP}/verify", body, purpose="tax.audit")
    assert day.json()["window"] == "day" and int(day.headers["Retry-After"]) <= 86_400
    # the defaults apply where no grant declares a limit (MDM_VERIFY_PER_MINUTE)
    settings = Settings(database_url="sqlite://", report_dir=tmp_path / "loads", verify_per_minute=2)
    strict = client_for(None, lambda: create_app(settings, db=bed.db), settings, bed.db, raise_server_exceptions=False)
    headers = bed.headers("civil", "social.assistance")
    codes = [strict.post(f"{NP}/verify", json=body, headers=headers).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_lookups_are_metered_by_the_keys_asked_and_audited_with_every_key_tried(bed):
    grant(bed.db, TAX, "natural_person", purposes=("tax.audit",), unmasked=("citizen_id",), per_minute=5)
    present = [p["citizen_id"] for p in bed.persons[:2]]
    asked = [*present, a_missing_id(bed)]
    first = bed.post("tax", f"{NP}/lookup", {"keys": asked}, purpose="tax.audit")
    assert first.status_code == 200 and first.json()["not_found"] == asked[2:]
    over = bed.post("tax", f"{NP}/lookup", {"keys": [*present, bed.persons[2]["citizen_id"]]}, purpose="tax.audit")
    assert over.status_code == 429 and over.json()["code"] == "access.rate_limited"
    assert bed.post("tax", f"{NP}/lookup", {"keys": present}, purpose="tax.audit").status_code == 200  # 5 of 5
    bed.flush()
    events = [
        e
        for e in bed.get("admin", "/audit", purpose=None, department=TAX).json()["items"]
        if e["action"] == "read:lookup"
    ]
    oldest = events[-1]
    assert oldest["detail"]["asked"] == asked and oldest["keys"] == present


def test_a_claim_that_can_be_read_off_the_key_is_refused(bed):
    """A birth date is digits 7–14 of the citizen ID: claiming it would answer match exactly when the key exists."""
    person = bed.persons[0]
    grant(bed.db, TAX, "natural_person", fields=("name", "birth_date"), purposes=("tax.audit",), kind="verify")
    key = person["citizen_id"]
    derived = f"{key[6:10]}-{key[10:12]}-{key[12:14]}"
    for candidate in (key, a_missing_id(bed)):
        refused = bed.post(
            "tax", f"{NP}/verify", {"key": candidate, "claims": {"birth_date": derived}}, purpose="tax.audit"
        )
        assert refused.status_code == 400 and refused.json()["code"] == "access.claim_derivable"
        assert refused.json()["fields"] == ["birth_date"]


def test_no_masked_identifier_keeps_characters_that_join_repositories(bed):
    """The hostile re-trial put names to masked credit subjects: the subject's masked ID kept its last 4 digits,
    the person listing showed names in clear beside IDs masked the same way, and last 4 + surname named each
    subject uniquely. A masked ID number keeps only its province now, so every person of the province masks
    alike and the join finds nobody."""
    for repository in ("natural_person", "credit_record", "e_license"):
        grant(bed.db, TAX, repository, purposes=("tax.audit",))  # every shareable field, sensitive ones masked
    people = bed.get("tax", f"{NP}/records", purpose="tax.audit", limit=100).json()["items"]
    credits = bed.get("tax", "/repositories/credit_record/records", purpose="tax.audit", limit=100).json()["items"]
    subjects = [c["data"] for c in credits if c["data"].get("subject_citizen_id")]
    assert people and subjects
    masked_ids = {p["data"]["citizen_id"] for p in people}
    assert masked_ids == {p["citizen_id"][:2] + "*" * 16 for p in bed.persons}  # the province only
    for subject in subjects:
        surname = subject["subject_name"][:1]
        by_mask = [p for p in people if p["data"]["citizen_id"] == subject["subject_citizen_id"]]
        by_surname = [p for p in people if p["data"]["name"][:1] == surname]
        assert [p for p in by_mask if p["data"]["name"][:1] == surname] == by_surname  # the ID narrows nothing
    licences = bed.get("tax", "/repositories/e_license/records", purpose="tax.audit", limit=100).json()["items"]
    for licence in licences:
        holder = licence["data"].get("holder_id")
        assert holder is None or set(holder[2:]) <= {"*"}, holder
