"""A small world for the project tests: synthetic legal entities and credit records loaded through the real
pipeline, one key per project role, and an API client. Helpers to drive a project through its stages."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from api import samples
from api.app import create_app
from api.demo import SAMPLES
from loaders.pipeline import LoadOptions, load_file
from loaders.profiles import load_profile
from mdm.access.departments import add_department, find_department
from mdm.db import Database
from mdm.keys import ROLES, create_key
from mdm.settings import Settings
from tests.served import client_for

ROLES_USED = [r for r in ROLES if r not in ("loader", "declarer")]


@dataclass
class World:
    client: Any  # a TestClient, or an httpx client on a served app (tests/served.py)
    db: Database
    keys: dict[str, str]
    entities: list[dict[str, Any]]
    serious_uscc: str  # a vendor with an active black-list record
    minor_uscc: str  # a vendor with only a warning
    tmp: Path
    _ids: dict[str, int] = field(default_factory=dict)

    def declarer_of(self, index: int) -> str:
        """The name of a declarer key of ``entities[index]``'s department (registered by its USCC and name and
        issued on first use); ``"declarer"`` is ``entities[0]``'s."""
        name = f"declarer:{index}"
        if name not in self.keys:
            self.keys[name] = declarer_key(self.db, self.entities[index])
        return name

    def h(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def post(self, role: str, path: str, body: dict[str, Any] | None = None):
        return self.client.post(path, json=body or {}, headers=self.h(role))

    def get(self, role: str, path: str, **params):
        return self.client.get(path, params=params, headers=self.h(role))


def declarer_key(db: Database, entity: dict[str, Any]) -> str:
    """A declarer key of the department that is ``entity`` (a legal_entity row): its id is the USCC, as a
    declarer acts only for its own department."""
    with db.write() as session:
        if find_department(session, entity["uscc"]) is None:
            add_department(session, department_id=entity["uscc"], name=entity["name"])
    return create_key(db, department=entity["uscc"], role="declarer")


def make_world(db: Database, tmp_path: Path) -> World:
    entities = list(samples.entities(12, seed=7))
    serious, minor = entities[10]["uscc"], entities[11]["uscc"]
    today = dt.date.today()
    credit = [
        {
            "record_id": "T-BL-1",
            "record_type": "black_list",
            "subject_type": "legal_entity",
            "subject_uscc": serious,
            "subject_name": entities[10]["name"],
            "decision_date": (today - dt.timedelta(days=100)).isoformat(),
            "status": "active",
        },
        {
            "record_id": "T-WARN-1",
            "record_type": "administrative_penalty",
            "subject_type": "legal_entity",
            "subject_uscc": minor,
            "subject_name": entities[11]["name"],
            "decision_date": (today - dt.timedelta(days=30)).isoformat(),
            "penalty_category": "warning_criticism",
            "content": "未按规定履行示例义务",
            "status": "active",
        },
    ]
    data = tmp_path / "world"
    data.mkdir()
    options = LoadOptions(report_root=tmp_path / "loads")
    for profile, path in (
        ("entities.yaml", samples.write_csv(data / "entities.csv", entities)),
        ("credit.yaml", samples.write_jsonl(data / "credit.jsonl", credit)),
    ):
        summary = load_file(db, load_profile(str(SAMPLES / profile), []), path, options=options)
        assert summary["rejected"] == 0, summary
    settings = Settings(database_url="sqlite://", report_dir=tmp_path / "loads", max_upload_bytes=100_000)
    client = client_for(None, lambda: create_app(settings, db=db), settings, db, raise_server_exceptions=False)
    keys = {
        role: create_key(db, department=f"{role} 部门", role=role, register=True) for role in [*ROLES_USED, "loader"]
    }
    keys["declarer"] = keys["declarer:0"] = declarer_key(db, entities[0])
    return World(client, db, keys, entities, serious, minor, tmp_path)


def declare_body(world: World, **changes: Any) -> dict[str, Any]:
    body = {
        "kind": "construction",
        "year": 2025,
        "name": "市级不动产登记信息平台升级",
        "scope": "不动产登记业务受理、审核、登簿、发证全流程线上办理，与税务、公安数据对接",
        "department_uscc": world.entities[0]["uscc"],
        "requested_wan": "80.00",
        "systems": ["不动产登记系统"],
        "other_parts": [{"name": "等保测评服务", "amount_wan": "5.00"}],
    }
    body.update(changes)
    return body


def post_document(world: World, role: str, project_id: int, doc_type: str, content: bytes = b"%PDF-1.4 test"):
    """The response to uploading a ``doc_type`` document with ``role``'s key."""
    return world.client.post(
        f"/projects/{project_id}/documents",
        data={"doc_type": doc_type},
        files={"file": (f"{doc_type}.pdf", content, "application/pdf")},
        headers=world.h(role),
    )


def upload(world: World, role: str, project_id: int, doc_type: str, content: bytes = b"%PDF-1.4 test") -> dict:
    response = post_document(world, role, project_id, doc_type, content)
    assert response.status_code == 201, response.text
    return response.json()


FP = {
    "method": "estimated",
    "functions": {"ILF": 5, "EIF": 2, "EI": 20, "EO": 10, "EQ": 10},
    "stage": "early",
    "application_type": "business",
    "quality": {"distributed": 0, "performance": 0, "reliability": 0, "multi_site": 0},
    "language": "java",
    "team": "related",
}


def to_evaluated(world: World, project_id: int, *, hardware_wan: str = "20.00") -> dict:
    """Declare (with a proposal and, as the tests' projects look alike, a not-a-duplicate statement) and
    evaluate both parts; returns the project view."""
    upload(world, "declarer", project_id, "proposal")
    body = {"to": "declared", "not_duplicate_statement": "测试项目，非重复申报"}
    r = world.post("declarer", f"/projects/{project_id}/transitions", body)
    assert r.status_code == 200, r.text
    r = world.post(
        "bigdata_reviewer", f"/projects/{project_id}/evaluations", {"kind": "software", "function_points": FP}
    )
    assert r.status_code == 201, r.text
    r = world.post(
        "finance_reviewer", f"/projects/{project_id}/evaluations", {"kind": "hardware", "amount_wan": hardware_wan}
    )
    assert r.status_code == 201, r.text
    r = world.post("finance_reviewer", f"/projects/{project_id}/transitions", {"to": "evaluated"})
    assert r.status_code == 200, r.text
    return r.json()


def to_approved(world: World, project_id: int, *, amount_wan: str | None = None) -> dict:
    """From evaluated: performance passed, plan and budget control, approved."""
    r = world.post("finance_reviewer", f"/projects/{project_id}/evaluations", {"kind": "performance", "passed": True})
    assert r.status_code == 201, r.text
    assert world.post("plan_control", f"/projects/{project_id}/plan-control").status_code == 200
    amount = amount_wan or world.get("admin", f"/projects/{project_id}").json()["control_price_wan"]
    r = world.post("finance_approver", f"/projects/{project_id}/budget-control", {"amount_wan": amount})
    assert r.status_code == 200, r.text
    r = world.post("finance_approver", f"/projects/{project_id}/transitions", {"to": "approved"})
    assert r.status_code == 200, r.text
    return r.json()
