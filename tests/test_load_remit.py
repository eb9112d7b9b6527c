"""A department loads only under its own source systems and sees only its own load reports (issue 20), on each
backend: a table generated from the app's route table — every load and load-report route, API and console ×
{own department, other department} × every role (``admin`` is the steward) → the expected status — and the
hostile cases the issue names."""

from __future__ import annotations

import re
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api import samples
from api.app import create_app
from api.demo import SAMPLES
from api.demo_sharing import CIVIL, POLICE, prepare_sharing, register_departments
from loaders.pipeline import LoadOptions, load_file
from loaders.profiles import load_profile
from mdm.access.departments import add_department
from mdm.audit import find_events
from mdm.db import Database
from mdm.errors import LoadRefused, OwnerConflict
from mdm.keys import ROLES, Caller, issue_key
from mdm.models import Batch, GoldenRecord, SourceSystem
from mdm.settings import Settings
from tests.helpers import csv_file, profile, write_profile
from tests.served import another_client, client_for

OWNER, OTHER = "remit-owner", "remit-other"
SECRET = "秘密的原始行"  # the name in the rejected row: raw data only the loading department and stewards may see
ROWS = [
    "r1,苏州博物馆,,320508,2020-01-01,120.6285,31.3236",
    f"r2,{SECRET},,320508,2020-02-30,120.6271,31.3264",  # no such date: rejected, its raw row in the report
]
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
SOURCE = {"id": "remit-poi", "name": "remit test source", "department": OWNER}


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def world(module_db, tmp_path_factory, request):
    """Two departments, a key of each role for each, and one batch loaded by the owner's loader through the API
    (one row rejected, with its raw row)."""
    home = tmp_path_factory.mktemp("remit")
    write_profile(home / "profiles", "remit-poi", source_system=SOURCE)
    settings = Settings(
        database_url="sqlite://", report_dir=home / "loads", profile_path=str(home / "profiles"), indexer_interval=0
    )
    with module_db.write() as session:
        for department in (OWNER, OTHER):
            add_department(session, department_id=department, name=f"{department} 局")
    keys = {(d, r): issue_key(module_db, department=d, role=r).key for d in (OWNER, OTHER) for r in ROLES}
    app = create_app(settings, db=module_db)  # served (MDM_TEST_SERVED=1): its routes are the server's
    api = client_for(request, lambda: app, settings, module_db, raise_server_exceptions=False)
    response = post_load(api, keys[(OWNER, "loader")], home)
    assert response.status_code == 201, response.text
    assert response.json()["rejected"] == 1
    return {"app": app, "api": api, "keys": keys, "batch": response.json()["batch_id"], "home": home, "sessions": {}}


def post_load(api: TestClient, key: str, home, rows=ROWS, profile_name="remit-poi"):
    path = csv_file(home / f"{uuid.uuid4().hex}.csv", rows)
    with path.open("rb") as fh:
        return api.post(
            "/repositories/geo_feature/loads",
            headers=auth(key),
            data={"profile": profile_name},
            files={"file": ("a.csv", fh, "text/csv")},
        )


def console(world, department: str, role: str) -> TestClient:
    """A console client signed in with the key of ``role`` of ``department`` (one session per key)."""
    sessions = world["sessions"]
    if (department, role) not in sessions:
        c = another_client(world["api"], base_url="https://testserver", raise_server_exceptions=False)
        token = TOKEN.search(c.get("/console/login").text).group(1)
        signed = c.post(
            "/console/login",
            data={"api_key": world["keys"][(department, role)], "csrf_token": token},
            follow_redirects=False,
        )
        assert signed.status_code == 303, signed.text
        sessions[(department, role)] = c
    return sessions[(department, role)]


