"""The projects' data dictionary (数据字典): stage names, project kinds, document types, evaluation kinds and
O&M categories as code lists with Chinese titles, in the same ``code_list_entries`` table as every other code
list (seeded by migration 0006; a steward replaces one with ``mdm codes import om_category file.csv``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mdm.db import Database
from mdm.models import CodeListEntry

LISTS = ("project_stage", "project_kind", "project_document_type", "evaluation_kind", "om_category")
TITLES = {
    "project_stage": "项目阶段",
    "project_kind": "项目类别",
    "project_document_type": "文档类型",
    "evaluation_kind": "评审类别",
    "om_category": "运维服务类别（GB/T 28827.1）",
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
