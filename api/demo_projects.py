"""The demo's synthetic e-government projects: a year (2025) of construction and O&M projects, and the O&M
projects of 2024 so the census shows growth. Driven through the same ``mdm.projects`` services as the API, with
a caller per role, so every rule applies; from a fixed seed, and only into a database that has no project yet.

The declaring departments are the demo's government bodies (:data:`api.samples.GOVERNMENT_BODIES`: 公安局,
市场监督管理局, 政务服务管理办公室, 水务局, …), each construction project declared by the body it belongs to;
vendors are the demo's synthetic companies (:func:`api.samples.entities`). Approvals are at most the amount
requested and at most the control price. The O&M projects maintain the same eighteen systems in 2024 and 2025,
each contract 7–14 % of its system's construction cost and changing by −3 % to +8 % from one year to the next,
so the census shows growth of a few per cent per category.

Among the projects: a duplicate pair (a differently worded declaration with a not-a-duplicate statement), one
over 100 万元 with a supervision contract, and a vendor with an administrative penalty on record (a minor one, so
the award goes through and the record is shown with it).
"""

from __future__ import annotations

import random
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select

from mdm.access.departments import add_department
from mdm.db import Database
from mdm.keys import Caller
from mdm.models import Department
from mdm.projects import documents, evaluations, lifecycle, om, service, vendors
from mdm.projects.models import Project

YEAR = 2025
ROLES = ("bigdata_reviewer", "finance_reviewer", "plan_control", "finance_approver")
CONSTRUCTION = [
    (
        "政务服务一网通办平台升级改造",
        "整合各部门网上办事入口，建设统一身份认证、电子证照调用和好差评系统，实现政务服务事项一网通办",
    ),
    (
        "一网通办政务服务平台改造升级",
        "建设统一身份认证和电子证照调用能力，整合部门网上办事入口，完善好差评评价，推动全程网办",
    ),
    ("城市内涝监测预警系统", "在易涝点布设水位传感器，建设排水管网监测与暴雨内涝预警模型"),
    ("市级不动产登记信息平台升级", "不动产登记受理、审核、登簿、发证全流程线上办理，与税务、公安数据对接"),
    ("智慧养老服务管理平台", "建设居家养老服务工单、补贴发放和服务机构监管功能"),
    ("公共信用信息平台三期", "归集双公示、失信名单和信用评价数据，提供信用核查和联合奖惩服务"),
    ("城市运行管理中心数据中台", "建设数据汇聚、治理、共享交换和城市运行指标体系，对接各委办局业务系统"),
    ("校园食品安全智慧监管系统", "建设学校食堂明厨亮灶视频接入、食材溯源和检查任务管理"),
]
# The declaring body of each construction project (index into api.samples.GOVERNMENT_BODIES): 政务服务管理办公室
# declares the duplicate pair, 水务局 the flood warning, 自然资源和规划局 the property registry, 民政局 the elderly
# care, 发展和改革委员会 the credit platform, 城市管理局 the city operations centre, 市场监督管理局 school food safety.
DECLARED_BY = [4, 4, 5, 6, 2, 7, 8, 1]
# (target stage, hardware 万元) per construction project; index 6 is the one over 100 万 with supervision
PLAN = [
    ("accepted", "30.00"),
    ("approved", "25.00"),
    ("implementing", "18.00"),
    ("evaluated", "20.00"),
    ("declared", "0.00"),
    ("procuring", "10.00"),
    ("implementing", "120.00"),
    ("draft", "0.00"),
]
# The O&M categories of GB/T 28827.1-2022 (code list om_category, migration 0011); the demo's first categories
# map onto them as the migration maps existing projects: infrastructure → facility, hardware →
# physical_resource, software and data → application_data, security → platform_resource, service_desk →
# user_support.
OM_CATEGORIES = {
    "facility": "机房基础设施",
    "physical_resource": "物理资源",
    "virtual_resource": "虚拟资源",
    "platform_resource": "平台资源",
    "application_data": "应用和数据",
    "user_support": "用户支持",
}
# The systems the O&M projects maintain, three per category: (system, category, declaring body's index).
OM_SYSTEMS = [
    ("市级政务云机房", "facility", 4),
    ("公安数据中心机房", "facility", 0),
    ("税务数据灾备机房", "facility", 3),
    ("政务外网核心网络设备", "physical_resource", 4),
    ("城市内涝监测传感设备", "physical_resource", 5),
    ("城市管理视频监控前端设备", "physical_resource", 8),
    ("政务云虚拟化资源池", "virtual_resource", 4),
    ("预算管理一体化系统云资源", "virtual_resource", 9),
    ("公安视频云平台", "virtual_resource", 0),
    ("网络安全态势感知平台", "platform_resource", 4),
    ("市场监管数据库与中间件平台", "platform_resource", 1),
    ("财政业务中间件平台", "platform_resource", 9),
    ("一网通办政务服务平台", "application_data", 4),
    ("不动产登记信息平台", "application_data", 6),
    ("公共信用信息平台", "application_data", 7),
    ("12345政务服务热线坐席", "user_support", 4),
    ("社会救助业务终端", "user_support", 2),
    ("市场监管执法终端", "user_support", 1),
]