def app_routes(app):
    """Every route of ``app``, included routers flattened (FastAPI ≥ 0.165 includes them lazily)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: app.routes is flat
        return list(app.routes)
    return list(iter_route_contexts(app.routes))


def load_routes(app) -> list[tuple[str, str]]:
    """(method, path) of every route of the app about loads: the API's and the console's."""
    found = []
    for route in app_routes(app):
        path, methods = getattr(route, "path", None) or "", getattr(route, "methods", None) or set()
        if "/loads" in path:
            found.extend((method, path) for method in sorted(set(methods) - {"HEAD"}))
    return found


# how each path parameter is filled; a new route with another parameter fails the table until it is added here
PARAMETERS = {"repository": ["geo_feature"], "fmt": ["csv", "xlsx"]}


def urls(path: str, batch: str) -> list[str]:
    names = re.findall(r"{(\w+)}", path)
    filled = [path]
    for name in names:
        values = [batch] if name == "batch_id" else PARAMETERS[name]
        filled = [u.replace("{" + name + "}", v) for u in filled for v in values]
    return filled


def expected(method: str, path: str, department: str, role: str) -> tuple[int, str | None]:
    """The status (and code) a caller of ``role`` in ``department`` gets on a route about the owner's batch."""
    if role not in ("loader", "admin"):
        return 403, "auth.forbidden"
    own = department == OWNER or role == "admin"  # the steward acts for every department
    if method == "POST":
        return (201, None) if own else (403, "load.department_mismatch")
    if "{batch_id}" in path:
        return (200, None) if own else (404, "load.not_found")
    return 200, None  # a list: the other department's batches are left out of it (checked below)


def test_the_table_covers_every_load_route(world):
    routes = set(load_routes(world["app"]))
    assert {
        ("POST", "/repositories/{repository}/loads"),
        ("GET", "/loads/{batch_id}"),
        ("GET", "/console/loads"),
        ("GET", "/console/loads/{batch_id}"),
        ("GET", "/console/loads/{batch_id}/rejects.jsonl"),
        ("GET", "/console/loads/{batch_id}/rejects.{fmt}"),
        ("GET", "/console/loads/{batch_id}/reject-codes.{fmt}"),
    } <= routes
    assert all(method in ("GET", "POST") for method, _ in routes)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("department", [OWNER, OTHER], ids=["own-department", "other-department"])
def test_every_load_route_answers_each_department_and_role_as_the_rule_says(world, department, role):
    wrong = []
    for method, path in load_routes(world["app"]):
        want, code = expected(method, path, department, role)
        for url in urls(path, world["batch"]):
            if method == "POST":
                response = post_load(world["api"], world["keys"][(department, role)], world["home"])
            elif path.startswith("/console"):
                response = console(world, department, role).get(url)
            else:
                response = world["api"].get(url, headers=auth(world["keys"][(department, role)]))
            if response.status_code != want or (code and code not in response.text):
                wrong.append(f"{method} {url}: {response.status_code} (want {want} {code or ''})")
            elif want == 200 and url.endswith(".jsonl"):
                assert SECRET in response.text  # the raw row, to those who may see it
            elif want == 200 and url.endswith("rejects.csv"):
                assert "r2,date.invalid" in response.text
            elif want == 200 and "{batch_id}" in path and "reject" not in path:
                assert world["batch"][:8] in response.text
            if response.status_code != 200:
                assert SECRET not in response.text, f"{method} {url} shows another department's raw row"
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    "department, role, listed",
    [(OWNER, "loader", True), (OTHER, "loader", False), (OTHER, "admin", True), (OWNER, "admin", True)],
    ids=["own-loader", "other-loader", "steward-of-another-department", "steward"],
)
def test_the_batch_list_leaves_out_another_departments_batches(world, department, role, listed):
    page = console(world, department, role).get("/console/loads")
    assert page.status_code == 200
    assert (f'/console/loads/{world["batch"]}"' in page.text) is listed
    assert (SECRET in page.text) is False
    repositories = console(world, department, role).get("/console/repositories")
    assert ('href="/console/loads/' in repositories.text) is listed  # the last load's link


@pytest.mark.parametrize("route", ["/loads/{}", "/console/loads/{}/rejects.jsonl", "/console/loads/{}"])
def test_another_departments_batch_looks_exactly_like_a_missing_one(world, route):
    missing = str(uuid.uuid4())
    if route.startswith("/console"):
        c = console(world, OTHER, "loader")
        theirs, none = c.get(route.format(world["batch"])), c.get(route.format(missing))
    else:
        headers = auth(world["keys"][(OTHER, "loader")])
        theirs = world["api"].get(route.format(world["batch"]), headers=headers)
        none = world["api"].get(route.format(missing), headers=headers)
    assert theirs.status_code == none.status_code == 404
    assert theirs.text.replace(world["batch"], "ID") == none.text.replace(missing, "ID")


# --- the hostile case of the issue, on the demo's persons profile ---------------------------------------------


