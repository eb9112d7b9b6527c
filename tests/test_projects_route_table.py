"""The route × department × role table of projects (issue 20): every ``/projects`` route of the application — read
from ``app.routes``, so a new route without a row here fails the test — called by every role, on a project of the
key's own department, of another department, and on an id that does not exist, answers the status the table
expects. Another department's project answers exactly as a missing id for every key that does not see it (ids are
no oracle). On each backend.

All keys of the table belong to ``entities[0]``'s department: "own" is a project that department declared,
"other" one of ``entities[1]``'s department. The reviewing bureaus' roles and admin see both; declarer, reader
and loader only their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.routing import APIRoute

from mdm.keys import ROLES, create_key
from mdm.projects.rules import REVIEWING_ROLES
from tests.projects_world import FP, declare_body, make_world

SEES_ALL = {"admin", *REVIEWING_ROLES}
WHERE = ("own", "other", "missing")
MISSING_ID = 987_654_321


@dataclass(frozen=True)
class Row:
    """What one route expects: ``stage`` of the project in its path (None: no project in the path), the roles
    that succeed (with ``ok``) where they see the project, whether the route checks the role before it looks the
    project up (then a role without the step gets 403 even for an unseen or missing project), and the request."""

    allowed: frozenset[str]
    request: Callable[[Any, dict[str, Any], str, str], dict[str, Any]]
    stage: str | None = None
    ok: int = 200
    role_first: bool = False
    fresh: bool = False  # a success changes the project's stage: each successful cell gets a project of its own


EVERYONE = frozenset(ROLES)


def _json(body: dict[str, Any]) -> Callable[..., dict[str, Any]]:
    return lambda table, project, role, where: {"json": body}


def _none(table, project, role, where):
    return {}


def _created(table, project, role, where):
    uscc = table.world.entities[0 if where == "own" else 1]["uscc"]
    return {"json": declare_body(table.world, name=f"表测试{role}{where}", department_uscc=uscc)}


def _document(table, project, role, where):
    return {"data": {"doc_type": "proposal"}, "files": {"file": ("p.pdf", b"%PDF-1.4 t", "application/pdf")}}


def _payment(table, project, role, where):
    pid = table.projects[where]["procuring"]["id"] if where != "missing" else MISSING_ID
    text = f"voucher_no,project_id,paid_on,amount_wan\nV-{role}-{where},{pid},2025-06-01,0.01\n"
    return {"files": {"file": ("pay.csv", text.encode(), "text/csv")}}


TABLE: dict[tuple[str, str], Row] = {
    ("GET", "/projects"): Row(EVERYONE, _none),
    ("POST", "/projects"): Row(frozenset({"declarer", "admin"}), _created, ok=201),
    ("GET", "/projects/dictionary"): Row(EVERYONE, _none),
    ("GET", "/projects/om-statistics"): Row(EVERYONE, _none),
    ("GET", "/projects/statistics"): Row(EVERYONE, _none),
    ("GET", "/projects/cost-standards"): Row(EVERYONE, _none),
    ("GET", "/projects/cost-standards/{version}"): Row(EVERYONE, _none),
    ("POST", "/projects/software-cost"): Row(EVERYONE, _json({"function_points": FP})),
    ("GET", "/projects/vendors/{uscc}/credit"): Row(EVERYONE, _none),
    ("GET", "/projects/budget-lines"): Row(frozenset({"finance_approver", "finance_reviewer", "admin"}), _none),
    ("POST", "/projects/payments"): Row(frozenset({"finance_approver", "admin"}), _payment),
    ("GET", "/projects/{project_id}"): Row(EVERYONE, _none, stage="draft"),
    ("GET", "/projects/{project_id}/duplicates"): Row(EVERYONE, _none, stage="declared"),
    ("GET", "/projects/{project_id}/documents"): Row(EVERYONE, _none, stage="draft"),
    ("GET", "/projects/{project_id}/documents/{document_id}"): Row(EVERYONE, _none, stage="draft"),
    ("POST", "/projects/{project_id}/documents"): Row(
        frozenset({"declarer", "admin"}), _document, stage="draft", ok=201, role_first=True
    ),
    ("POST", "/projects/{project_id}/transitions"): Row(
        frozenset({"declarer", "admin"}),
        _json({"to": "declared", "not_duplicate_statement": "路由表测试"}),
        stage="draft",
        fresh=True,
    ),
    ("POST", "/projects/{project_id}/evaluations"): Row(
        frozenset({"finance_reviewer", "admin"}),
        _json({"kind": "hardware", "amount_wan": "10.00"}),
        stage="declared",
        ok=201,
        role_first=True,
    ),
    ("POST", "/projects/{project_id}/plan-control"): Row(
        frozenset({"plan_control", "admin"}), _json({}), stage="declared", role_first=True
    ),
    ("POST", "/projects/{project_id}/budget-control"): Row(
        frozenset({"finance_approver", "admin"}), _json({"amount_wan": "1.00"}), stage="evaluated", role_first=True
    ),
    ("POST", "/projects/{project_id}/vendors"): Row(
        frozenset({"declarer", "admin"}), _json({"role": "contractor"}), stage="procuring", ok=201, role_first=True
    ),
    ("GET", "/projects/{project_id}/om-review"): Row(EVERYONE, _none, stage="om_draft"),
    ("POST", "/projects/{project_id}/om-review"): Row(
        frozenset({"declarer", "admin"}), _json({"justification": "路由表测试"}), stage="om_draft", role_first=True
    ),
    ("POST", "/projects/{project_id}/om-review/decision"): Row(
        frozenset({"finance_reviewer", "admin"}),
        _json({"decision": "approve", "reason": "路由表测试"}),
        stage="om_reviewed",
        role_first=True,
        fresh=True,
    ),
}


def expected(row: Row, method: str, path: str, role: str, where: str) -> int:
    """The status the table expects of ``role`` calling ``method path`` on a project ``where`` (own, other,
    missing)."""
    if row.stage is None:  # no project in the path: the role decides, and a declarer declares only for its own
        if (method, path) == ("POST", "/projects") and role == "declarer" and where == "other":
            return 403  # project.department_mismatch
        return row.ok if role in row.allowed else 403
    sees = where == "own" or (where == "other" and role in SEES_ALL)
    if sees:
        return row.ok if role in row.allowed else 403
    return 403 if row.role_first and role not in row.allowed else 404


@dataclass
class Table:
    world: Any
    keys: dict[str, str]
    projects: dict[str, dict[str, dict[str, Any]]]  # where → stage → {"id", "document"}


def _post(world, path, body=None, **kwargs):
    r = world.client.post(path, json=body if body is not None else {}, headers=world.h("admin"), **kwargs)
    assert r.status_code in (200, 201), (path, r.text)
    return r.json()


def om_project_at(world, stage: str, department: int, name: str) -> dict[str, Any]:
    """An O&M project of ``entities[department]``'s department (no census the year before: above no standard)
    in ``om_draft`` or ``om_reviewed`` (declared, and reviewed with a justification)."""
    uscc = world.entities[department]["uscc"]
    body = declare_body(
        world,
        kind="om",
        name=name,
        scope=f"{name}的运维内容",
        department_uscc=uscc,
        om_category="application_data",
        requested_wan="10.00",
        construction_cost_wan="100.00",
        other_parts=[],
        period_start="2025-01-01",
        period_end="2025-12-31",
    )
    pid = _post(world, "/projects", body)["id"]
    files = {"file": ("p.pdf", b"%PDF-1.4 t", "application/pdf")}
    document = world.client.post(
        f"/projects/{pid}/documents", data={"doc_type": "proposal"}, files=files, headers=world.h("admin")
    ).json()["id"]
    if stage == "om_reviewed":
        _post(world, f"/projects/{pid}/transitions", {"to": "declared", "not_duplicate_statement": "路由表测试"})
        _post(world, f"/projects/{pid}/om-review", {"justification": "路由表测试"})
    return {"id": pid, "document": document}


def project_at(world, stage: str, department: int, name: str) -> dict[str, Any]:
    """A project of ``entities[department]``'s department brought to ``stage`` by an admin, with a proposal;
    ``om_…`` stages are O&M projects (:func:`om_project_at`)."""
    if stage.startswith("om_"):
        return om_project_at(world, stage, department, name)
    uscc = world.entities[department]["uscc"]
    pid = _post(world, "/projects", declare_body(world, name=name, scope=f"{name}的建设内容", department_uscc=uscc))[
        "id"
    ]
    files = {"file": ("p.pdf", b"%PDF-1.4 t", "application/pdf")}
    document = world.client.post(
        f"/projects/{pid}/documents", data={"doc_type": "proposal"}, files=files, headers=world.h("admin")
    ).json()["id"]
    steps: list[tuple[str, dict[str, Any]]] = [
        ("transitions", {"to": "declared", "not_duplicate_statement": "路由表测试"}),
        ("evaluations", {"kind": "software", "function_points": FP}),
        ("evaluations", {"kind": "hardware", "amount_wan": "10.00"}),
        ("transitions", {"to": "evaluated"}),
        ("evaluations", {"kind": "performance", "passed": True}),
        ("plan-control", {}),
        ("budget-control", {"amount_wan": "1.00"}),
        ("transitions", {"to": "approved"}),
        ("transitions", {"to": "procuring"}),
    ]
    reached = {"draft": 0, "declared": 1, "evaluated": 4, "procuring": len(steps)}[stage]
    for route, body in steps[:reached]:
        _post(world, f"/projects/{pid}/{route}", body)
    return {"id": pid, "document": document}


@pytest.fixture
def table(db, tmp_path) -> Table:
    world = make_world(db, tmp_path)
    world.declarer_of(1)  # registers entities[1]'s department
    own = world.entities[0]["uscc"]
    keys = {role: create_key(db, department=own, role=role) for role in ROLES}
    projects = {
        where: {
            stage: project_at(world, stage, department, f"路由表{where}{stage}项目")
            for stage in ("draft", "declared", "evaluated", "procuring", "om_draft", "om_reviewed")
        }
        for where, department in (("own", 0), ("other", 1))
    }
    return Table(world, keys, projects)


def _url(table: Table, path: str, where: str, project: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
    pid = project["id"] if project else MISSING_ID
    document = project["document"] if project else table.projects["own"]["draft"]["document"]
    url = (
        path.replace("{project_id}", str(pid))
        .replace("{document_id}", str(document))
        .replace("{version}", "suzhou-csbmk2025-v1")
        .replace("{uscc}", table.world.entities[3]["uscc"])
    )
    params = {"year": 2025} if path in ("/projects/om-statistics", "/projects/budget-lines") else {}
    return url, params


def _call(table: Table, method: str, path: str, row: Row, role: str, where: str, project) -> Any:
    url, params = _url(table, path, where, project)
    kwargs = row.request(table, project or {}, role, where)
    if path.endswith("/vendors"):
        # a vendor of its own per role: the same company is never awarded one role twice (project.vendor_conflict)
        vendor = table.world.entities[2 + sorted(table.keys).index(role) % 8]["uscc"]
        kwargs["json"] = {**kwargs["json"], "uscc": vendor}
    headers = {"Authorization": f"Bearer {table.keys[role]}"}
    return table.world.client.request(method, url, params=params, headers=headers, **kwargs)


def _api_routes(routes) -> list[APIRoute]:
    """Every APIRoute under ``routes``, into included routers (FastAPI ≥ 0.1xx keeps an included router as one
    entry of ``app.routes`` holding the ``original_router``; its routes carry their full paths)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif getattr(route, "original_router", None) is not None:
            found += _api_routes(route.original_router.routes)
    return found


