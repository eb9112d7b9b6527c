"""``mdm demo``'s preparation: the embedded database with the built-in sample, safe to run twice."""

from fastapi.testclient import TestClient

from api.app import create_app
from api.demo import prepare_demo


def test_the_demo_loads_the_sample_and_running_it_again_is_safe(settings):
    key = prepare_demo(settings).admin
    again = prepare_demo(settings).admin
    assert key != again
    client = TestClient(create_app(settings))
    assert client.get("/repositories").status_code == 401
    items = client.get("/repositories", headers={"Authorization": f"Bearer {again}"}).json()["items"]
    counts = {i["id"]: i["count"] for i in items}
    assert counts == {
        "natural_person": 1000,
        "legal_entity": 310,  # 300 companies and the ten government bodies
        "geo_feature": 12,
        "credit_record": 300,
        "e_license": 500,
    }
    found = client.get(
        "/repositories/geo_feature/records",
        params={"contains": "120.62,31.30"},
        headers={"Authorization": f"Bearer {key}", "X-Purpose": "review.credit"},
    ).json()
    assert [r["key"] for r in found["items"]] == ["320500", "320508"]
    assert found["items"][1]["provenance"]["geometry"]["source"] == "demo-synthetic"


def test_the_demo_reader_sees_what_its_grant_gives_and_the_other_department_does_not(settings):
    keys = prepare_demo(settings)
    client = TestClient(create_app(settings))

    def read(key, repository, purpose, **params):
        headers = {"Authorization": f"Bearer {key}", "X-Purpose": purpose}
        return client.get(f"/repositories/{repository}/records", params={"limit": 1, **params}, headers=headers)

    person = read(keys.reader, "natural_person", "social.assistance").json()["items"][0]
    assert person["data"]["citizen_id"].startswith("990") and "*" not in person["data"]["citizen_id"]  # unmasked
    assert person["key"] == person["data"]["citizen_id"] and "birth_date" in person["data"]
    assert {"field": "phone", "reason": "access.no_grant", "reveals": None} in person["withheld"]
    assert read(keys.other, "natural_person", "tax.audit").json()["code"] == "access.no_grant"
    assert read(keys.reader, "natural_person", "tax.audit").json()["code"] == "access.no_grant"
    credit = read(keys.reader, "credit_record", "social.assistance", subject_type="natural_person").json()["items"]
    plain = read(keys.other, "credit_record", "tax.audit", subject_type="natural_person").json()["items"]
    assert credit[0]["key"] == plain[0]["key"]
    assert "*" in credit[0]["data"]["subject_name"] and "subject_name" not in plain[0]["data"]
    assert {"field": "subject_name", "reason": "access.no_grant", "reveals": None} in plain[0]["withheld"]


def test_the_demo_prints_the_tour_and_the_keys(settings):
    import io

    from rich.console import Console

    out = io.StringIO()
    prepare_demo(settings, console=Console(file=out, width=400))
    text = out.getvalue()
    assert "民政局, grant for social.assistance" in text and "access.no_grant" in text and "no_match" in text
