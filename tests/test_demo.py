"""``mdm demo``'s preparation: the embedded database with the built-in sample, safe to run twice."""

from fastapi.testclient import TestClient

from api.app import create_app
from api.demo import prepare_demo


def test_the_demo_loads_the_sample_and_running_it_again_is_safe(settings):
    key = prepare_demo(settings)
    again = prepare_demo(settings)
    assert key != again
    client = TestClient(create_app(settings))
    assert client.get("/repositories").status_code == 401
    items = client.get("/repositories", headers={"Authorization": f"Bearer {again}"}).json()["items"]
    counts = {i["id"]: i["count"] for i in items}
    assert counts == {
        "natural_person": 1000,
        "legal_entity": 300,
        "geo_feature": 12,
        "credit_record": 300,
        "e_license": 500,
    }
    found = client.get(
        "/repositories/geo_feature/records",
        params={"contains": "120.62,31.30"},
        headers={"Authorization": f"Bearer {key}"},
    ).json()
    assert [r["key"] for r in found["items"]] == ["320500", "320508"]
    assert found["items"][1]["provenance"]["geometry"]["source"] == "demo-synthetic"


def test_a_reader_sees_demo_persons_masked(settings):
    from mdm.db import Database
    from mdm.keys import create_key

    prepare_demo(settings)
    reader = create_key(Database(settings.database_url), department="统计局", role="reader")
    client = TestClient(create_app(settings))
    page = client.get(
        "/repositories/natural_person/records", params={"limit": 1}, headers={"Authorization": f"Bearer {reader}"}
    ).json()
    person = page["items"][0]
    assert person["masked"] == ["citizen_id", "phone", "residence_address"]
    assert person["data"]["citizen_id"].startswith("990") and "*" in person["data"]["citizen_id"]
    assert person["key"] == person["data"]["citizen_id"]  # a sensitive business key is masked like its field