def project_routes(app) -> list[tuple[str, str]]:
    """(method, path) of every ``/projects`` route of ``app``, from ``app.routes``."""
    return sorted(
        {
            (method, route.path)
            for route in _api_routes(app.routes)
            if route.path == "/projects" or route.path.startswith("/projects/")
            for method in route.methods
        }
    )


def test_every_project_route_has_its_row_in_the_table(table):
    app = table.world.client.app
    routes = project_routes(app)
    assert routes and set(routes) == set(TABLE), set(routes) ^ set(TABLE)
    published = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        if path == "/projects" or path.startswith("/projects/")
        for method in operations
    }
    assert published <= set(routes)  # the walk of app.routes misses none the OpenAPI document publishes


def test_every_project_route_answers_each_role_on_its_own_another_and_a_missing_project_as_the_table_says(table):
    wrong: list[tuple[Any, ...]] = []
    fresh_count = 0
    for method, path in project_routes(table.world.client.app):
        row = TABLE[(method, path)]
        for role in ROLES:
            answers: dict[str, int] = {}
            for where in WHERE:
                want = expected(row, method, path, role, where)
                project = None
                if row.stage is not None and where != "missing":
                    project = table.projects[where][row.stage]
                    if row.fresh and want == row.ok:  # this call moves the project on: give it one of its own
                        fresh_count += 1
                        department = 0 if where == "own" else 1
                        project = project_at(table.world, row.stage, department, f"路由表新项目{fresh_count}")
                elif row.stage is None and where == "missing":
                    continue
                response = _call(table, method, path, row, role, where, project)
                answers[where] = response.status_code
                if response.status_code != want:
                    wrong.append((method, path, role, where, want, response.status_code, response.text[:200]))
                elif want == 404:
                    assert response.json()["code"] == "project.not_found"
            if row.stage is not None and role not in SEES_ALL:  # ids are no oracle
                assert answers["other"] == answers["missing"], (method, path, role, answers)
    assert not wrong, "\n".join(map(str, wrong))


