"""A department loads only under its own source systems, and sees only its own load reports (issue 20: a
department acts only inside its own remit).

Ownership. A source system belongs to one department. Its profile declares it (``source_system: {id, name,
department}``, docs/profiles.md) and each load records it on the ``source_systems`` row. Once a registered
department is recorded as the owner it stays: a profile naming another owner for the same source system is refused
(409 ``load.owner_conflict``; 403 ``load.department_mismatch`` to a non-steward), so a second profile cannot take
over another department's source system. An owner that is not a registered department owns nothing (a typo in a
profile is replaced by the next load with the right id).

Who may load (:func:`authorise_load`):

1. a steward (an ``admin`` key, or the local operator: ``mdm load`` and ``mdm demo``, ``actor=None``) loads under
   any source system, on its owner's behalf — the owner the profile declares (registered or not yet: the batch is
   then its as soon as it registers), else the recorded one, else none (stewards only);
2. any other key with the ``loader`` role loads only under a source system whose owner is its own, registered
   department; otherwise 403 ``load.department_mismatch`` — also for a source system without an owner or with an
   unregistered one (fail closed).

The batch records both: ``department_id`` (on whose behalf: the owner) and ``loaded_by`` (whose key ran it; None
for the local operator), and so does its ``load:commit`` audit event.

Who may see a batch (:func:`may_see_batch`): stewards and the department it loaded for. Its summary, rejects and
warnings carry raw rows; to anyone else a batch looks like one that does not exist (404 ``load.not_found``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from mdm.errors import LoadRefused, OwnerConflict
from mdm.keys import Caller
from mdm.models import Batch, Department, SourceSystem


@dataclass(frozen=True)
class LoadAuthority:
    """Who a load is for and who runs it: ``department`` the source system's owner (None: no owner yet, a
    steward's load), ``loaded_by`` the acting key's department (None: the local operator), ``on_behalf`` True when
    a steward loads for another department (or for none), ``key_prefix`` the acting key's prefix (None: the local
    operator) for the batch's ``load:commit`` audit event."""

    department: str | None
    loaded_by: str | None
    on_behalf: bool
    key_prefix: str | None = None


def is_steward(actor: Caller | None) -> bool:
    """The local operator (None) or an ``admin`` key."""
    return actor is None or actor.role == "admin"


def _registered(session: Session, department: str | None) -> str | None:
    return department if department is not None and session.get(Department, department) is not None else None


def authorise_load(
    session: Session, *, source_system_id: str, declared: str | None, actor: Caller | None
) -> LoadAuthority:
    """Whether ``actor`` (None: the local operator, a steward) may load under ``source_system_id`` whose profile
    declares ``declared`` as its owning department (see the module docstring for the rule).

    Raises 403 ``load.department_mismatch``, 409 ``load.owner_conflict`` (stewards).
    """
    steward = is_steward(actor)
    acting = actor.department if actor is not None else None
    row = session.get(SourceSystem, source_system_id)
    recorded = _registered(session, row.department_id if row is not None else None)
    owner = declared if declared is not None else recorded
    mismatch = LoadRefused(
        "load.department_mismatch",
        f"source system {source_system_id} is not one of department {acting}'s; "
        "its owner loads it, or a steward on its behalf",
    )
    if recorded is not None and owner != recorded:
        if not steward:
            raise mismatch
        raise OwnerConflict(
            "load.owner_conflict",
            f"source system {source_system_id} belongs to {recorded}; the profile names {declared}",
        )
    if not steward and (_registered(session, owner) is None or owner != acting):
        raise mismatch
    return LoadAuthority(
        department=owner,
        loaded_by=acting,
        on_behalf=owner != acting,
        key_prefix=actor.key_prefix if actor is not None else None,
    )


def may_see_batch(batch: Batch, viewer: Caller | None) -> bool:
    """Stewards (and the local operator) see every batch; anyone else only the batches loaded for its department."""
    return is_steward(viewer) or (viewer is not None and batch.department_id == viewer.department)
