"""The project lifecycle over the HTTP API on each backend: every transition and gate, dual control, the
control price, the 100 万 supervision gate, documents, roles, and refusals whatever order the routes are called in."""

import hashlib

import pytest

from mdm.access.departments import add_department, code_for_name  # keys name registered departments by id
from mdm.keys import Caller, create_key
from mdm.projects.rules import DOCUMENT_RULES
from tests.projects_world import FP, declare_body, make_world, post_document, to_approved, to_evaluated, upload


@pytest.fixture
def world(db, tmp_path):
    return make_world(db, tmp_path)


def create(world, **changes):
    r = world.post("declarer", "/projects", declare_body(world, **changes))
    assert r.status_code == 201, r.text
    return r.json()["id"]


def refused(response, code="project.transition_invalid", status=409):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code, body
    return body


def status_of(world, pid):
    return world.get("admin", f"/projects/{pid}").json()["status"]


def to_procuring(world, pid, *, approved="50.00", hardware="80.00"):
    to_evaluated(world, pid, hardware_wan=hardware)
    to_approved(world, pid, amount_wan=approved)
    r = world.post("declarer", f"/projects/{pid}/transitions", {"to": "procuring"})
    assert r.status_code == 200, r.text


def test_a_project_goes_from_draft_to_filed_with_every_step_recorded(world):
    pid = create(world)
    to_evaluated(world, pid)
    to_approved(world, pid)
    assert world.post("declarer", f"/projects/{pid}/transitions", {"to": "procuring"}).status_code == 200
    assert (
        world.post(
            "declarer", f"/projects/{pid}/vendors", {"uscc": world.entities[3]["uscc"], "role": "contractor"}
        ).status_code
        == 201
    )
    contract = upload(world, "declarer", pid, "contract")
    r = world.post(
        "declarer",
        f"/projects/{pid}/transitions",
        {"to": "implementing", "comment": "合同已签", "documents": [contract["id"]]},
    )
    assert r.status_code == 200, r.text
    upload(world, "declarer", pid, "acceptance_report")
    assert world.post("declarer", f"/projects/{pid}/transitions", {"to": "accepted"}).status_code == 200
    r = world.post("finance_approver", f"/projects/{pid}/transitions", {"to": "filed"})
    assert r.status_code == 200, r.text
    view = r.json()
    stages = [(t["from"], t["to"]) for t in view["transitions"]]
    assert stages == [
        (None, "draft"),
        ("draft", "declared"),
        ("declared", "evaluated"),
        ("evaluated", "approved"),
        ("approved", "procuring"),
        ("procuring", "implementing"),
        ("implementing", "accepted"),
        ("accepted", "filed"),
    ]
    implementing = view["transitions"][5]
    assert implementing["comment"] == "合同已签" and implementing["documents"] == [contract["id"]]
    assert implementing["department"] == world.entities[0]["uscc"] and world.keys["declarer"].startswith(
        implementing["key_prefix"]
    )
    assert (
        view["transitions"][-1]["department"] == code_for_name("finance_approver 部门")
        and view["transitions"][-1]["at"]
    )


def test_a_project_is_declared_for_a_registered_department_that_is_a_legal_entity(world):
    body = declare_body(world, department_uscc="91320500MA1XXXXX0J")  # a valid USCC of no legal entity
    refused(world.post("admin", "/projects", body), "project.department_unregistered", 400)
    with world.db.write() as session:  # registered, with a valid USCC, but no legal_entity record
        add_department(session, department_id="91320500MA1XXXXX0J", name="未登记的单位")
    refused(world.post("admin", "/projects", body), "project.entity_unknown", 400)
    unregistered = declare_body(world, department_uscc=world.entities[5]["uscc"])  # a legal entity, no department
    refused(world.post("admin", "/projects", unregistered), "project.department_unregistered", 400)
    refused(world.post("admin", "/projects", {**body, "department_uscc": None}), "project.invalid", 400)
    # a declarer key of a department that is no legal entity declares nothing
    stray = create_key(world.db, department="某个部门", role="declarer", register=True)
    r = world.client.post(
        "/projects", json={**body, "department_uscc": None}, headers={"Authorization": f"Bearer {stray}"}
    )
    refused(r, "project.entity_unknown", 400)


