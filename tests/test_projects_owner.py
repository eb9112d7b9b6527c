"""A project has an owner (issue 20, "Projects have no owner"; issue 23 item 3): gates count only the owning role's
documents, each reviewer files only in its steps, contractor and supervisor are independent, payments keep to the
approval, the approval keeps to the request and the control price, every number is bounded at the edge, and no
export writes a formula. On each backend."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from mdm.exports import csv_text, safe_cell
from mdm.projects.models import ProjectDocument, ProjectPayment
from tests.projects_world import FP, declare_body, make_world, post_document, to_approved, to_evaluated, upload
from tests.served import another_client


@pytest.fixture
def world(db, tmp_path):
    return make_world(db, tmp_path)


def create(world, **changes):
    r = world.post("declarer", "/projects", declare_body(world, **changes))
    assert r.status_code == 201, r.text
    return r.json()["id"]


def refused(response, code, status):
    assert response.status_code == status, response.text
    assert response.json()["code"] == code, response.text
    return response.json()


def to_procuring(world, pid, *, approved="50.00"):
    to_evaluated(world, pid)
    to_approved(world, pid, amount_wan=approved)
    assert world.post("declarer", f"/projects/{pid}/transitions", {"to": "procuring"}).status_code == 200


def to_implementing(world, pid):
    to_procuring(world, pid)
    r = world.post("declarer", f"/projects/{pid}/vendors", {"uscc": world.entities[3]["uscc"], "role": "contractor"})
    assert r.status_code == 201, r.text
    upload(world, "declarer", pid, "contract")
    assert world.post("declarer", f"/projects/{pid}/transitions", {"to": "implementing"}).status_code == 200


def stored_document(world, pid, *, doc_type, role, department):
    """A document row as a database written before the rules could hold (or a rule change) would have it."""
    with world.db.write() as session:
        session.add(
            ProjectDocument(
                project_id=pid,
                doc_type=doc_type,
                file_name=f"{doc_type}.pdf",
                media_type="application/pdf",
                size=3,
                sha256="0" * 64,
                content=b"pdf",
                department=department,
                key_prefix="mdm_test",
                role=role,
                uploaded_at=dt.datetime.now(dt.UTC),
            )
        )


def test_the_acceptance_gate_counts_only_the_declarers_or_an_admins_report(world):
    pid = create(world)
    to_implementing(world, pid)
    own = world.entities[0]["uscc"]
    stored_document(world, pid, doc_type="acceptance_report", role="finance_approver", department="finance 部门")
    stored_document(world, pid, doc_type="acceptance_report", role="declarer", department=world.entities[1]["uscc"])
    stored_document(world, pid, doc_type="acceptance_report", role=None, department=own)  # uploader unknown
    body = refused(
        world.post("declarer", f"/projects/{pid}/transitions", {"to": "accepted"}), "project.transition_invalid", 409
    )
    assert body["missing"] == ["acceptance_report"]
    report = upload(world, "admin", pid, "acceptance_report")
    assert report["role"] == "admin"
    assert world.post("declarer", f"/projects/{pid}/transitions", {"to": "accepted"}).status_code == 200


def test_the_declarers_own_acceptance_report_opens_the_gate_and_records_its_role(world):
    pid = create(world)
    to_implementing(world, pid)
    assert upload(world, "declarer", pid, "acceptance_report")["role"] == "declarer"
    assert world.post("declarer", f"/projects/{pid}/transitions", {"to": "accepted"}).status_code == 200


def test_a_reviewer_files_a_document_of_no_listed_type_only_in_its_own_steps(world):
    pid = create(world)
    refused(post_document(world, "bigdata_reviewer", pid, "other"), "project.transition_invalid", 409)  # a draft
    to_implementing(world, pid)
    body = refused(post_document(world, "bigdata_reviewer", pid, "other"), "project.transition_invalid", 409)
    assert body["missing"] == ["stage_declared", "stage_evaluated"]
    upload(world, "finance_approver", pid, "other")  # finance pays and files in implementation
    upload(world, "declarer", pid, "other")


def test_the_declaring_department_is_neither_contractor_nor_supervisor(world):
    pid = create(world)
    to_procuring(world, pid)
    own = {"uscc": world.entities[0]["uscc"], "role": "contractor"}
    assert (
        refused(world.post("declarer", f"/projects/{pid}/vendors", own), "project.vendor_conflict", 409)["reason"]
        == "declaring_department"
    )
    own["role"] = "supervisor"
    refused(world.post("declarer", f"/projects/{pid}/vendors", own), "project.vendor_conflict", 409)
    vendor = {"uscc": world.entities[3]["uscc"], "role": "contractor"}
    assert world.post("declarer", f"/projects/{pid}/vendors", vendor).status_code == 201
    vendor["role"] = "supervisor"
    body = refused(world.post("declarer", f"/projects/{pid}/vendors", vendor), "project.vendor_conflict", 409)
    assert body["reason"] == "contractor_is_supervisor"
    vendor["uscc"] = world.entities[4]["uscc"]
    assert world.post("declarer", f"/projects/{pid}/vendors", vendor).status_code == 201
    vendors = world.get("admin", f"/projects/{pid}").json()["vendors"]
    assert [(v["uscc"], v["role"]) for v in vendors] == [
        (world.entities[3]["uscc"], "contractor"),
        (world.entities[4]["uscc"], "supervisor"),
    ]


def test_finance_overrides_a_credit_refusal_but_does_not_award_a_vendor_itself(world):
    pid = create(world)
    to_procuring(world, pid)
    body = {"uscc": world.entities[3]["uscc"], "role": "contractor", "override_reason": "财政局决定"}
    refused(world.post("finance_approver", f"/projects/{pid}/vendors", body), "auth.forbidden", 403)
    body["uscc"] = world.serious_uscc
    assert world.post("finance_approver", f"/projects/{pid}/vendors", body).status_code == 201


def test_the_approved_amount_is_at_most_the_amount_requested(world):
    pid = create(world, requested_wan="40.00")
    view = to_evaluated(world, pid, hardware_wan="30.00")
    assert float(view["control_price_wan"]) > 40  # the control price is above the request
    world.post("finance_reviewer", f"/projects/{pid}/evaluations", {"kind": "performance", "passed": True})
    world.post("plan_control", f"/projects/{pid}/plan-control")
    r = world.post("finance_approver", f"/projects/{pid}/budget-control", {"amount_wan": "40.01"})
    body = refused(r, "project.over_requested", 409)
    assert (body["requested_wan"], body["amount_wan"]) == ("40.00", "40.01")
    over_price = f"{float(view['control_price_wan']) + 1:.2f}"
    r = world.post("finance_approver", f"/projects/{pid}/budget-control", {"amount_wan": over_price})
    refused(r, "project.over_control_price", 409)
    r = world.post("finance_approver", f"/projects/{pid}/budget-control", {"amount_wan": "40.00"})
    assert r.status_code == 200 and r.json()["approved_wan"] == "40.00"


def send_payments(world, text, role="finance_approver"):
    files = {"file": ("pay.csv", text.encode(), "text/csv")}
    return world.client.post("/projects/payments", files=files, headers=world.h(role))


def test_payments_keep_to_approved_projects_their_years_and_the_approved_amount(world):
    draft = create(world, name="草稿项目", scope="尚未申报")
    pid = create(world)
    to_evaluated(world, pid)
    to_approved(world, pid, amount_wan="50.00")
    text = (
        "voucher_no,project_id,paid_on,amount_wan\n"
        f"P-1,{draft},2025-03-01,1.00\n"  # a draft is paid nothing
        f"P-2,{pid},9999-12-31,1.00\n"  # far beyond the project's years
        f"P-3,{pid},2024-12-31,1.00\n"  # before its budget year
        f"P-4,{pid},{(dt.date.today() + dt.timedelta(days=1)).isoformat()},1.00\n"  # not paid yet
        f"P-5,{pid},2025-03-01,40.00\n"
        f"P-6,{pid},2025-04-01,10.01\n"  # 50.01 in all: above the approval
        f"P-7,{pid},2025-04-01,10.00\n"  # exactly the approval
        f"P-8,{2**63},2025-04-01,1.00\n"  # no BIGINT
        f"P-9,{2**70},2025-04-01,1.00\n"
        f"P-10,-3,2025-04-01,1.00\n"
    )
    r = send_payments(world, text)
    assert r.status_code == 200, r.text
    report = r.json()
    assert [(x["row"], x["code"]) for x in report["rejects"]] == [
        (2, "project.payment_stage"),
        (3, "project.payment_date"),
        (4, "project.payment_date"),
        (5, "project.payment_date"),
        (7, "project.payment_over_approved"),
        (9, "project.payment_invalid"),
        (10, "project.payment_invalid"),
        (11, "project.payment_invalid"),
    ]
    assert report["imported"] == 2 and report["overrides"] == []
    payments = world.get("admin", f"/projects/{pid}").json()["payments"]
    assert payments == {"paid_wan": "50.00", "approved_wan": "50.00", "outstanding_wan": "0.00"}


def test_finance_pays_above_the_approval_only_with_a_written_reason_which_is_recorded(world):
    pid = create(world)
    to_evaluated(world, pid)
    to_approved(world, pid, amount_wan="50.00")
    text = (
        "voucher_no,project_id,paid_on,amount_wan,override_reason\n"
        f"O-1,{pid},2025-03-01,50.00,\n"
        f"O-2,{pid},2025-05-01,5.00,\n"
        f"O-3,{pid},2025-06-01,5.00,追加预算已经市政府常务会议审议（会议纪要2025第12号）\n"
        f"O-4,{pid},2031-01-01,1.00,理由不能越过年度\n"  # a reason overrides the amount, not the years
    )
    report = send_payments(world, text).json()
    assert [(x["row"], x["code"]) for x in report["rejects"]] == [
        (3, "project.payment_over_approved"),
        (5, "project.payment_date"),
    ]
    assert report["overrides"] == [
        {
            "row": 4,
            "voucher_no": "O-3",
            "project_id": pid,
            "override_reason": "追加预算已经市政府常务会议审议（会议纪要2025第12号）",
        }
    ]
    with world.db.read() as session:
        rows = session.execute(
            select(ProjectPayment).where(ProjectPayment.project_id == pid).order_by(ProjectPayment.id)
        ).scalars()
        assert [(p.voucher_no, p.override_reason) for p in rows] == [
            ("O-1", None),
            ("O-3", report["overrides"][0]["override_reason"]),
        ]
    assert world.get("admin", f"/projects/{pid}").json()["payments"]["paid_wan"] == "55.00"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("evaluations", {"kind": "software", "function_points": FP, "report_document_id": 2**70}),
        ("evaluations", {"kind": "hardware", "amount_wan": "1.00", "report_document_id": 2**63}),
        ("evaluations", {"kind": "hardware", "amount_wan": "1.00", "report_document_id": "1e3"}),
        ("evaluations", {"kind": "software", "function_points": {**FP, "functions": {"ILF": 10**300}}}),
        ("evaluations", {"kind": "software", "function_points": [1, 2]}),
        ("transitions", {"to": "evaluated", "documents": [2**70]}),
        ("transitions", {"to": "evaluated", "documents": ["x"]}),
    ],
)
def test_numbers_beyond_their_bounds_are_a_400_not_a_server_error(world, path, body):
    pid = create(world)
    upload(world, "declarer", pid, "proposal")
    world.post("declarer", f"/projects/{pid}/transitions", {"to": "declared", "not_duplicate_statement": "测试"})
    role = "finance_reviewer" if body.get("kind") == "hardware" or path == "transitions" else "bigdata_reviewer"
    refused(world.post(role, f"/projects/{pid}/{path}", body), "project.invalid", 400)


@pytest.mark.parametrize(
    "count",
    [
        {"functions": {"ILF": 10**300}},
        {"functions": {"EI": 2**63}},
        {"functions": {"EI": 1.5}},
        {"functions": [1]},
        {"quality": "high"},
        {"stage": ["early"]},
        {"direct_non_labour_wan": "abc"},
        {"direct_non_labour_wan": "1e400"},
        {"method": {"a": 1}},
    ],
)
def test_a_software_cost_preview_bounds_every_number(world, count):
    r = world.post("reader", "/projects/software-cost", {"function_points": {**FP, **count}})
    refused(r, "project.invalid", 400)


def test_a_software_cost_of_a_million_function_points_of_a_type_is_still_computed(world):
    r = world.post("reader", "/projects/software-cost", {"function_points": {**FP, "functions": {"ILF": 1_000_000}}})
    assert r.status_code == 200 and float(r.json()["amount_wan"]) > 0


FORMULAS = [
    '=HYPERLINK("http://x","点我")',
    "＝HYPERLINK(1)",
    "+1+2",
    "－1+2",
    "@SUM(A1)",
    "＠SUM(A1)",
    "\t=1",
    " =1",
    "\u3000＝1",
]


def test_no_export_cell_starts_a_formula_full_width_forms_included():
    for text in FORMULAS:
        assert safe_cell(text) == "'" + text, text
    assert safe_cell("-0.0500") == "-0.0500" and safe_cell("12.00") == "12.00" and safe_cell(7) == 7
    assert safe_cell("市级平台=升级") == "市级平台=升级"  # only the start of a cell runs
    assert csv_text(["a"], [["=1"]]) == "a\n'=1\n"


def test_the_budget_export_neutralises_a_formula_in_a_project_name(world):
    pid = create(world, name='=HYPERLINK("http://evil.example","打开")')
    to_evaluated(world, pid)
    to_approved(world, pid, amount_wan="50.00")
    text = world.get("finance_approver", "/projects/budget-lines", year=2025, format="csv").text
    assert text.splitlines()[1].startswith(f"{pid},\"'=HYPERLINK(")
    # JSON is data, as it is
    assert (
        world.get("finance_approver", "/projects/budget-lines", year=2025).json()["lines"][0]["project_name"][0] == "="
    )


TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def console_as(world, role: str) -> tuple[TestClient, str]:
    """A console client signed in with ``role``'s key, and its CSRF token."""
    c = another_client(world.client, base_url="https://testserver")
    token = TOKEN.search(c.get("/console/login").text).group(1)
    r = c.post("/console/login", data={"api_key": world.keys[role], "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return c, TOKEN.search(c.get("/console/projects").text).group(1)


def test_the_console_shows_another_departments_project_as_a_missing_one(world):
    pid = create(world, name="控制台可见性测试项目")
    doc = upload(world, "declarer", pid, "proposal")
    other, csrf = console_as(world, world.declarer_of(1))
    assert "控制台可见性测试项目" not in other.get("/console/projects").text
    for path in (
        f"/console/projects/{pid}",
        f"/console/projects/{pid}/documents/{doc['id']}",
        "/console/projects/987654",
    ):
        assert other.get(path).status_code == 404, path
    r = other.post(f"/console/projects/{pid}/transitions", data={"csrf_token": csrf, "to": "withdrawn"})
    assert r.status_code == 404
    assert world.get("admin", f"/projects/{pid}").json()["status"] == "draft"
    own, _ = console_as(world, "declarer")
    assert "控制台可见性测试项目" in own.get("/console/projects").text
    assert own.get(f"/console/projects/{pid}").status_code == 200
    reviewer, _ = console_as(world, "finance_reviewer")
    assert reviewer.get(f"/console/projects/{pid}").status_code == 200


def test_a_console_download_neutralises_a_full_width_formula_in_a_project_name(world):
    body = declare_body(
        world,
        kind="om",
        name='＝HYPERLINK("http://evil.example","运维")',
        scope="机房运维",
        requested_wan="10.00",
        om_category="application_data",
        construction_cost_wan="100.00",
        other_parts=[],
    )
    pid = world.post("declarer", "/projects", body).json()["id"]
    upload(world, "declarer", pid, "proposal")
    assert world.post("declarer", f"/projects/{pid}/transitions", {"to": "declared"}).status_code == 200
    c, _ = console_as(world, "admin")
    for fmt in ("csv", "xlsx"):
        r = c.get(f"/console/data/om-declarations.{fmt}", params={"year": 2025})
        assert r.status_code == 200, r.text
        if fmt == "csv":
            assert "'＝HYPERLINK(" in r.text and "\n＝HYPERLINK" not in r.text and ",＝HYPERLINK" not in r.text


def test_an_evaluation_cites_only_its_own_report_filed_by_its_own_role(world):
    pid = create(world)
    upload(world, "declarer", pid, "proposal")
    world.post("declarer", f"/projects/{pid}/transitions", {"to": "declared", "not_duplicate_statement": "测试"})
    proposal = world.get("admin", f"/projects/{pid}/documents").json()["items"][0]["id"]
    hardware_report = upload(world, "finance_reviewer", pid, "hardware_evaluation")["id"]
    body = {"kind": "software", "function_points": FP}
    for cited in (proposal, hardware_report, 987654):  # the declarer's proposal, another kind's report, none
        r = world.post("bigdata_reviewer", f"/projects/{pid}/evaluations", {**body, "report_document_id": cited})
        refused(r, "project.invalid", 400)
    stored_document(world, pid, doc_type="software_evaluation", role="finance_reviewer", department="finance 部门")
    foreign = world.get("admin", f"/projects/{pid}/documents").json()["items"][-1]["id"]
    r = world.post("bigdata_reviewer", f"/projects/{pid}/evaluations", {**body, "report_document_id": foreign})
    refused(r, "project.invalid", 400)
    own = upload(world, "bigdata_reviewer", pid, "software_evaluation")["id"]
    r = world.post("bigdata_reviewer", f"/projects/{pid}/evaluations", {**body, "report_document_id": own})
    assert r.status_code == 201 and r.json()["evaluations"][-1]["report_document_id"] == own
    r = world.post(
        "finance_reviewer",
        f"/projects/{pid}/evaluations",
        {"kind": "hardware", "amount_wan": "1.00", "report_document_id": hardware_report, "comment": "a\x00b"},
    )
    refused(r, "project.invalid", 400)
