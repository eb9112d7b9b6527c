"""The projects' data dictionary (数据字典): stage names, project kinds, document types, evaluation kinds, O&M
categories and O&M service kinds as code lists with Chinese titles, in the same ``code_list_entries`` table as
every other code list (seeded by migration 0006; the O&M lists by migration 0012 after GB/T 28827.1-2022 — service
objects 机房基础设施, 物理资源, 虚拟资源, 平台资源, 应用和数据 plus 用户支持; service kinds 例行操作, 响应支持,
优化改善, 咨询评估; the cost-computation steps and vendor roles by migration 0013, so the console shows each
code with its title). A steward replaces a list with ``mdm codes import om_category file.csv``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mdm.db import Database
from mdm.models import CodeListEntry

LISTS = (
    "project_stage",
    "project_kind",
    "project_document_type",
    "evaluation_kind",
    "om_category",
    "om_service_kind",
    "cost_step",
    "vendor_role",
)
TITLES = {
    "project_stage": "项目阶段",
    "project_kind": "项目类别",
    "project_document_type": "文档类型",
    "evaluation_kind": "评审类别",
    "om_category": "运维服务对象类别（GB/T 28827.1-2022）",
    "om_service_kind": "运维服务类型（GB/T 28827.1-2022）",
    "cost_step": "软件开发费用计算步骤（GB/T 36964-2018）",
    "vendor_role": "中标单位角色",
}


def codes(session: Session, list_name: str) -> dict[str, str]:
    """``{code: Chinese title}`` of one list, in code order (entries in force today or open)."""
    rows = session.execute(
        select(CodeListEntry.code, CodeListEntry.name)
        .where(CodeListEntry.list_name == list_name, CodeListEntry.valid_to.is_(None))
        .order_by(CodeListEntry.id)
    ).all()
    return {code: name for code, name in rows}


def dictionary(db: Database) -> dict[str, Any]:
    """Every list: ``{"lists": [{"name", "title", "codes": [{"code", "title"}]}]}``."""
    with db.read() as session:
        return {
            "lists": [
                {
                    "name": name,
                    "title": TITLES[name],
                    "codes": [{"code": c, "title": t} for c, t in codes(session, name).items()],
                }
                for name in LISTS
            ]
        }