@pytest.fixture
def persons_api(db, tmp_path):
    """The demo's departments and 20 of its persons loaded by the operator; the demo's profiles on the path."""
    register_departments(db)
    people = list(samples.persons(20))
    load_file(
        db,
        load_profile(str(SAMPLES / "persons.yaml"), []),
        samples.write_csv(tmp_path / "persons.csv", people),
        options=LoadOptions(tmp_path / "loads"),
    )
    settings = Settings(
        database_url="sqlite://", report_dir=tmp_path / "loads", profile_path=str(SAMPLES), indexer_interval=0
    )
    client = client_for(None, lambda: create_app(settings, db=db), settings, db, raise_server_exceptions=False)
    return client, people, tmp_path


def post_persons(client, key, tmp_path, rows):
    path = samples.write_csv(tmp_path / f"{uuid.uuid4().hex}.csv", rows)
    with path.open("rb") as fh:
        return client.post(
            "/repositories/natural_person/loads",
            headers=auth(key),
            data={"profile": "persons"},
            files={"file": ("p.csv", fh, "text/csv")},
        )


def stored(db, citizen_id: str) -> tuple[int, dict, int]:
    with db.read() as session:
        record = session.execute(
            select(GoldenRecord).where(
                GoldenRecord.repository == "natural_person", GoldenRecord.business_key == citizen_id
            )
        ).scalar_one()
        batches = session.execute(select(func.count()).select_from(Batch)).scalar_one()
        return record.version, dict(record.data), batches


def test_a_loader_of_a_department_that_owns_nothing_cannot_change_the_police_bureaus_persons(db, persons_api):
    client, people, tmp_path = persons_api
    hostile = issue_key(db, department="空壳局（测试）", role="loader", register=True).key
    changed = {**people[0], "phone": "13900000000", "record_status": "cancelled"}
    before = stored(db, people[0]["citizen_id"])
    reports = set((tmp_path / "loads").iterdir())
    response = post_persons(client, hostile, tmp_path, [changed])
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "load.department_mismatch"
    assert stored(db, people[0]["citizen_id"]) == before  # no version, no batch row
    assert set((tmp_path / "loads").iterdir()) == reports  # no report either


def test_the_owner_loads_its_persons_and_a_steward_loads_them_on_its_behalf_audited_as_such(db, persons_api):
    client, people, tmp_path = persons_api
    police = issue_key(db, department=POLICE, role="loader").key
    steward = issue_key(db, department="bigdata", role="admin").key
    own = post_persons(client, police, tmp_path, [{**people[0], "phone": "13900000001"}])
    assert own.status_code == 201, own.text
    on_behalf = post_persons(client, steward, tmp_path, [{**people[0], "phone": "13900000002"}])
    assert on_behalf.status_code == 201, on_behalf.text
    version, data, _ = stored(db, people[0]["citizen_id"])
    assert (version, data["phone"]) == (3, "13900000002")
    with db.read() as session:
        first = session.get(Batch, own.json()["batch_id"])
        second = session.get(Batch, on_behalf.json()["batch_id"])
        assert (first.department_id, first.loaded_by) == (POLICE, POLICE)
        assert (second.department_id, second.loaded_by) == (POLICE, "bigdata")
        assert session.get(SourceSystem, "demo-household").department_id == POLICE
        events = [e for e in find_events(session, department="bigdata") if e["action"] == "load:commit"]
    assert events and events[0]["target"] == second.id
    assert {"department": POLICE, "loaded_by": "bigdata", "on_behalf": True}.items() <= events[0]["detail"].items()
    # the police bureau sees the report of the steward's load on its behalf; 税务局's loader does not
    assert client.get(f"/loads/{second.id}", headers=auth(police)).status_code == 200
    tax = issue_key(db, department="11990000MB0000040N", role="loader").key
    assert client.get(f"/loads/{second.id}", headers=auth(tax)).json()["code"] == "load.not_found"


def test_a_record_page_links_a_fields_batch_only_for_those_who_may_see_its_report(db, persons_api):
    client, people, _ = persons_api
    prepare_sharing(db)  # purposes and 民政局's grant for persons
    c = another_client(client, base_url="https://testserver")
    page = f"/console/repositories/natural_person/records/{people[0]['citizen_id']}"
    shown = {}
    for department in (CIVIL, POLICE):
        key = issue_key(db, department=department, role="loader").key
        c.cookies.clear()
        token = TOKEN.search(c.get("/console/login").text).group(1)
        assert c.post("/console/login", data={"api_key": key, "csrf_token": token}).status_code == 200
        csrf = TOKEN.search(c.get("/console/repositories").text).group(1)
        c.post("/console/purpose", data={"csrf_token": csrf, "purpose": "social.assistance"})
        response = c.get(page)
        assert response.status_code == 200, response.text
        shown[department] = 'href="/console/loads/' in response.text
    assert shown == {CIVIL: False, POLICE: True}  # the batch is 公安局's


