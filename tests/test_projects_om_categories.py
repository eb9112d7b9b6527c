"""The O&M code lists after GB/T 28827.1-2022 (migration 0011): a database that already holds projects with the
first seed's categories keeps working — each project gets its new code, the old codes leave the dictionary but
stay as history — and stewards change the lists as any other. On each backend."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from mdm.codelists import import_list
from mdm.db import Database, current_revision, head_revision, upgrade
from mdm.models import CodeListEntry
from mdm.projects import dictionary
from mdm.projects.models import Project
from tests.conftest import BACKENDS, PgSchema

FIRST_SEED = ["infrastructure", "hardware", "software", "data", "security", "service_desk", None]
EXPECTED = ["facility", "physical_resource", "application_data", "application_data", "platform_resource",
            "user_support", None]  # fmt: skip


@pytest.fixture(params=BACKENDS)
def bare_db(request, tmp_path):
    """A database on each backend that is not migrated yet."""
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'old.db'}", migrate=False)
        yield db
        db.dispose()
        return
    schema = PgSchema(request.getfixturevalue("pg_url"))
    db = Database(schema.url, migrate=False, connect_args={"options": f"-csearch_path={schema.name},public"})
    try:
        yield db
    finally:
        db.dispose()
        schema.drop()


def _project(n: int, category: str | None) -> dict:
    """A project row of revision 0010's columns (inserted with Core: the model maps later columns too)."""
    at = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    return dict(
        kind="om" if category else "construction",
        year=2025,
        name=f"旧库项目{n}",
        scope="运维",
        department_uscc="11320500MB0000000X",
        department_name="苏州市某局",
        requested_fen=100_000,
        om_category=category,
        status="declared",
        search_text="",
        created_at=at,
        updated_at=at,
    )


def test_a_database_with_the_first_seeds_categories_moves_to_the_new_codes(bare_db):
    upgrade(bare_db.engine, "0010")
    with Session(bare_db.engine) as session, session.begin():
        session.execute(sa.insert(Project.__table__), [_project(n, c) for n, c in enumerate(FIRST_SEED)])
    upgrade(bare_db.engine)
    assert current_revision(bare_db.engine) == head_revision()  # 0012 or a later one
    with Session(bare_db.engine) as session:
        moved = session.execute(sa.select(Project.om_category).order_by(Project.id)).scalars().all()
        lists = {name: dictionary.codes(session, name) for name in ("om_category", "om_service_kind")}
        closed = session.execute(
            sa.select(CodeListEntry.code).where(
                CodeListEntry.list_name == "om_category", CodeListEntry.valid_to.is_not(None)
            )
        ).scalars()
        closed_codes = set(closed)
    assert moved == EXPECTED
    assert list(lists["om_category"]) == [
        "facility", "physical_resource", "virtual_resource", "platform_resource", "application_data", "user_support"
    ]  # fmt: skip
    assert list(lists["om_service_kind"].values()) == ["例行操作", "响应支持", "优化改善", "咨询评估"]
    assert closed_codes == {c for c in FIRST_SEED if c}  # history kept, out of the dictionary
    upgrade(bare_db.engine)  # idempotent: nothing doubles
    with Session(bare_db.engine) as session:
        assert len(dictionary.codes(session, "om_category")) == 6


def test_a_steward_changes_the_service_kinds_as_any_other_list(db, tmp_path):
    csv = tmp_path / "kinds.csv"
    csv.write_text("code,name\nroutine_operation,例行操作\nresponse_support,响应支持\nemergency,应急保障\n", "utf-8")
    assert import_list(db, "om_service_kind", csv) == 3
    listed = {x["name"]: x for x in dictionary.dictionary(db)["lists"]}["om_service_kind"]
    assert [c["code"] for c in listed["codes"]] == ["routine_operation", "response_support", "emergency"]
