"""What a caller may see: share class × sensitivity × grants × purpose (国发〔2016〕51号; DESIGN §6, issue 9).

For each field of a repository's standard, in this order:

1. share ``none`` (不予共享): withheld, ``access.share_none`` — whatever a grant says (none can be granted);
2. share ``unconditional`` (无条件共享): shown to every department under any registered purpose;
3. share ``conditional`` (有条件共享): shown only under a grant of the department that names the field (or ``*``)
   and the request's purpose, within its validity. Otherwise withheld with the reason: ``access.no_grant`` (no
   unrevoked grant names the field), ``access.purpose_not_granted`` (grants name it, for other purposes),
   ``access.grant_expired`` (a grant names field and purpose but is outside its validity);
4. a shown ``sensitive`` field is masked by its ``x-mask`` rule unless a valid grant for the purpose lists it
   (or ``*``) under ``unmasked``;
5. masking survives inference: a shown field that ``x-reveals`` another (a birth date reveals digits 7–14 of
   the citizen ID number) is withheld unless that other field is shown in clear; its entry names ``reveals``.

``admin`` (stewards) sees every field. A caller that would see no field at all of a repository gets 403
``access.no_grant`` for the whole request; otherwise a record comes back with the left-out fields listed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mdm.access.masking import mask_value
from mdm.errors import Forbidden

if TYPE_CHECKING:
    from standards import Standard

CLEAR, MASKED = "clear", "masked"


@dataclass(frozen=True)
class GrantTerms:
    """An unrevoked grant as the policy needs it. ``fields`` / ``unmasked`` may hold ``*`` (every field)."""

    id: int
    kind: str
    fields: frozenset[str]
    purposes: frozenset[str]
    unmasked: frozenset[str]
    valid_from: dt.datetime
    valid_until: dt.datetime | None
    per_minute: int | None = None  # metered calls (mdm.access.metering): None leaves the default
    per_day: int | None = None

    def names(self, name: str) -> bool:
        return "*" in self.fields or name in self.fields

    def valid_at(self, now: dt.datetime) -> bool:
        return self.valid_from <= now and (self.valid_until is None or now < self.valid_until)

    def unmasks(self, name: str) -> bool:
        return "*" in self.unmasked or name in self.unmasked


@dataclass(frozen=True)
class Projection:
    """A record's data as a caller may see it; ``key`` is the business key as shown (masked when its field is,
    None when withheld); ``withheld`` is ``[{"field", "reason"[, "reveals"]}]``."""

    data: dict[str, Any]
    masked: list[str]
    withheld: list[dict[str, str]]
    key: str | None = None


@dataclass(frozen=True)
class View:
    """The decision for every field of one repository for one caller, purpose and moment."""

    standard: Standard
    shown: dict[str, str]  # field → clear | masked
    withheld: dict[str, dict[str, str]] = field(default_factory=dict)
    grant_ids: tuple[int, ...] = ()
    whole: bool = False  # a steward or the owning department: sees every field, is not metered
    declared_limits: tuple[tuple[int | None, int | None], ...] = ()  # (per_minute, per_day) of the live grants

    @property
    def sees_anything(self) -> bool:
        return bool(self.shown)

    def clear(self, name: str) -> bool:
        return self.shown.get(name) == CLEAR

    def require_clear(self, names: Iterable[str], what: str) -> None:
        """403 ``access.field_not_granted`` unless every field in ``names`` is shown in clear: searching or
        filtering by a hidden value would make the answer an oracle for it."""
        hidden = sorted({n for n in names if not self.clear(n)})
        if hidden:
            raise Forbidden(
                "access.field_not_granted",
                f"{what} on {', '.join(hidden)} needs a grant that shows {'them' if len(hidden) > 1 else 'it'} "
                "unmasked for this purpose",
                fields=hidden,
            )

    def project(self, data: dict[str, Any]) -> Projection:
        """Project one record's data: shown fields (masked ones by their ``x-mask`` rule), the rest listed."""
        shown: dict[str, Any] = {}
        masked: list[str] = []
        withheld: list[dict[str, str]] = []
        for name, value in data.items():
            how = self.shown.get(name)
            if how == CLEAR:
                shown[name] = value
            elif how == MASKED:
                rule = self.standard.fields[name]
                shown[name] = mask_value(rule.mask or "name", value)
                masked.append(name)
            else:
                withheld.append(self.withheld.get(name) or {"field": name, "reason": "access.share_none"})
        key_fields = self.standard.business_key
        if any(n not in shown for n in key_fields if n in data):
            key = None
        else:
            key = "|".join(str(shown.get(n, "")) for n in key_fields) if data else None
        return Projection(shown, sorted(masked), sorted(withheld, key=lambda w: w["field"]), key)


def _conditional_reason(name: str, grants: list[GrantTerms], purpose: str, now: dt.datetime) -> str | None:
    naming = [g for g in grants if g.names(name)]
    if not naming:
        return "access.no_grant"
    for_purpose = [g for g in naming if purpose in g.purposes]
    if not for_purpose:
        return "access.purpose_not_granted"
    if not any(g.valid_at(now) for g in for_purpose):
        return "access.grant_expired"
    return None


def decide(
    standard: Standard,
    *,
    role: str,
    grants: list[GrantTerms],
    purpose: str,
    now: dt.datetime,
    kind: str = "read",
    owner: bool = False,
) -> View:
    """The :class:`View` of ``standard`` for a caller with ``role`` and its unrevoked ``grants`` (any kind; only
    those of ``kind`` count), reading for ``purpose`` at ``now`` (UTC). Stewards (``admin``) and the department
    that owns the repository's source (``owner``: it supplied the facts, 数源部门) see every field in clear; their
    reads are audited like any other."""
    if role == "admin" or owner:
        return View(standard, {name: CLEAR for name in standard.fields}, whole=True)
    grants = [g for g in grants if g.kind == kind]
    live = [g for g in grants if purpose in g.purposes and g.valid_at(now)]
    limits = tuple((g.per_minute, g.per_day) for g in live)
    shown: dict[str, str] = {}
    withheld: dict[str, dict[str, str]] = {}
    for name, rule in standard.fields.items():
        if rule.share == "none":
            withheld[name] = {"field": name, "reason": "access.share_none"}
            continue
        if rule.share == "conditional" or kind == "verify":
            reason = _conditional_reason(name, grants, purpose, now)
            if reason:
                withheld[name] = {"field": name, "reason": reason}
                continue
        covering = [g for g in live if g.names(name)]
        if rule.sensitivity == "sensitive" and rule.mask and not any(g.unmasks(name) for g in covering):
            shown[name] = MASKED
        else:
            shown[name] = CLEAR
    if kind == "verify":  # a yes/no answer shows no value, so masking and inference do not apply
        return View(standard, shown, withheld, tuple(g.id for g in live), declared_limits=limits)
    for name, rule in standard.fields.items():
        if name not in shown:
            continue
        for revealed in rule.reveals:
            if shown.get(revealed) != CLEAR:
                reason = withheld.get(revealed, {}).get("reason", "access.no_grant")
                withheld[name] = {"field": name, "reason": reason, "reveals": revealed}
                del shown[name]
                break
    return View(standard, shown, withheld, tuple(g.id for g in live), declared_limits=limits)


def require_any(view: View) -> View:
    """403 ``access.no_grant`` when the caller would see no field of the repository at all."""
    if not view.sees_anything:
        raise Forbidden(
            "access.no_grant",
            f"this department holds no grant for {view.standard.repository} for this purpose; file a sharing request",
        )
    return view
