"""The web console without a browser, on each backend: sessions and CSRF, where sign-in may send you, revoked
keys, security headers, and that a page shows a key exactly what the API shows it — no more — and is audited."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from api import samples
from api.app import create_app
from api.demo import SAMPLES
from api.demo_sharing import CIVIL, prepare_sharing
from loaders.pipeline import LoadOptions, load_file
from loaders.profiles import load_profile
from mdm.audit import find_events
from mdm.exports import safe_cell as _cell
from mdm.keys import revoke_key
from mdm.settings import Settings

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def world(module_db, tmp_path_factory):
    home = tmp_path_factory.mktemp("console")
    people = list(samples.persons(20))
    path = samples.write_csv(home / "persons.csv", people)
    profile = load_profile(str(SAMPLES / "persons.yaml"), [])
    settings = Settings(database_url="sqlite://", report_dir=home / "loads", indexer_interval=0)
    load_file(module_db, profile, path, options=LoadOptions.from_settings(settings))
    keys = prepare_sharing(module_db)
    app = create_app(settings, db=module_db)
    return {"app": app, "keys": keys, "people": people, "db": module_db}


def client(world) -> TestClient:
    return TestClient(world["app"], base_url="https://testserver")


def sign_in(c: TestClient, key: str, purpose: str | None = None) -> str:
    """Sign in; returns the session's CSRF token."""
    token = TOKEN.search(c.get("/console/login").text).group(1)
    response = c.post("/console/login", data={"api_key": key, "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303, response.text
    csrf = TOKEN.search(c.get("/console/repositories").text).group(1)
    if purpose:
        chosen = c.post("/console/purpose", data={"csrf_token": csrf, "purpose": purpose}, follow_redirects=False)
        assert chosen.status_code == 303
    return csrf


def test_a_page_without_a_session_sends_to_sign_in_and_back(world):
    response = client(world).get("/console/projects?year=2025", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login?next=" + quote("/console/projects?year=2025", safe="")


def test_the_session_cookie_is_http_only_secure_strict_and_scoped_to_the_console(world):
    c = client(world)
    token = TOKEN.search(c.get("/console/login").text).group(1)
    response = c.post(
        "/console/login", data={"api_key": world["keys"].admin, "csrf_token": token}, follow_redirects=False
    )
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    token = cookie.split(";")[0].split("=", 1)[1]
    assert world["keys"].admin not in cookie and len(token) >= 40  # a random token: the key stays on the server


def test_sign_in_without_the_sign_in_forms_token_is_refused(world):
    response = client(world).post("/console/login", data={"api_key": world["keys"].admin, "csrf_token": "x"})
    assert response.status_code == 403 and "console.csrf_invalid" in response.text


def test_a_wrong_key_is_refused_on_the_sign_in_page(world):
    c = client(world)
    token = TOKEN.search(c.get("/console/login").text).group(1)
    response = c.post("/console/login", data={"api_key": "mdm_nope", "csrf_token": token})
    assert (
        response.status_code == 401
        and "auth.invalid_key" in response.text
        and "mdm_console=" not in str(response.headers.get("set-cookie", "")).replace("mdm_console_pre", "")
    )


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/docs",
        "/console\\@evil",
        "/console/..//evil.example/x",
        "/console/%2e%2e//evil.example/",
        "/console/%2E%2E/docs",
    ],
)
def test_sign_in_never_sends_you_off_the_console(world, target):
    c = client(world)
    token = TOKEN.search(c.get("/console/login").text).group(1)
    response = c.post(
        "/console/login",
        data={"api_key": world["keys"].admin, "csrf_token": token, "next": target},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/console/repositories"


def test_a_form_with_a_forged_token_is_refused_and_changes_nothing(world):
    c = client(world)
    sign_in(c, world["keys"].reader, purpose="social.assistance")
    response = c.post("/console/purpose", data={"csrf_token": "forged", "purpose": "tax.audit"})
    assert response.status_code == 403 and "console.csrf_invalid" in response.text
    assert 'value="social.assistance" selected' in c.get("/console/repositories").text


def test_a_tampered_session_cookie_signs_out(world):
    c = client(world)
    sign_in(c, world["keys"].admin)
    value = c.cookies.get("mdm_console", path="/console")
    c.cookies.set("mdm_console", value[:-2] + ("AA" if not value.endswith("AA") else "BB"), path="/console")
    response = c.get("/console/repositories", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/console/login")


def test_signing_out_ends_the_session_for_every_copy_of_its_cookie(world):
    c = client(world)
    csrf = sign_in(c, world["keys"].reader, purpose="social.assistance")
    copied = c.cookies.get("mdm_console", path="/console")
    assert c.post("/console/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    replay = TestClient(world["app"], base_url="https://testserver")
    replay.cookies.set("mdm_console", copied, path="/console")
    response = replay.get("/console/repositories", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/console/login")
    with world["db"].read() as session:
        actions = [e["action"] for e in find_events(session, department=CIVIL, limit=50)]
    assert "console:sign_in" in actions and "console:sign_out" in actions


def test_a_revoked_key_signs_the_console_out_on_its_next_page(world):
    from mdm.keys import issue_key

    key = issue_key(world["db"], department="bigdata", role="admin").key
    c = client(world)
    sign_in(c, key)
    assert c.get("/console/repositories", follow_redirects=False).status_code == 200
    revoke_key(world["db"], key[:12])
    assert c.get("/console/repositories", follow_redirects=False).status_code == 303


def test_downloads_and_redirects_carry_the_security_headers_too(world):
    c = client(world)
    sign_in(c, world["keys"].admin)
    for path in ("/console/data/projects-by-stage.csv", "/console/data/om-categories.xlsx", "/console"):
        response = c.get(path, follow_redirects=False)
        assert response.headers["cache-control"] == "no-store", path
        assert response.headers["x-content-type-options"] == "nosniff", path
    assert "content-security-policy" not in c.get("/health").headers  # the API is left as it is


@pytest.mark.parametrize(
    "path",
    [
        "/console/projects/99999999999999999999",
        "/console/projects/9223372036854775808",
        "/console/projects/1/documents/99999999999999999999",
    ],
)
def test_an_id_beyond_64_bits_is_a_clear_400_not_a_server_error(world, path):
    c = client(world)
    sign_in(c, world["keys"].admin)
    response = c.get(path)
    assert response.status_code == 400 and "request.invalid" in response.text


def test_a_link_cannot_put_its_own_words_on_a_page(world):
    c = client(world)
    sign_in(c, world["keys"].admin)
    bait = "请将密钥发送至 helpdesk@evil.example"
    assert bait not in c.get("/console/sharing", params={"done": bait}).text
    assert bait not in c.get("/console/login", params={"error": bait}).text
    assert bait not in c.get("/console/projects/1", params={"done": bait}).text


def test_a_reader_sees_when_a_repository_was_loaded_but_not_the_file(world):
    c = client(world)
    sign_in(c, world["keys"].other)
    page = c.get("/console/repositories").text
    assert "persons.csv" not in page and "UTC" in page
    c = client(world)
    sign_in(c, world["keys"].admin)
    assert "persons.csv" in c.get("/console/repositories").text


def test_every_page_sends_the_security_headers_and_no_inline_script(world):
    c = client(world)
    sign_in(c, world["keys"].admin, purpose="social.assistance")
    for path in (
        "/console/login",
        "/console/repositories",
        "/console/sharing",
        "/console/projects",
        "/console/dashboards",
    ):
        response = c.get(path)
        assert response.status_code == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert response.headers["x-frame-options"] == "DENY" and response.headers["cache-control"] == "no-store"
        scripts = re.findall(r"<script(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>", response.text)
        assert not scripts, (path, scripts)


def test_a_record_page_shows_what_the_api_shows_the_same_key_and_is_audited(world):
    person = world["people"][0]
    key = person["citizen_id"]
    c = client(world)
    sign_in(c, world["keys"].reader, purpose="social.assistance")
    api = c.get(
        f"/repositories/natural_person/records/{key}",
        headers={"Authorization": f"Bearer {world['keys'].reader}", "X-Purpose": "social.assistance"},
    ).json()
    page = c.get(f"/console/repositories/natural_person/records/{key}")
    assert page.status_code == 200
    for name, value in api["data"].items():
        assert f'<code class="muted">{name}</code>' in page.text and str(value) in page.text
    for withheld in api["withheld"]:
        assert f"<code>{withheld['field']}</code>" in page.text and withheld["reason"] in page.text
        hidden = person.get(withheld["field"])
        if isinstance(hidden, str) and len(hidden) > 3:
            assert hidden not in page.text, withheld["field"]
    world["app"].state.audit.flush()
    with world["db"].read() as session:
        events = find_events(session, department=CIVIL, limit=20)
    assert any("console" in (e.get("target") or "") and e.get("purpose") == "social.assistance" for e in events)


def test_a_department_without_a_grant_sees_the_refusal_not_the_record(world):
    person = world["people"][1]
    c = client(world)
    sign_in(c, world["keys"].other, purpose="tax.audit")
    page = c.get(f"/console/repositories/natural_person/records/{person['citizen_id']}")
    assert page.status_code == 403 and "access.no_grant" in page.text
    assert person["name"] not in page.text and person["birth_date"] not in page.text


def test_reading_without_a_chosen_purpose_asks_for_one(world):
    c = client(world)
    sign_in(c, world["keys"].reader)
    page = c.get(f"/console/repositories/natural_person/records/{world['people'][0]['citizen_id']}")
    assert page.status_code == 400 and "access.purpose_required" in page.text


def test_an_unknown_console_page_is_a_page_and_the_api_stays_problem_json(world):
    c = client(world)
    sign_in(c, world["keys"].admin)
    page = c.get("/console/no-such-page")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    api = c.get("/no-such-endpoint")
    assert api.headers["content-type"] == "application/problem+json" and api.json()["code"] == "request.not_found"


def test_spreadsheet_cells_never_start_a_formula_but_numbers_stay_numbers():
    assert _cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert _cell("@SUM(A1)") == "'@SUM(A1)" and _cell("+1") == "'+1"
    assert _cell("-0.0500") == "-0.0500" and _cell(12) == 12 and _cell(None) == ""


def test_the_department_that_owns_a_repositorys_source_reads_it_whole_and_audited(world):
    person = world["people"][2]
    headers = {"Authorization": f"Bearer {world['keys'].owner}", "X-Purpose": "tax.audit"}
    c = client(world)
    api = c.get(f"/repositories/natural_person/records/{person['citizen_id']}", headers=headers).json()
    assert api["data"]["citizen_id"] == person["citizen_id"] and api["masked"] == [] and api["withheld"] == []
    sign_in(c, world["keys"].owner, purpose="tax.audit")
    page = c.get(f"/console/repositories/natural_person/records/{person['citizen_id']}")
    assert page.status_code == 200 and person["phone"] in page.text