def test_a_declarers_project_is_its_keys_department_whatever_the_body_leaves_out(world):
    body = declare_body(world)
    del body["department_uscc"]
    r = world.post("declarer", "/projects", body)
    assert r.status_code == 201 and r.json()["department_uscc"] == world.entities[0]["uscc"]
    r = world.post("declarer", "/projects", {**body, "department_uscc": world.entities[0]["uscc"].lower()})
    assert r.status_code == 201  # repeating its own department is fine


def test_declaring_needs_a_proposal(world):
    pid = create(world)
    body = refused(world.post("declarer", f"/projects/{pid}/transitions", {"to": "declared"}))
    assert body["missing"] == ["document_proposal"]
    upload(world, "declarer", pid, "proposal")
    assert world.post("declarer", f"/projects/{pid}/transitions", {"to": "declared"}).status_code == 200


def test_both_evaluations_are_needed_and_the_control_price_is_their_sum_plus_other_parts(world):
    pid = create(world)
    upload(world, "declarer", pid, "proposal")
    world.post("declarer", f"/projects/{pid}/transitions", {"to": "declared"})
    body = refused(world.post("finance_reviewer", f"/projects/{pid}/transitions", {"to": "evaluated"}))
    assert body["missing"] == ["evaluation_software", "evaluation_hardware"]
    r = world.post("bigdata_reviewer", f"/projects/{pid}/evaluations", {"kind": "software", "function_points": FP})
    software = r.json()["evaluations"][-1]
    # Suzhou pack (the default): 234 FP (5×10 + 2×7 + 20×4 + 10×5 + 10×4) × 1.35 (early) = 315.9;
    # × 6.72 h (CSBMK 2025 P50) = 2122.848 h; / 174 h × 27471 元 (苏州) = 335 153.78 元 → 33.52 万元
    assert software["amount_wan"] == "33.52" and software["computation"]["steps"][0]["value"] == "234"
    assert r.json()["control_price_wan"] is None  # hardware not evaluated yet
    body = refused(world.post("finance_reviewer", f"/projects/{pid}/transitions", {"to": "evaluated"}))
    assert body["missing"] == ["evaluation_hardware"]
    r = world.post("finance_reviewer", f"/projects/{pid}/evaluations", {"kind": "hardware", "amount_wan": "12.34"})
    assert r.json()["control_price_wan"] == "50.86"  # 33.52 + 12.34 + 5.00 (等保测评服务)
    assert world.post("finance_reviewer", f"/projects/{pid}/transitions", {"to": "evaluated"}).status_code == 200


def test_an_evaluation_chooses_its_cost_standard_pack_and_records_it(world):
    pid = create(world)
    upload(world, "declarer", pid, "proposal")
    world.post("declarer", f"/projects/{pid}/transitions", {"to": "declared"})
    body = {"kind": "software", "function_points": FP, "cost_standard": "beijing-db11t1010-v1"}
    r = world.post("bigdata_reviewer", f"/projects/{pid}/evaluations", body)
    assert r.status_code == 201, r.text
    software = r.json()["evaluations"][-1]
    # Beijing pack: 2122.848 h (as above) / 176 h (DB11/T 1010) × 32198 元 (北京) = 388 360.57 元 → 38.84 万元
    assert software["amount_wan"] == "38.84"
    assert software["computation"]["cost_standard"] == "beijing-db11t1010-v1"
    r = world.post("bigdata_reviewer", f"/projects/{pid}/evaluations", {"kind": "software", "function_points": FP})
    assert r.json()["evaluations"][-1]["computation"]["cost_standard"] == "suzhou-csbmk2025-v1"
    from mdm.projects.models import ProjectAction

    with world.db.read() as session:
        recorded = [
            a.detail.get("cost_standard")
            for a in session.query(ProjectAction)
            .filter_by(project_id=pid, action="evaluation")
            .order_by(ProjectAction.id)
        ]
    assert recorded == ["beijing-db11t1010-v1", "suzhou-csbmk2025-v1"]
    r = world.post("bigdata_reviewer", f"/projects/{pid}/evaluations", {**body, "cost_standard": "made-up-2030"})
    assert r.status_code == 400 and r.json()["code"] == "project.cost_standard_unknown"