# The reviewing bureaus of each role (api.samples.GOVERNMENT_BODIES; ``bigdata`` is the demo's 大数据管理局): the
# big-data bureau reviews the software part, the finance bureau's review centre the hardware part and the budget,
# the development and reform commission controls the plan.
REVIEWERS = {
    "bigdata_reviewer": "bigdata",
    "finance_reviewer": "11990000MB00001008",
    "plan_control": "11990000MB0000080T",
    "finance_approver": "11990000MB00001008",
}


def _callers() -> dict[str, Caller]:
    return {role: Caller(department=REVIEWERS[role], role=role, key_prefix="demo") for role in ROLES}


def _declarer(department_uscc: str) -> Caller:
    """The declarer of one department: a declarer acts only for its own department's projects."""
    return Caller(department=department_uscc, role="declarer", key_prefix="demo")


def _register(db: Database, declaring: list[dict[str, Any]]) -> None:
    """Register each declaring department (its USCC as id) unless it is: a project belongs to a registered
    department."""
    with db.write() as session:
        for entity in declaring:
            if session.get(Department, entity["uscc"]) is None:
                add_department(session, department_id=entity["uscc"], name=entity["name"])


def _count(rng: random.Random, low: int, high: int) -> int:
    return rng.randrange(low, high)


def _function_points(rng: random.Random) -> dict[str, Any]:
    return {
        "method": "estimated",
        "functions": {
            "ILF": _count(rng, 3, 15),
            "EIF": _count(rng, 1, 6),
            "EI": _count(rng, 10, 60),
            "EO": _count(rng, 5, 30),
            "EQ": _count(rng, 5, 40),
        },
        "stage": "early",
        "application_type": "business",
        "language": "java",
        "team": "related",
    }


def _doc(db: Database, caller: Caller, pid: int, doc_type: str) -> None:
    content = f"demo {doc_type} of project {pid} (synthetic)".encode()
    documents.upload_document(
        db,
        caller=caller,
        project_id=pid,
        doc_type=doc_type,
        file_name=f"{doc_type}.txt",
        media_type="text/plain",
        content=content,
    )


def _advance(
    db: Database,
    who: dict[str, Caller],
    pid: int,
    target: str,
    *,
    hardware: str,
    rng: random.Random,
    contractor: str,
    supervisor: str,
) -> None:
    order = ["draft", "declared", "evaluated", "approved", "procuring", "implementing", "accepted"]
    reached = order.index(target)
    reviewer = who["finance_approver"]  # sees every department's projects
    declarer = _declarer(service.get_project(db, pid, caller=reviewer)["department_uscc"])
    if reached >= 1:
        _doc(db, declarer, pid, "proposal")
        lifecycle.transition(
            db,
            caller=declarer,
            project_id=pid,
            to="declared",
            not_duplicate_statement="二期仅建设移动端和自助终端，与一期不重复",
        )
    if reached >= 2:
        evaluations.record_evaluation(
            db,
            caller=who["bigdata_reviewer"],
            project_id=pid,
            body={"kind": "software", "function_points": _function_points(rng)},
        )
        evaluations.record_evaluation(
            db, caller=who["finance_reviewer"], project_id=pid, body={"kind": "hardware", "amount_wan": hardware}
        )
        lifecycle.transition(db, caller=who["finance_reviewer"], project_id=pid, to="evaluated")
    if reached >= 3:
        evaluations.record_evaluation(
            db, caller=who["finance_reviewer"], project_id=pid, body={"kind": "performance", "passed": True}
        )
        evaluations.confirm_plan(db, caller=who["plan_control"], project_id=pid)
        shown = service.get_project(db, pid, caller=reviewer)
        approved = min(Decimal(shown["control_price_wan"]), Decimal(shown["requested_wan"]))  # at most both
        evaluations.approve_budget(db, caller=who["finance_approver"], project_id=pid, amount_wan=str(approved))
        lifecycle.transition(db, caller=who["finance_approver"], project_id=pid, to="approved")
    if reached >= 4:
        lifecycle.transition(db, caller=declarer, project_id=pid, to="procuring")
    if reached >= 5:
        vendors.award(db, caller=declarer, project_id=pid, uscc=contractor, role="contractor")
        _doc(db, declarer, pid, "contract")
        if float(service.get_project(db, pid, caller=reviewer)["approved_wan"]) >= 100:
            vendors.award(db, caller=declarer, project_id=pid, uscc=supervisor, role="supervisor")
            _doc(db, declarer, pid, "supervision_contract")
        lifecycle.transition(db, caller=declarer, project_id=pid, to="implementing")
    if reached >= 6:
        _doc(db, declarer, pid, "acceptance_report")
        lifecycle.transition(db, caller=declarer, project_id=pid, to="accepted")


