"""The API docs work on a closed network: their pages name no external host and every asset they load is
served by the application itself."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from mdm.settings import Settings


class Links(HTMLParser):
    """Every src and href in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    path = tmp_path_factory.mktemp("docs") / "mdm.db"
    return TestClient(create_app(Settings(database_url=f"sqlite:///{path}")))


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_pages_name_no_external_host_and_their_assets_are_served(client, page):
    html = client.get(page)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html.text, re.I), "the page names an external host"
    links = Links()
    links.feed(html.text)
    assert links.urls, "the page loads no assets"
    assert any(url.endswith(".js") for url in links.urls)
    for url in links.urls:
        assert url.startswith("/") and not url.startswith("//"), url
        asset = client.get(url)
        assert asset.status_code == 200 and len(asset.content) > 1000, url
    assert client.get("/openapi.json").status_code == 200


def test_swagger_ui_is_told_not_to_call_the_public_validator(client):
    assert '"validatorUrl": null' in client.get("/docs").text


def test_the_docs_assets_are_not_in_the_openapi_document(client):
    assert not [path for path in client.get("/openapi.json").json()["paths"] if path.startswith("/docs")]