def test_a_list_shows_a_key_only_the_projects_it_sees(table):
    own = {p["id"] for p in table.projects["own"].values()}
    other = {p["id"] for p in table.projects["other"].values()}
    for role in ROLES:
        r = table.world.client.get(
            "/projects", params={"limit": 1000}, headers={"Authorization": f"Bearer {table.keys[role]}"}
        )
        listed = {p["id"] for p in r.json()["items"]}
        assert own <= listed, role
        assert bool(other & listed) == (role in SEES_ALL), role
        if role not in SEES_ALL:
            assert r.json()["total"] == len(listed) and not other & listed


def test_finance_imports_payments_of_every_departments_approved_projects(table):
    for where in ("own", "other"):
        r = _call(
            table, "POST", "/projects/payments", TABLE[("POST", "/projects/payments")], "finance_approver", where, None
        )
        assert r.json()["imported"] == 1, r.text


def _named(value: Any, ids: set[int]) -> list[Any]:
    """Every ``id`` / ``project_id`` value of ``value`` (a JSON document) that is in ``ids``."""
    if isinstance(value, dict):
        found = [v for k, v in value.items() if k in ("id", "project_id") and v in ids]
        return found + [x for v in value.values() for x in _named(v, ids)]
    if isinstance(value, list):
        return [x for v in value for x in _named(v, ids)]
    return []


