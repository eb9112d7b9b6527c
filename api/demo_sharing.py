"""The demo's sharing set-up and tour: a few departments and purposes, a grant, keys, and the same records read
with and without the grant through the read service (the path every API read takes).

The department codes are synthetic USCCs of government bodies (``11`` + the address code 990000, which no real
division holds, + a made-up organisation code, with valid check characters).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select

from mdm.access.departments import add_department, add_purpose, find_department
from mdm.access.grants import GrantSpec, issue_grant, list_grants
from mdm.audit import AuditWriter
from mdm.db import Database
from mdm.errors import MdmError
from mdm.keys import Caller, issue_key
from mdm.models import GoldenRecord, Purpose
from mdm.reads import ReadContext, Reads
from mdm.search import SearchBackend
from standards import default_registry

POLICE, MARKET, CIVIL, TAX = "11990000MB0000010K", "11990000MB0000020L", "11990000MB0000030M", "11990000MB0000040N"
DEPARTMENTS = [
    ("bigdata", "苏州市大数据管理局（示例）", []),
    (POLICE, "苏州市公安局（示例）", ["natural_person"]),
    (MARKET, "苏州市市场监督管理局（示例）", ["legal_entity", "credit_record", "e_license"]),
    (CIVIL, "苏州市民政局（示例）", []),
    (TAX, "苏州市税务局（示例）", []),
]
PURPOSES = [
    ("social.assistance", "最低生活保障审核", "《社会救助暂行办法》第十一条：核查申请人家庭收入和财产状况"),
    ("tax.audit", "税务检查", "《中华人民共和国税收征收管理法》第五十四条"),
    ("review.credit", "信用审查", "《国务院关于建立完善守信联合激励和失信联合惩戒制度的指导意见》国发〔2016〕33号"),
]
PERSON_FIELDS = (
    "citizen_id",
    "name",
    "gender_code",
    "ethnicity_code",
    "birth_date",
    "nationality_code",
    "household_division_code",
    "record_status",
)  # with every field text search matches in part, so 民政局 can search persons by name


@dataclass(frozen=True)
class DemoKeys:
    admin: str
    reader: str  # 民政局, with grants for social.assistance
    other: str  # 税务局, without them
    owner: str  # 公安局, owner of natural_person: decides sharing requests for it


def register_departments(db: Database) -> None:
    """Register the demo departments (once): before the demo loads, as its profiles' source systems belong to
    them (``api/demo/*.yaml``: ``source_system.department``)."""
    with db.write() as session:
        for code, name, owns in DEPARTMENTS:
            if find_department(session, code) is None:
                add_department(session, department_id=code, name=name, owns=owns)


def prepare_sharing(db: Database) -> DemoKeys:
    """Register the demo departments, purposes and grants (once) and issue fresh keys."""
    registry = default_registry()
    register_departments(db)
    with db.write() as session:
        for code, title, basis in PURPOSES:
            if session.get(Purpose, code) is None:
                add_purpose(session, code=code, title=title, legal_basis=basis)
        if not list_grants(session, department=CIVIL):
            for repository, spec in (
                (
                    "natural_person",
                    GrantSpec("natural_person", PERSON_FIELDS, ("social.assistance",), unmasked=("citizen_id",)),
                ),
                ("credit_record", GrantSpec("credit_record", ("*",), ("social.assistance",))),
            ):
                issue_grant(session, registry.get(repository), department=CIVIL, spec=spec, issued_by="bigdata")
            verify = GrantSpec("natural_person", ("name", "phone"), ("tax.audit",), kind="verify")
            issue_grant(session, registry.get("natural_person"), department=TAX, spec=verify, issued_by="bigdata")
    return DemoKeys(
        admin=issue_key(db, department="bigdata", role="admin").key,
        reader=issue_key(db, department=CIVIL, role="reader").key,
        other=issue_key(db, department=TAX, role="reader").key,
        owner=issue_key(db, department=POLICE, role="reader").key,
    )


def _shown(reads: Reads, ctx: ReadContext, repository: str, key: str) -> str:
    try:
        shown = reads.get(ctx, default_registry().get(repository), key)
    except MdmError as exc:
        return f"{exc.code}: {exc.detail}"
    parts = [json.dumps(shown.projection.data, ensure_ascii=False)]
    if shown.projection.withheld:
        parts.append("withheld " + ", ".join(f"{w['field']} ({w['reason']})" for w in shown.projection.withheld))
    return "; ".join(parts)


def tour(db: Database, search: SearchBackend) -> list[str]:
    """Lines showing one person and one credit record about a person, read by 民政局 under its grant and by
    税务局 without one, and a verification by 税务局 under its verify grant. Audited like any read."""
    with db.read() as session:
        person = session.execute(
            select(GoldenRecord.business_key).where(GoldenRecord.repository == "natural_person").limit(1)
        ).scalar_one()
        credit = session.execute(
            select(GoldenRecord.business_key)
            .where(
                GoldenRecord.repository == "credit_record",
                GoldenRecord.data["subject_type"].as_string() == "natural_person",
            )
            .order_by(GoldenRecord.business_key)
            .limit(1)
        ).scalar_one()
    writer = AuditWriter(db)
    reads = Reads(db, search, writer)
    civil = ReadContext(Caller(CIVIL, "reader", "demo"), "social.assistance", "demo tour")
    tax = ReadContext(Caller(TAX, "reader", "demo"), "tax.audit", "demo tour")
    lines = [
        f"natural_person {person[:3]}…:",
        f"  民政局, grant for social.assistance: {_shown(reads, civil, 'natural_person', person)}",
        f"  税务局, no grant for it:            {_shown(reads, tax, 'natural_person', person)}",
        f"credit_record {credit} (about a person):",
        f"  民政局, grant for social.assistance: {_shown(reads, civil, 'credit_record', credit)}",
        f"  税务局, no grant for it:            {_shown(reads, tax, 'credit_record', credit)}",
    ]
    verdict = reads.verify(tax, default_registry().get("natural_person"), person, {"name": "张三"})
    lines.append(f"  税务局 verifies name=张三 (verify grant, tax.audit): {verdict}")
    writer.close()
    return lines
