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
    geo = next(i for i in items if i["id"] == "geo_feature")
    assert geo["count"] == 12
    found = client.get(
        "/repositories/geo_feature/records",
        params={"contains": "120.62,31.30"},
        headers={"Authorization": f"Bearer {key}"},
    ).json()
    assert [r["key"] for r in found["items"]] == ["320500", "320508"]
    assert found["items"][1]["provenance"]["geometry"]["source"] == "demo-synthetic"