def test_each_evaluation_needs_its_own_role(world):
    pid = create(world)
    upload(world, "declarer", pid, "proposal")
    world.post("declarer", f"/projects/{pid}/transitions", {"to": "declared"})
    refused(
        world.post("finance_reviewer", f"/projects/{pid}/evaluations", {"kind": "software", "function_points": FP}),
        "auth.forbidden",
        403,
    )
    refused(
        world.post("bigdata_reviewer", f"/projects/{pid}/evaluations", {"kind": "hardware", "amount_wan": "1.00"}),
        "auth.forbidden",
        403,
    )
    refused(
        world.post("declarer", f"/projects/{pid}/evaluations", {"kind": "performance", "passed": True}),
        "auth.forbidden",
        403,
    )
    # the software amount is computed, never typed: an amount_wan sent with it is refused, not ignored
    r = world.post(
        "bigdata_reviewer",
        f"/projects/{pid}/evaluations",
        {"kind": "software", "amount_wan": "999.00", "function_points": FP},
    )
    assert r.status_code == 400 and r.json()["fields"] == ["amount_wan"]
    r = world.post("bigdata_reviewer", f"/projects/{pid}/evaluations", {"kind": "software", "function_points": FP})
    assert r.json()["evaluations"][-1]["amount_wan"] == "33.52"


def test_approval_needs_a_passed_performance_evaluation_and_dual_control(world):
    pid = create(world)
    to_evaluated(world, pid)
    approve = {"to": "approved"}
    body = refused(world.post("finance_approver", f"/projects/{pid}/transitions", approve))
    assert body["missing"] == ["performance_evaluation_passed", "plan_control", "budget_control"]
    world.post("finance_reviewer", f"/projects/{pid}/evaluations", {"kind": "performance", "passed": False})
    world.post("plan_control", f"/projects/{pid}/plan-control")
    world.post("finance_approver", f"/projects/{pid}/budget-control", {"amount_wan": "50.00"})
    body = refused(world.post("finance_approver", f"/projects/{pid}/transitions", approve))
    assert body["missing"] == ["performance_evaluation_passed"]
    world.post("finance_reviewer", f"/projects/{pid}/evaluations", {"kind": "performance", "passed": True})
    r = world.post("finance_approver", f"/projects/{pid}/transitions", approve)
    assert r.status_code == 200 and r.json()["approved_wan"] == "50.00"


def test_plan_control_alone_or_budget_control_alone_does_not_approve(world):
    for control in ("plan", "budget"):
        pid = create(world, name=f"独立审批测试{control}", scope=f"{control} 控制测试")
        to_evaluated(world, pid)
        world.post("finance_reviewer", f"/projects/{pid}/evaluations", {"kind": "performance", "passed": True})
        if control == "plan":
            world.post("plan_control", f"/projects/{pid}/plan-control")
        else:
            world.post("finance_approver", f"/projects/{pid}/budget-control", {"amount_wan": "10.00"})
        body = refused(world.post("finance_approver", f"/projects/{pid}/transitions", {"to": "approved"}))
        assert body["missing"] == (["budget_control"] if control == "plan" else ["plan_control"])
    refused(world.post("finance_approver", f"/projects/{pid}/plan-control"), "auth.forbidden", 403)
    refused(
        world.post("plan_control", f"/projects/{pid}/budget-control", {"amount_wan": "1.00"}), "auth.forbidden", 403
    )