# --- ownership ---------------------------------------------------------------------------------------------------


def _load(db, tmp_path, prof, actor):
    path = csv_file(tmp_path / f"{uuid.uuid4().hex}.csv", ROWS[:1])
    return load_file(db, prof, path, options=LoadOptions(tmp_path / "loads"), actor=actor)


def _departments(db, *ids):
    with db.write() as session:
        for department in ids:
            add_department(session, department_id=department, name=f"{department} 局")


def test_a_second_profile_cannot_take_over_another_departments_source_system(db, tmp_path):
    _departments(db, OWNER, OTHER)
    _load(db, tmp_path, profile(source_system=SOURCE), None)
    takeover = profile("takeover", source_system={**SOURCE, "department": OTHER})
    with pytest.raises(OwnerConflict) as steward:
        _load(db, tmp_path, takeover, None)
    assert steward.value.code == "load.owner_conflict" and steward.value.status == 409
    with pytest.raises(LoadRefused) as loader:
        _load(db, tmp_path, takeover, Caller(OTHER, "loader", "test"))
    assert loader.value.code == "load.department_mismatch"
    with db.read() as session:
        assert session.get(SourceSystem, "remit-poi").department_id == OWNER
        assert session.execute(select(func.count()).select_from(Batch)).scalar_one() == 1


def test_a_source_system_without_a_registered_owner_is_loaded_by_stewards_only(db, tmp_path):
    _departments(db, OWNER)
    ownerless = profile(source_system={"id": "remit-poi", "name": "no owner"})
    unregistered = profile(source_system={**SOURCE, "department": "remit-nobody"})
    for prof in (ownerless, unregistered):
        with pytest.raises(LoadRefused):
            _load(db, tmp_path, prof, Caller(OWNER, "loader", "test"))
    assert _load(db, tmp_path, unregistered, Caller(OWNER, "admin", "test")).status == "committed"
    with pytest.raises(LoadRefused):  # the department it names is still not registered: nobody's but stewards'
        _load(db, tmp_path, unregistered, Caller(OWNER, "loader", "test"))
    # an owner that is not registered owns nothing: the right profile replaces it
    assert _load(db, tmp_path, profile(source_system=SOURCE), Caller(OWNER, "loader", "test")).status == "committed"
    with db.read() as session:
        assert session.get(SourceSystem, "remit-poi").department_id == OWNER


def test_mdm_load_runs_as_a_steward_or_as_the_department_it_names(tmp_path, monkeypatch):
    """The command on the embedded database (it reads its database from the environment; the rule underneath is
    the one tested above on both backends)."""
    from typer.testing import CliRunner

    from api.cli import EXIT, app
    from mdm.settings import get_settings

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    db = Database(url)
    monkeypatch.setenv("MDM_DATABASE_URL", url)
    monkeypatch.setenv("MDM_REPORT_DIR", str(tmp_path / "loads"))
    monkeypatch.setenv("MDM_PROFILE_PATH", str(tmp_path / "profiles"))
    get_settings.cache_clear()
    _departments(db, OWNER, OTHER)
    write_profile(tmp_path / "profiles", "remit-poi", source_system=SOURCE)
    data = str(csv_file(tmp_path / "a.csv", ROWS[:1]))
    runner = CliRunner()
    try:
        refused = runner.invoke(app, ["load", "--profile", "remit-poi", "--department", OTHER, data])
        assert refused.exit_code == EXIT["usage"] and "load.department_mismatch" in refused.output
        assert runner.invoke(app, ["load", "--profile", "remit-poi", "--department", OWNER, data]).exit_code == 0
        assert runner.invoke(app, ["load", "--profile", "remit-poi", data]).exit_code == 0  # the operator: a steward
    finally:
        get_settings.cache_clear()
    with db.read() as session:
        rows = session.execute(select(Batch.department_id, Batch.loaded_by).order_by(Batch.started_at)).all()
    db.dispose()
    assert [tuple(r) for r in rows] == [(OWNER, OWNER), (OWNER, None)]
