"""Every read route of the OpenAPI document, walked with a key whose department holds no grant: no conditional
value comes back unmasked — in records, errors, history, as_of, lookup, search hits, cursors or headers (issue 9).
A route the walk does not know fails the test, so a new route cannot slip past it."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest

from standards import default_registry
from tests.sharing_env import make_bed

REGISTRY = default_registry()
WRITES = {
    ("post", "/repositories/{repository}/loads"),
    ("post", "/departments"),
    ("put", "/repositories/{repository}/owner"),
    ("post", "/purposes"),
    ("post", "/grants"),
    ("post", "/grants/{grant_id}/revoke"),
    ("post", "/sharing-requests"),
    ("post", "/sharing-requests/{request_id}/approve"),
    ("post", "/sharing-requests/{request_id}/reject"),
}


@pytest.fixture
def bed(db, tmp_path):
    return make_bed(db, tmp_path)


def _records(bed):
    return {
        "natural_person": bed.persons,
        "legal_entity": bed.companies,
        "credit_record": bed.credits,
        "e_license": bed.licences,
    }


def secrets(bed) -> set[str]:
    """Every conditional or sensitive value as stored (≥ 4 characters, and not also a value of an unconditional,
    non-sensitive field somewhere), plus the hidden middle of every ID number (what its mask stars out)."""
    hidden: set[str] = set()
    public: set[str] = set()
    for repository, rows in _records(bed).items():
        standard = REGISTRY.get(repository)
        for row in rows:
            for name, value in row.items():
                rule = standard.fields.get(name)
                if rule is None or not isinstance(value, str) or len(value) < 4:
                    continue
                if rule.share == "conditional" or rule.sensitivity == "sensitive":
                    hidden.add(value)
                    if rule.mask == "id_number":
                        hidden.add(value[3:-4])
                    if name == "birth_date":
                        hidden.add(value.replace("-", ""))
                else:
                    public.add(value)
    standards = json.dumps([REGISTRY.get(r).schema for r in REGISTRY.repositories], ensure_ascii=False)
    return {s for s in hidden - public if not any(s in p for p in public) and s not in standards}


def calls(bed, path: str, method: str, repository: str, key: str):
    """The requests to make for one route of one repository: (method, url, params, body)."""
    url = path.replace("{repository}", repository).replace("{key}", key)
    now = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
    if (method, path) == ("post", "/repositories/{repository}/lookup"):
        return [(method, url, {}, {"keys": [key, "missing-key"]})]
    if (method, path) == ("post", "/repositories/{repository}/verify"):
        fields = list(REGISTRY.get(repository).fields)
        return [(method, url, {}, {"key": key, "claims": {f: "x" for f in fields[:3]}})]
    if path == "/repositories/{repository}/records/{key}":
        return [(method, url, {}, None), (method, url, {"as_of": now}, None)]
    if path == "/repositories/{repository}/records":
        standard = REGISTRY.get(repository)
        field = standard.business_key[0]
        return [(method, url, {"limit": 2}, None), (method, url, {field: key}, None)]
    if path == "/repositories/{repository}/search":
        return [(method, url, {"q": key[:6]}, None), (method, url, {"q": "示例"}, None), (method, url, {}, None)]
    if path == "/audit":
        return [(method, url, {"repository": repository}, None)]
    return [(method, url, {}, None)]


def scan(response, sent: list[str], hidden: set[str]) -> list[str]:
    text = response.text + str(dict(response.headers))
    body = response.json() if response.headers.get("content-type", "").endswith("json") else {}
    cursor = body.get("next_cursor") if isinstance(body, dict) else None
    if cursor:
        text += base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8", "replace")
    for value in sorted(sent, key=len, reverse=True):
        text = text.replace(value, "")  # what the caller sent itself is no disclosure
    return sorted(s for s in hidden if s in text)


def test_no_read_route_shows_a_conditional_value_to_a_department_without_grants(bed):
    hidden = secrets(bed)
    assert len(hidden) > 50  # the walk has something to find
    document = bed.client.get("/openapi.json").json()
    walked = 0
    for path, operations in document["paths"].items():
        for method in operations:
            if (method, path) in WRITES or path == "/health":
                continue
            if path.startswith("/projects") and method != "get":
                continue  # the project domain's writes (its reads are walked)
            assert method in ("get", "post"), f"unknown {method.upper()} {path}: add it to the walk"
            assert method == "get" or path.endswith(("/lookup", "/verify")), f"unknown POST {path}"
            for repository, rows in _records(bed).items():
                key = REGISTRY.get(repository).key_of(rows[0])
                for verb, url, params, body in calls(bed, path, method, repository, key):
                    headers = bed.headers("tax", "tax.audit")
                    response = bed.client.request(verb.upper(), url, params=params, json=body, headers=headers)
                    assert response.status_code < 500, (url, response.text)
                    sent = [key, *map(str, params.values())]
                    assert scan(response, sent, hidden) == [], (verb, url, params, response.text[:500])
                    if response.status_code == 200 and response.json().get("next_cursor"):
                        following = bed.client.get(
                            url, params={**params, "cursor": response.json()["next_cursor"]}, headers=headers
                        )
                        assert scan(following, sent, hidden) == [], (url, "cursor", following.text[:500])
                    walked += 1
    assert walked >= 60


def test_the_walk_would_see_a_leak(bed):
    # the same scan against a steward's view finds the values: the test above can fail
    hidden = secrets(bed)
    person = bed.persons[0]["citizen_id"]
    response = bed.client.get(
        f"/repositories/natural_person/records/{person}", headers=bed.headers("admin", "tax.audit")
    )
    assert scan(response, [person], hidden)