def test_an_approved_amount_above_the_control_price_is_refused(world):
    pid = create(world)
    assert to_evaluated(world, pid)["control_price_wan"] == "58.52"
    body = refused(
        world.post("finance_approver", f"/projects/{pid}/budget-control", {"amount_wan": "58.53"}),
        "project.over_control_price",
    )
    assert body["control_price_wan"] == "58.52"
    r = world.post("finance_approver", f"/projects/{pid}/budget-control", {"amount_wan": "58.52"})
    assert r.status_code == 200 and r.json()["approved_wan"] == "58.52"


@pytest.mark.parametrize(("approved", "needs_supervision"), [("99.99", False), ("100.00", True), ("100.01", True)])
def test_implementation_from_100_wan_needs_a_supervision_contract(world, approved, needs_supervision):
    pid = create(world, requested_wan="150.00")
    to_procuring(world, pid, approved=approved)  # control price 33.52 + 80.00 + 5.00 = 118.52
    world.post("declarer", f"/projects/{pid}/vendors", {"uscc": world.entities[3]["uscc"], "role": "contractor"})
    upload(world, "declarer", pid, "contract")
    r = world.post("declarer", f"/projects/{pid}/transitions", {"to": "implementing"})
    if not needs_supervision:
        assert r.status_code == 200, r.text
        return
    assert refused(r)["missing"] == ["supervision_contract"]
    upload(world, "declarer", pid, "supervision_contract")
    assert refused(world.post("declarer", f"/projects/{pid}/transitions", {"to": "implementing"}))["missing"] == [
        "supervision_contract"
    ]
    r = world.post("declarer", f"/projects/{pid}/vendors", {"uscc": world.entities[4]["uscc"], "role": "supervisor"})
    assert r.status_code == 201
    r = world.post("declarer", f"/projects/{pid}/transitions", {"to": "implementing"})
    assert r.status_code == 200, r.text
    assert {v["role"] for v in r.json()["vendors"]} == {"contractor", "supervisor"}


def test_implementing_needs_a_contractor_and_a_contract_and_acceptance_needs_a_report(world):
    pid = create(world)
    to_procuring(world, pid)
    assert refused(world.post("declarer", f"/projects/{pid}/transitions", {"to": "implementing"}))["missing"] == [
        "vendor_contractor",
        "document_contract",
    ]
    world.post("declarer", f"/projects/{pid}/vendors", {"uscc": world.entities[3]["uscc"], "role": "contractor"})
    upload(world, "declarer", pid, "contract")
    assert world.post("declarer", f"/projects/{pid}/transitions", {"to": "implementing"}).status_code == 200
    assert refused(world.post("declarer", f"/projects/{pid}/transitions", {"to": "accepted"}))["missing"] == [
        "acceptance_report"
    ]
    upload(world, "declarer", pid, "acceptance_report")
    assert world.post("declarer", f"/projects/{pid}/transitions", {"to": "accepted"}).status_code == 200


def test_rejection_needs_a_reason_and_withdrawal_is_the_declarers(world):
    pid = create(world)
    upload(world, "declarer", pid, "proposal")
    world.post("declarer", f"/projects/{pid}/transitions", {"to": "declared"})
    assert refused(world.post("finance_reviewer", f"/projects/{pid}/transitions", {"to": "rejected"}))["missing"] == [
        "comment"
    ]
    refused(world.post("finance_reviewer", f"/projects/{pid}/transitions", {"to": "withdrawn"}), "auth.forbidden", 403)
    r = world.post("finance_reviewer", f"/projects/{pid}/transitions", {"to": "rejected", "comment": "不在规划内"})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    for to in ("declared", "evaluated", "approved", "withdrawn"):
        refused(world.post("admin", f"/projects/{pid}/transitions", {"to": to}))
    other = create(world, name="撤回测试项目", scope="撤回")
    assert world.post("declarer", f"/projects/{other}/transitions", {"to": "withdrawn"}).status_code == 200


