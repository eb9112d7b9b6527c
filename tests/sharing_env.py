"""A sharing test bed: demo-sample persons, companies, credit records and licences in a real database, an app,
stewards, an owning department and two consuming departments with keys (no grants yet)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api import samples
from api.app import create_app
from api.demo import SAMPLES
from loaders.pipeline import LoadOptions, load_file
from loaders.profiles import load_profile
from mdm.access.departments import add_department
from mdm.db import Database
from mdm.keys import create_key
from mdm.settings import Settings
from tests.helpers import ensure_purpose
from tests.served import SERVED, client_for, started

POLICE, CIVIL, TAX = "11990000MB0000010K", "11990000MB0000030M", "11990000MB0000040N"
PURPOSES = ("social.assistance", "tax.audit")


@dataclass
class Bed:
    db: Database
    client: TestClient
    app: Any
    keys: dict[str, str]
    persons: list[dict[str, Any]]
    credits: list[dict[str, Any]]
    companies: list[dict[str, Any]]
    licences: list[dict[str, Any]]

    def get(self, who: str, path: str, purpose: str | None = "social.assistance", **params: Any):
        return self.client.get(path, params=params, headers=self.headers(who, purpose))

    def post(self, who: str, path: str, body: Any, purpose: str | None = "social.assistance"):
        return self.client.post(path, json=body, headers=self.headers(who, purpose))

    def headers(self, who: str, purpose: str | None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.keys[who]}"}
        if purpose is not None:
            headers["X-Purpose"] = purpose
        return headers

    def flush(self) -> None:
        """Settle the audit events of the reads so far (in-process; a served app's reads are durable before their
        answers leave, tests/served.py)."""
        if not SERVED:
            self.app.state.audit.flush()


def make_bed(db: Database, tmp_path: Path, *, search=None, people: int = 6, **settings_: Any) -> Bed:
    """The bed; ``settings_`` are the app's settings that differ from the defaults (``audit_timeout=1.0``)."""
    persons = list(samples.persons(people))
    companies = list(samples.entities(4))
    credits = list(samples.credit_records(30, companies, persons))
    licences = list(samples.licences(5, companies, persons))
    options = LoadOptions(report_root=tmp_path / "loads")
    files = [
        ("persons.yaml", samples.write_csv(tmp_path / "persons.csv", persons)),
        ("entities.yaml", samples.write_csv(tmp_path / "entities.csv", companies)),
        ("credit.yaml", samples.write_jsonl(tmp_path / "credit.jsonl", credits)),
        ("licences.yaml", samples.write_csv(tmp_path / "licences.csv", licences)),
    ]
    for profile_file, path in files:
        summary = load_file(db, load_profile(str(SAMPLES / profile_file), []), path, options=options, search=search)
        assert summary["rejected"] == 0, summary["reject_codes"]
    with db.write() as session:
        add_department(session, department_id=POLICE, name="公安局", owns=["natural_person"])
        add_department(session, department_id=CIVIL, name="民政局")
        add_department(session, department_id=TAX, name="税务局")
    for code in PURPOSES:
        ensure_purpose(db, code)
    keys = {
        "admin": create_key(db, department="bigdata", role="admin", register=True),
        "owner": create_key(db, department=POLICE, role="reader"),
        "civil": create_key(db, department=CIVIL, role="reader"),
        "tax": create_key(db, department=TAX, role="reader"),
    }
    settings = Settings(database_url="sqlite://", report_dir=tmp_path / "loads", **settings_)
    if SERVED:
        client = started(client_for(None, lambda: None, settings, db, search=search, raise_server_exceptions=False))
        return Bed(db, client, client.app, keys, persons, credits, companies, licences)
    app = create_app(settings, db=db, search=search)
    return Bed(db, TestClient(app, raise_server_exceptions=False), app, keys, persons, credits, companies, licences)
