"""Metering of the calls that address records by a key the caller brings (issue 20): verifications (核验) and key
lookups. Without a meter a yes/no answer is an oracle that a script can walk (about 1,300 guesses recover a
masked citizen ID number from a name and the shown digits); with one, guessing costs days, and the audit shows it.

Per department × purpose × kind (``verify``: one unit per verification; ``lookup``: one unit per key asked) two
windows are counted: the UTC minute and the UTC day. The limits come from the department's live grants of the
kind for the purpose (``per_minute``, ``per_day``; the largest a grant declares wins, a grant that declares none
leaves the default), else from the settings' defaults (README "Configuration": ``MDM_VERIFY_PER_MINUTE`` 60,
``MDM_VERIFY_PER_DAY`` 5,000, ``MDM_LOOKUP_PER_MINUTE`` 20,000 keys, ``MDM_LOOKUP_PER_DAY`` 500,000 keys).
Stewards and the department that owns the repository's source are not metered (they read it whole anyway).

A call past either limit is refused with 429 ``access.rate_limited`` (``retry_after``: seconds until the window
ends, sent as ``Retry-After``) and uses nothing. The count is kept in ``usage_meter`` in its own short write, so
it holds across worker processes; concurrent calls in the same instant are counted exactly (the upsert adds
under the row lock), so the limit is never exceeded by a race.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.exc import OperationalError

from mdm.db import Database
from mdm.errors import RateLimited, Unavailable
from mdm.models import UsageMeter
from mdm.store.dialect import Dialect

KINDS = ("verify", "lookup")


@dataclass(frozen=True)
class Limits:
    """How much of one kind a department may use for one purpose: per UTC minute and per UTC day."""

    per_minute: int
    per_day: int


@dataclass(frozen=True)
class Defaults:
    """The limits when no grant declares one (from :class:`mdm.settings.Settings`)."""

    verify: Limits = Limits(60, 5_000)
    lookup: Limits = Limits(20_000, 500_000)

    def of(self, kind: str) -> Limits:
        return self.verify if kind == "verify" else self.lookup


def limits_for(default: Limits, declared: list[tuple[int | None, int | None]]) -> Limits:
    """The limits of a kind from the ``(per_minute, per_day)`` the live grants declare: the largest declared
    value of each window, else the default."""
    minutes = [m for m, _ in declared if m is not None]
    days = [d for _, d in declared if d is not None]
    return Limits(max(minutes) if minutes else default.per_minute, max(days) if days else default.per_day)


def _windows(now: dt.datetime) -> tuple[str, str, int, int]:
    now = now.astimezone(dt.UTC)
    minute = now.strftime("%Y-%m-%dT%H:%M")
    day = now.strftime("%Y-%m-%d")
    to_minute = 60 - now.second
    midnight = (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return minute, day, to_minute, max(1, int((midnight - now).total_seconds()))


def charge(
    db: Database,
    *,
    department: str,
    purpose: str,
    kind: str,
    units: int,
    limits: Limits,
    now: dt.datetime | None = None,
    lock_wait: float | None = None,
) -> None:
    """Use ``units`` of ``kind`` for ``department`` and ``purpose`` now, in one write of its own.

    Raises ``access.rate_limited`` (429, ``retry_after`` seconds, ``limit`` and ``window``) when the minute's or
    the day's count would pass its limit; then nothing is used. Windows older than the current ones are deleted
    as it goes (per department and kind). ``lock_wait`` (seconds) bounds the wait for the database's locks: a
    meter that cannot be written in time refuses the call with 503 ``database.unavailable`` (fail closed).
    """
    minute, day, to_minute, to_midnight = _windows(now or dt.datetime.now(dt.UTC))
    try:
        with db.write(lock_wait=lock_wait) as session:
            ins = Dialect.of(session).insert(UsageMeter)
            used: dict[str, int] = {}
            for window in (minute, day):
                stmt = ins.values(department_id=department, purpose=purpose, kind=kind, window=window, used=units)
                stmt = stmt.on_conflict_do_update(
                    index_elements=["department_id", "purpose", "kind", "window"],
                    set_={"used": UsageMeter.used + units},
                ).returning(UsageMeter.used)
                used[window] = int(session.execute(stmt).scalar_one())
            checks = ((minute, limits.per_minute, to_minute, "minute"), (day, limits.per_day, to_midnight, "day"))
            for window, limit, wait, name in checks:
                if used[window] > limit:  # raising rolls the unit of work back: nothing is used
                    raise RateLimited(
                        "access.rate_limited",
                        f"{kind}: this department has used its {limit:,} per {name} for purpose {purpose}; "
                        f"retry in {wait} s",
                        retry_after=wait,
                        limit=limit,
                        window=name,
                    )
            session.execute(
                delete(UsageMeter).where(
                    UsageMeter.department_id == department,
                    UsageMeter.kind == kind,
                    UsageMeter.window < day,
                )
            )
            session.execute(
                delete(UsageMeter).where(
                    UsageMeter.department_id == department,
                    UsageMeter.kind == kind,
                    UsageMeter.window.like("____-__-__T%"),
                    UsageMeter.window < minute,
                )
            )
    except OperationalError as exc:  # the lock wait ran out: fail closed
        raise Unavailable("database.unavailable", "the usage meter could not be written in time; retry") from exc