ACTIONS = {
    "declare": ("declarer", "transitions", {"to": "declared"}),
    "evaluate": ("finance_reviewer", "transitions", {"to": "evaluated"}),
    "approve": ("finance_approver", "transitions", {"to": "approved"}),
    "procure": ("declarer", "transitions", {"to": "procuring"}),
    "implement": ("declarer", "transitions", {"to": "implementing"}),
    "accept": ("declarer", "transitions", {"to": "accepted"}),
    "file": ("finance_approver", "transitions", {"to": "filed"}),
    "software": ("bigdata_reviewer", "evaluations", {"kind": "software", "function_points": FP}),
    "hardware": ("finance_reviewer", "evaluations", {"kind": "hardware", "amount_wan": "1.00"}),
    "budget": ("finance_approver", "budget-control", {"amount_wan": "1.00"}),
    "plan": ("plan_control", "plan-control", {}),
    "vendor": ("admin", "vendors", {"uscc": None, "role": "contractor"}),
}
# what each stage admits (everything else must be refused)
ADMITTED = {
    "draft": {"declare"},
    "declared": {"evaluate", "software", "hardware", "plan"},
    "evaluated": {"approve", "budget", "plan"},
    "approved": {"procure"},
    "procuring": {"implement", "vendor"},
    "implementing": {"accept"},
    "accepted": {"file"},
    "filed": set(),
}


def test_nothing_refused_is_reached_by_calling_the_routes_in_another_order(world):
    """At every stage, try every action the stage does not admit (by a key allowed to act: admin where it
    matters) with every document the stage takes uploaded, so only the order can refuse it, and every document
    it does not take: each is refused and changes nothing."""
    pid = create(world, requested_wan="150.00")
    ACTIONS["vendor"][2]["uscc"] = world.entities[3]["uscc"]
    path = ["draft", "declared", "evaluated", "approved", "procuring", "implementing", "accepted", "filed"]
    steps = {
        "draft": [],
        "declared": ["declare"],
        "evaluated": ["software", "hardware", "evaluate"],
        "approved": ["plan", "budget", "approve"],
        "procuring": ["procure"],
        "implementing": ["vendor", "implement"],
        "accepted": ["accept"],
        "filed": ["file"],
    }
    for stage in path:
        if stage == "approved":
            world.post("finance_reviewer", f"/projects/{pid}/evaluations", {"kind": "performance", "passed": True})
        for name in steps[stage]:
            role, route, body = ACTIONS[name]
            r = world.post("admin" if name != "budget" else role, f"/projects/{pid}/{route}", body)
            assert r.status_code in (200, 201), (stage, name, r.text)
        assert status_of(world, pid) == stage
        for doc, (stages, _) in DOCUMENT_RULES.items():
            if stage in stages:
                upload(world, "admin", pid, doc)
        before = world.get("admin", f"/projects/{pid}").json()
        for name, (_, route, body) in ACTIONS.items():
            if name in ADMITTED[stage]:
                continue
            r = world.post("admin", f"/projects/{pid}/{route}", body)
            assert r.status_code == 409, (stage, name, r.text)
            assert r.json()["code"] == "project.transition_invalid"
        for doc, (stages, _) in DOCUMENT_RULES.items():
            if stage not in stages:
                r = post_document(world, "admin", pid, doc)
                assert r.status_code == 409 and r.json()["code"] == "project.transition_invalid", (stage, doc)
        after = world.get("admin", f"/projects/{pid}").json()
        assert after == before
    # the budget approved in 'evaluated' was 1.00 万元: under 100 万, so no supervision was needed
    assert world.get("admin", f"/projects/{pid}").json()["approved_wan"] == "1.00"


def test_an_approved_project_cannot_be_re_evaluated_above_its_control_price(world):
    pid = create(world)
    to_evaluated(world, pid)
    to_approved(world, pid)
    r = world.post("finance_reviewer", f"/projects/{pid}/evaluations", {"kind": "hardware", "amount_wan": "999.00"})
    refused(r)
    r = world.post("finance_approver", f"/projects/{pid}/budget-control", {"amount_wan": "1.00"})
    refused(r)


