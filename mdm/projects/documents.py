"""Project documents: uploaded per stage (proposal, feasibility study, evaluation reports, approval, contract,
supervision contract, acceptance report …), stored in the database with their SHA-256 and size, listed and
downloadable. Types come from the ``project_document_type`` code list.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select

from mdm.db import Database, storable
from mdm.errors import Forbidden, InvalidRequest, NotFound
from mdm.keys import DEPARTMENT_ROLES, Caller
from mdm.projects import dictionary
from mdm.projects.actions import now, record_project_action
from mdm.projects.lifecycle import stage_conflict
from mdm.projects.models import ProjectDocument
from mdm.projects.rules import DOCUMENT_RULES, OPEN_STAGES, ROLE_STAGES
from mdm.projects.service import document_view, load


def upload_document(
    db: Database, *, caller: Caller, project_id: int, doc_type: str, file_name: str, media_type: str, content: bytes
) -> dict[str, Any]:
    """Store a document; returns ``{"id", "doc_type", "file_name", "media_type", "size" (bytes), "sha256", …}``.

    Each type has its stages and roles (:data:`mdm.projects.rules.DOCUMENT_RULES`: a proposal in draft or
    declared, from the declarer; a contract from procuring on; an acceptance report in implementing or accepted;
    evaluation reports and the approval from the reviewing bureaus); an admin may upload any type, in its stages.
    A type the rules do not list (``other``, types stewards add) is taken from a role only in the stages where it
    has a step (:data:`mdm.projects.rules.ROLE_STAGES`). The uploader's role is recorded: a gate counts only the
    owning role's documents (:func:`mdm.projects.lifecycle.counts_for_gate`).

    Raises ``auth.forbidden`` (403: not this type's role), ``project.invalid`` (unknown type or empty file),
    ``project.not_found`` (404: also a project the caller does not see, :func:`mdm.projects.service.visible`),
    ``project.transition_invalid`` (409: a stage that does not take this type; ``missing`` names the stages
    that do).
    """
    stages, roles = DOCUMENT_RULES.get(doc_type, (OPEN_STAGES, DEPARTMENT_ROLES))
    if not any(caller.may(role) for role in roles):
        needed = " or ".join(roles)
        raise Forbidden("auth.forbidden", f"uploading a {doc_type or 'project'} document needs the role {needed}")
    if not content:
        raise InvalidRequest("project.invalid", "the document is empty")
    with db.write() as session:
        if doc_type not in dictionary.codes(session, "project_document_type"):
            raise InvalidRequest("project.invalid", f"doc_type {doc_type!r} is not in the project_document_type list")
        project = load(session, project_id, caller=caller, lock=True)
        if doc_type not in DOCUMENT_RULES and caller.role != "admin":
            stages = tuple(s for s in stages if s in ROLE_STAGES.get(caller.role, ()))
        if project.status not in stages:
            raise stage_conflict(project, stages, f"uploading a {doc_type} document")
        row = ProjectDocument(
            project_id=project.id,
            doc_type=doc_type,
            file_name=(file_name if file_name and storable(file_name) else "document")[:500],
            media_type=(media_type or "application/octet-stream")[:200],
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            content=content,
            department=caller.department,
            key_prefix=caller.key_prefix,
            role=caller.role,
            uploaded_at=now(),
        )
        session.add(row)
        session.flush()
        record_project_action(
            session,
            caller=caller,
            action="document_upload",
            project_id=project.id,
            detail={"document_id": row.id, "doc_type": doc_type, "sha256": row.sha256, "size": row.size},
        )
        return document_view(row)


def list_documents(db: Database, project_id: int, *, caller: Caller) -> list[dict[str, Any]]:
    """The documents (without content), oldest first, of a project ``caller`` sees; ``project.not_found``."""
    with db.read() as session:
        load(session, project_id, caller=caller)
        rows = session.execute(
            select(ProjectDocument).where(ProjectDocument.project_id == project_id).order_by(ProjectDocument.id)
        ).scalars()
        return [document_view(r) for r in rows]


def get_document(db: Database, project_id: int, document_id: int, *, caller: Caller) -> tuple[dict[str, Any], bytes]:
    """(view, content) of one document of a project ``caller`` sees; ``project.not_found`` (404) for another
    project's or no document, and for a project the caller does not see."""
    with db.read() as session:
        load(session, project_id, caller=caller)
        row = session.execute(
            select(ProjectDocument).where(ProjectDocument.id == document_id, ProjectDocument.project_id == project_id)
        ).scalar_one_or_none()
        if row is None:
            raise NotFound("project.not_found", f"project {project_id} has no document {document_id}")
        return document_view(row), row.content