def seed_projects(
    db: Database, bodies: list[dict[str, Any]], companies: list[dict[str, Any]], credit: list[dict[str, Any]]
) -> int:
    """Seed the demo projects unless the database already has projects; returns how many were created.

    ``bodies``: the declaring government bodies (legal_entity rows, :func:`api.samples.government_bodies`),
    ``companies``: the vendors, ``credit``: their credit records (one penalised company is a contractor)."""
    with db.read() as session:
        if session.execute(select(func.count()).select_from(Project)).scalar_one():
            return 0
    rng = random.Random(20250101)
    who = _callers()
    penalised = {
        r["subject_uscc"] for r in credit if r.get("record_type") == "administrative_penalty" and r.get("subject_uscc")
    }
    departments = [b["uscc"] for b in bodies]
    _register(db, bodies)
    others = [c["uscc"] for c in companies[5:] if c["uscc"] not in penalised]
    contractor_with_penalty = sorted(penalised)[0]
    created = 0
    for i, ((name, scope), (target, hardware)) in enumerate(zip(CONSTRUCTION, PLAN, strict=True)):
        body = {
            "kind": "construction",
            "year": YEAR - 1 if i == 0 else YEAR,
            "name": name,
            "scope": scope,
            "department_uscc": departments[DECLARED_BY[i]],
            "requested_wan": f"{rng.randrange(40, 300)}.00",
            "systems": [name.replace("升级改造", "").replace("三期", "")],
            "other_parts": [{"name": "等保测评与密码测评服务", "amount_wan": "6.00"}],
        }
        pid = service.create_project(db, caller=_declarer(body["department_uscc"]), body=body)["id"]
        contractor = contractor_with_penalty if i == 2 else others[i]
        _advance(db, who, pid, target, hardware=hardware, rng=rng, contractor=contractor, supervisor=others[-1])
        created += 1
    for system, category, owner in OM_SYSTEMS:
        cost = rng.randrange(80, 1500)
        contract = Decimal(cost) * Decimal(str(round(rng.uniform(0.07, 0.14), 4)))
        for year in (YEAR - 1, YEAR):
            if year == YEAR:
                contract *= Decimal(str(round(rng.uniform(0.97, 1.08), 4)))  # last year's contract, renewed
            declaration = {
                "kind": "om",
                "year": year,
                "name": f"{system}{year}年度运维服务（{OM_CATEGORIES[category]}）",
                "scope": f"对{system}提供{year}年度例行操作、响应支持和优化改善服务",
                "requested_wan": str(contract.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)),
                "department_uscc": departments[owner],
                "om_category": category,
                "construction_cost_wan": f"{cost}.00",
                "systems": [system],
            }
            declarer = _declarer(declaration["department_uscc"])
            pid = service.create_project(db, caller=declarer, body=declaration)["id"]
            _doc(db, declarer, pid, "proposal")
            lifecycle.transition(
                db,
                caller=declarer,
                project_id=pid,
                to="declared",
                not_duplicate_statement=f"{system}{year}年度运维，与其他年度的合同服务期不同",
            )
            created += 1
    _seed_om_reviews(db, who)
    return created


# The O&M approval flow (mdm.projects.om) on the 2025 O&M declarations above, each reviewed against its category's
# 2024 standard (the census of the declarations before it): the first within the standard proceeds; the first
# above it is justified and approved by the finance reviewer; the second above it is justified and awaits the
# decision. The systems are the same in 2024 and 2025, so each review shows its system's growth. No project is
# added, so the census stays as seeded.
OM_JUSTIFICATIONS = (
    "2025 年新增跨部门数据接口和等保三级测评，运维范围扩大到同城灾备中心",
    "本年度新增设备纳入运维范围，巡检频次提高",
)


def _seed_om_reviews(db: Database, who: dict[str, Caller]) -> None:
    items = sorted(om.queue(db, caller=who["finance_reviewer"], year=YEAR)["items"], key=lambda p: p["id"])
    within = [p for p in items if p["outcome"] == "within"][:1]
    above = [p for p in items if p["outcome"] != "within"][:2]
    span = {"period_start": f"{YEAR}-01-01", "period_end": f"{YEAR}-12-31"}
    for item in within:
        om.submit_review(db, caller=_declarer(item["department_uscc"]), project_id=item["id"], body=span)
    for n, item in enumerate(above):
        body = {**span, "justification": OM_JUSTIFICATIONS[n]}
        om.submit_review(db, caller=_declarer(item["department_uscc"]), project_id=item["id"], body=body)
        if n == 0:
            reason = "新增接口与等保测评要求属实，同意按申报合同金额进入评审"
            decision = {"decision": "approve", "reason": reason}
            om.decide(db, caller=who["finance_reviewer"], project_id=item["id"], body=decision)