def test_documents_are_stored_with_their_sha256_and_size_and_downloadable(world):
    pid = create(world)
    content = "项目建议书 2025".encode() * 100
    doc = upload(world, "declarer", pid, "proposal", content)
    assert doc["sha256"] == hashlib.sha256(content).hexdigest() and doc["size"] == len(content)
    listed = world.get("admin", f"/projects/{pid}/documents").json()["items"]
    assert [d["id"] for d in listed] == [doc["id"]]
    r = world.get("admin", f"/projects/{pid}/documents/{doc['id']}")
    assert r.status_code == 200 and r.content == content and r.headers["x-content-sha256"] == doc["sha256"]
    other = create(world, name="另一个项目", scope="另一个")
    refused(world.get("admin", f"/projects/{other}/documents/{doc['id']}"), "project.not_found", 404)
    r = world.client.post(
        f"/projects/{pid}/documents",
        data={"doc_type": "selfie"},
        files={"file": ("a.txt", b"x")},
        headers=world.h("declarer"),
    )
    refused(r, "project.invalid", 400)
    r = world.client.post(
        f"/projects/{pid}/documents",
        data={"doc_type": "proposal"},
        files={"file": ("a.txt", b"x")},
        headers=world.h("reader"),
    )
    refused(r, "auth.forbidden", 403)


def test_only_a_declarer_creates_and_a_department_reads_its_own(world):
    refused(world.post("reader", "/projects", declare_body(world)), "auth.forbidden", 403)
    refused(world.post("finance_approver", "/projects", declare_body(world)), "auth.forbidden", 403)
    pid = create(world)
    own_reader = create_key(world.db, department=world.entities[0]["uscc"], role="reader")
    headers = {"Authorization": f"Bearer {own_reader}"}
    assert world.client.get(f"/projects/{pid}", headers=headers).status_code == 200
    found = world.client.get("/projects", params={"q": "不动产", "year": 2025}, headers=headers)
    assert [p["id"] for p in found.json()["items"]] == [pid]
    assert world.get("finance_reviewer", "/projects", q="内涝").json()["total"] == 0
    # another department's reader and loader: the project answers as a missing one, and is not listed
    for role in ("reader", "loader"):
        refused(world.get(role, f"/projects/{pid}"), "project.not_found", 404)
        refused(world.get(role, "/projects/999999"), "project.not_found", 404)
        assert world.get(role, "/projects", q="不动产").json() == {"items": [], "total": 0}


def test_the_old_roles_keep_their_order_and_department_roles_admit_only_themselves():
    def caller(role):
        return Caller(department="d", role=role, key_prefix="mdm_x")

    assert caller("admin").may("loader") and caller("loader").may("reader") and not caller("reader").may("loader")
    assert not caller("loader").may("admin") and caller("admin").may("finance_approver")
    assert caller("declarer").may("declarer") and not caller("declarer").may("reader")
    assert not caller("declarer").may("finance_approver") and not caller("reader").may("declarer")


def test_a_text_the_store_cannot_keep_is_refused_not_a_server_error(world):
    r = world.post("declarer", "/projects", declare_body(world, name="坏\x00名字"))
    assert r.status_code == 400 and r.json()["code"] == "project.invalid"
    pid = create(world)
    r = world.post("declarer", f"/projects/{pid}/transitions", {"to": "withdrawn", "comment": "x\x00"})
    assert r.status_code == 400 and r.json()["code"] == "project.invalid"
    r = world.post("declarer", "/projects", declare_body(world, requested_wan="1e400"))
    assert r.status_code == 400 and r.json()["code"] == "project.invalid"


def test_every_project_action_is_an_event_of_the_audit_chain(world):
    from mdm import audit

    pid = create(world)
    to_evaluated(world, pid)
    with world.db.read() as session:
        events = [e for e in audit.find_events(session) if e["action"].startswith("project:")]
        check = audit.verify_chain(session)
    assert check.ok, check
    ours = [e for e in events if e["target"] == str(pid)]
    assert {e["action"] for e in ours} >= {"project:transition", "project:evaluation"}, [e["action"] for e in ours]
    declared = next(e for e in reversed(ours) if e["action"] == "project:transition")  # newest first: the oldest
    assert declared["department"] == world.entities[0]["uscc"]
    assert world.keys["declarer"].startswith(declared["key_prefix"])