def test_no_read_route_names_another_departments_project_to_a_key_that_does_not_see_it(table):
    """Every GET route of the table (generated from ``app.routes``), called on the key's own project: another
    department's projects appear in listings, the O&M census, the portfolio statistics and the duplicate
    candidates only as aggregates or anonymous signals — no id, name or department. The reviewing bureaus and
    admin keep the full view."""
    world = table.world
    other = world.entities[1]
    om = {}
    for where, department in (("own", 0), ("other", 1)):
        body = declare_body(
            world,
            kind="om",
            name=f"路由表{where}机房运维",
            scope=f"路由表{where}机房运维内容",
            department_uscc=world.entities[department]["uscc"],
            om_category="application_data",
            construction_cost_wan="100.00",
            other_parts=[],
        )
        pid = _post(world, "/projects", body)["id"]
        files = {"file": ("p.pdf", b"%PDF-1.4 t", "application/pdf")}
        world.client.post(
            f"/projects/{pid}/documents", data={"doc_type": "proposal"}, files=files, headers=world.h("admin")
        )
        _post(world, f"/projects/{pid}/transitions", {"to": "declared", "not_duplicate_statement": "路由表测试"})
        om[where] = pid
    other_ids = {p["id"] for p in table.projects["other"].values()} | {om["other"]}
    secrets = (other["uscc"], other["name"], "路由表other")
    leaks: list[tuple[Any, ...]] = []
    anonymous_seen = census_seen = folded_seen = False
    for method, path in project_routes(world.client.app):
        if method != "GET":
            continue
        row = TABLE[(method, path)]
        project = table.projects["own"][row.stage] if row.stage else None
        for role in ROLES:
            response = _call(table, method, path, row, role, "own", project)
            if response.status_code != 200 or not response.headers["content-type"].startswith("application/json"):
                continue
            text, body = response.text, response.json()
            if role in SEES_ALL:
                if path == "/projects/statistics":
                    assert other["uscc"] in text, role  # the bureaus keep every department by name
                continue
            named = _named(body, other_ids)
            shown = [s for s in secrets if s in text]
            if named or shown:
                leaks.append((path, role, named, shown))
            if path.endswith("/duplicates"):
                anonymous_seen |= any(c.get("anonymous") and c["id"] is None for c in body["items"])
            if path == "/projects/om-statistics":
                (category,) = [c for c in body["categories"] if c["category"] == "application_data"]
                others = category.get("other_departments", 0)  # the O&M stages of the table add some too
                census_seen |= others >= 1 and category["count"] == len(category["declarations"]) + others
            if path == "/projects/statistics":
                folded_seen |= any(
                    d["department_uscc"] is None and d.get("departments") == 1 for d in body["by_department"]
                )
    assert not leaks, "\n".join(map(str, leaks))
    assert anonymous_seen and census_seen and folded_seen  # the other department's projects are there, anonymous