def test_a_declarer_acts_only_for_its_own_department_and_another_ones_project_is_a_missing_one(world):
    other = world.declarer_of(1)  # a declarer key of entities[1]'s department
    refused(world.post(other, "/projects", declare_body(world)), "project.department_mismatch", 403)
    pid = create(world)  # the declarer of entities[0], the declaring department
    missing = pid + 1000
    for project in (pid, missing):  # another department's project answers exactly as a missing id
        refused(world.get(other, f"/projects/{project}"), "project.not_found", 404)
        refused(world.get(other, f"/projects/{project}/documents"), "project.not_found", 404)
        refused(world.get(other, f"/projects/{project}/duplicates"), "project.not_found", 404)
        refused(post_document(world, other, project, "proposal"), "project.not_found", 404)
        refused(world.post(other, f"/projects/{project}/transitions", {"to": "withdrawn"}), "project.not_found", 404)
    assert world.get(other, "/projects").json() == {"items": [], "total": 0}
    upload(world, "declarer", pid, "proposal")
    body = {"to": "declared", "not_duplicate_statement": "测试项目"}
    refused(world.post(other, f"/projects/{pid}/transitions", body), "project.not_found", 404)
    to_evaluated(world, pid)
    to_approved(world, pid, amount_wan="50.00")
    refused(world.post(other, f"/projects/{pid}/transitions", {"to": "procuring"}), "project.not_found", 404)
    assert world.post("declarer", f"/projects/{pid}/transitions", {"to": "procuring"}).status_code == 200
    vendor = {"uscc": world.entities[3]["uscc"], "role": "contractor"}
    refused(world.post(other, f"/projects/{pid}/vendors", vendor), "project.not_found", 404)
    assert status_of(world, pid) == "procuring" and world.get("admin", f"/projects/{pid}").json()["vendors"] == []
    # the reviewing bureaus act on every department's projects, and a steward (admin) declares for any
    theirs = world.post("admin", "/projects", declare_body(world, department_uscc=world.entities[1]["uscc"]))
    assert theirs.status_code == 201 and theirs.json()["department_uscc"] == world.entities[1]["uscc"]
    assert world.get(other, f"/projects/{theirs.json()['id']}").status_code == 200
    assert [p["id"] for p in world.get(other, "/projects").json()["items"]] == [theirs.json()["id"]]


def test_each_document_type_has_its_stages_and_its_roles(world):
    pid = create(world)
    refused(post_document(world, "declarer", pid, "contract"))  # no contract before procurement
    body = refused(post_document(world, "declarer", pid, "acceptance_report"))
    assert body["missing"] == ["stage_implementing", "stage_accepted"]
    refused(post_document(world, "declarer", pid, "approval"), "auth.forbidden", 403)  # the approval is finance's
    refused(post_document(world, "declarer", pid, "software_evaluation"), "auth.forbidden", 403)
    upload(world, "declarer", pid, "feasibility_study")
    upload(world, "declarer", pid, "other")
    to_evaluated(world, pid)
    refused(post_document(world, "declarer", pid, "proposal"))  # declaration is over
    upload(world, "bigdata_reviewer", pid, "software_evaluation")
    upload(world, "finance_approver", pid, "approval")
    r = world.post("declarer", f"/projects/{pid}/transitions", {"to": "withdrawn"})
    assert r.status_code == 200
    for doc in ("other", "proposal"):
        refused(post_document(world, "admin", pid, doc))  # a closed project takes no document
    types = [d["doc_type"] for d in world.get("admin", f"/projects/{pid}/documents").json()["items"]]
    assert types == ["feasibility_study", "other", "proposal", "software_evaluation", "approval"]
