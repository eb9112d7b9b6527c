"""The audit chain: every read and every write appends a hash-chained event (issue 9; DESIGN §6).

An event is ``{id, at, department, key_prefix, action, repository, purpose, target, keys, detail}``; its
``hash`` is the SHA-256 (hex) of ``prev_hash`` followed by the canonical JSON of that content
(:func:`mdm.db.canonical_json`), and ``prev_hash`` is the hash of the event before it (64 zeros for the first).
``id`` is the position in the chain, assigned here under a lock (PostgreSQL: a transaction-level advisory lock;
SQLite: the write transaction is already exclusive), so concurrent writers — the API, a CLI load — extend one
chain. An edited row fails its own hash; a deleted row leaves a gap in ``id`` and a broken link; rows reordered
(ids swapped) fail their hashes, since ``id`` is hashed. Deleting the newest rows cannot be told from a chain
that ended there: compare the head (``mdm audit verify`` prints it) with a copy kept elsewhere.

Writes (a load batch, a grant, a request decision, a key issued or revoked) call :func:`record` inside their own
transaction, so the event commits with the change or not at all. Reads go through :class:`AuditWriter` by group
commit: the read service (:mod:`mdm.reads`) submits the event and waits; one writer thread per process appends
every event waiting at that moment (up to ``MDM_AUDIT_BATCH``) in one transaction and releases each waiter once it
has committed, so concurrent reads share a commit and the result of a read is returned only after its event is
durable. A crash (SIGKILL) therefore loses no event of an answered read.

What it guarantees: every read that returns a result has a committed event; one chain across the threads, worker
processes and CLI processes of one database (they all take the chain lock). An event not committed within
``MDM_AUDIT_TIMEOUT`` seconds — the database unreachable, or another writer holding the chain lock past it (on
PostgreSQL any transaction inside :func:`record`, which is short: a load takes it only for its own event at its
commit; on SQLite the database's single write lock, which a load holds for its whole file) — makes the read
raise :class:`mdm.errors.Unavailable` (503 ``audit.unavailable``): fail closed. What it does not guarantee: an
event whose transaction had begun when its reader gave up may still commit, so the audit can name a read that was
refused (never the other way round); a refused read's own event is best effort; ``MDM_AUDIT_READS=false`` writes
no read events at all (for measuring the cost only). "Committed" is the database's own durability: on SQLite
(WAL, ``synchronous=NORMAL``) a commit survives the process being killed but the last ones may roll back on a
power loss or an operating-system crash; PostgreSQL with its defaults (``fsync``, ``synchronous_commit`` on)
survives both.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import queue
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from mdm.db import Database, canonical_json
from mdm.errors import Unavailable
from mdm.models import AuditEvent, AuditKey
from mdm.store.dialect import Dialect

GENESIS = "0" * 64
_UNLINKED = "unlinked: the row does not follow its predecessor's hash (a row before it was rewritten or moved)"
_CHAIN_LOCK = "mdm.audit.chain"  # serialises chain appends (an advisory lock on PostgreSQL)
_GRACE = 2.0  # seconds a waiter allows past its deadline for the writer to report the outcome
log = logging.getLogger("mdm.audit")


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def content_of(event: AuditEvent) -> dict[str, Any]:
    """The hashed content of a stored event (everything but the hashes)."""
    return {
        "id": event.id,
        "at": _iso(event.at),
        "department": event.department,
        "key_prefix": event.key_prefix,
        "action": event.action,
        "repository": event.repository,
        "purpose": event.purpose,
        "target": event.target,
        "keys": list(event.keys or []),
        "detail": event.detail or {},
    }


def chain_hash(prev_hash: str, content: dict[str, Any]) -> str:
    """SHA-256 hex of ``prev_hash`` + the canonical JSON of ``content``."""
    return hashlib.sha256((prev_hash + canonical_json(content)).encode("utf-8")).hexdigest()


_HEAD = "SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1"  # the chain's head
_EVENTS = cast(Table, AuditEvent.__table__)
_KEYS = cast(Table, AuditKey.__table__)


def _append(session: Session, events: list[dict[str, Any]]) -> list[int]:
    """Chain ``events`` after the head under the chain lock, as two multi-row INSERTs (events, their keys)."""
    if not events:
        return []
    last = Dialect.of(session).lock_then(session, _CHAIN_LOCK, _HEAD)
    position, prev = (last[0], last[1]) if last else (0, GENESIS)
    rows: list[dict[str, Any]] = []
    keys: list[dict[str, Any]] = []
    for event in events:
        position += 1
        at = event.get("at") or dt.datetime.now(dt.UTC)
        row = {
            "id": position,
            "at": at,
            "department": event.get("department"),
            "key_prefix": event.get("key_prefix"),
            "action": event["action"],
            "repository": event.get("repository"),
            "purpose": event.get("purpose"),
            "target": (event.get("target") or None) and str(event["target"])[:500],
            "keys": [str(k) for k in event.get("keys") or []],
            "detail": event.get("detail") or {},
        }
        hashed = chain_hash(prev, {**row, "at": _iso(at)})  # the same content as content_of(stored row)
        row["prev_hash"], row["hash"] = prev, hashed
        prev = hashed
        rows.append(row)
        if row["repository"]:
            keys.extend(
                {"event_id": position, "repository": row["repository"], "business_key": k[:200]} for k in row["keys"]
            )
    session.execute(insert(_EVENTS), rows)  # Core inserts: the ORM's bulk machinery costs more than the rows
    if keys:
        session.execute(insert(_KEYS), keys)
    return [r["id"] for r in rows]


def record(
    session: Session,
    *,
    actor: str | None,
    action: str,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
    key_prefix: str | None = None,
    repository: str | None = None,
    purpose: str | None = None,
    keys: Iterable[str] = (),
) -> int:
    """Append one event inside ``session``'s transaction (it commits with the caller's change); returns its id.

    ``actor`` is the acting department id (None for the system), ``action`` an ``area:verb`` (``grant:issue``,
    ``load:commit``, ``project:approve``), ``target`` what it acted on (a grant id, a batch id, a project id),
    ``detail`` a JSON object. For domain packages (``mdm.projects``) this is the one entry point.
    """
    event = {
        "department": actor,
        "key_prefix": key_prefix,
        "action": action,
        "repository": repository,
        "purpose": purpose,
        "target": target,
        "keys": list(keys),
        "detail": detail or {},
    }
    return _append(session, [event])[0]


class _Pending:
    """One submitted read event and its fate: ``done`` is set once it is committed (``id``) or given up
    (``error``)."""

    __slots__ = ("deadline", "done", "error", "event", "id")

    def __init__(self, event: dict[str, Any], deadline: float) -> None:
        self.event = event
        self.deadline = deadline
        self.done = threading.Event()
        self.error: Unavailable | None = None
        self.id: int | None = None

    def resolve(self, *, id: int | None = None, error: Unavailable | None = None) -> None:
        self.id, self.error = id, error
        self.done.set()


@dataclass(frozen=True)
class WriterStats:
    """What an :class:`AuditWriter` has done in this process: read events committed, the transactions that
    committed them (``events / transactions`` is the mean batch), events refused (not durable in time), and
    events submitted but not yet settled."""

    events: int
    transactions: int
    refused: int
    pending: int


class AuditWriter:
    """Group commit of read events: :meth:`write` submits an event and returns once the transaction holding it
    has committed; one thread per process appends whatever is waiting — up to ``batch`` events — in one
    transaction, so concurrent reads share a commit.

    ``timeout`` (seconds, ``MDM_AUDIT_TIMEOUT``) bounds the wait, lock waits included: an event not committed by
    then raises :class:`mdm.errors.Unavailable` (``audit.unavailable``) in its caller. ``enabled=False``
    (``MDM_AUDIT_READS=false``, for measuring the cost only) drops events.
    """

    def __init__(self, db: Database, *, batch: int = 500, enabled: bool = True, timeout: float = 5.0) -> None:
        self.db = db
        self.batch = batch
        self.enabled = enabled
        self.timeout = timeout
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()
        self._count = threading.Lock()
        self._events = self._transactions = self._refused = self._pending = 0
        db.on_dispose(self.close)

    def submit(self, **event: Any) -> _Pending | None:
        """Queue a read event (the keyword arguments of :func:`record`, with ``department`` for ``actor``) and
        return its ticket without waiting (None when disabled). :meth:`write` is submit-and-wait."""
        if not self.enabled:
            return None
        event.setdefault("at", dt.datetime.now(dt.UTC))
        pending = _Pending(event, time.monotonic() + self.timeout)
        with self._count:
            self._pending += 1
        self._ensure_thread()
        self._queue.put(pending)
        return pending

    def write(self, **event: Any) -> int | None:
        """Append a read event durably: returns its chain id once its batch has committed (None when disabled).

        Raises :class:`mdm.errors.Unavailable` (``audit.unavailable``) when it is not committed within
        ``timeout`` seconds: the database is unreachable, or another writer holds the chain lock (on SQLite the
        database's single writer lock: a long load) past it. An event the writer had already begun to commit
        when the caller gave up may still be committed: the audit can name a read that was refused, never miss
        one that was answered."""
        pending = self.submit(**event)
        if pending is None:
            return None
        if not pending.done.wait(self.timeout + _GRACE):
            raise Unavailable(
                "audit.unavailable", f"the audit event of this read was not durable within {self.timeout:g} s"
            )
        if pending.error is not None:
            raise pending.error
        return pending.id

    def stats(self) -> WriterStats:
        """The counters of this writer (see :class:`WriterStats`)."""
        with self._count:
            return WriterStats(self._events, self._transactions, self._refused, self._pending)

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            with self._start:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name="mdm-audit", daemon=True)
                    self._thread.start()

    def _take(self) -> Iterator[list[_Pending | None]]:
        while True:
            items = [self._queue.get()]
            while len(items) < self.batch:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            yield items

    def _run(self) -> None:
        for items in self._take():
            self._commit([p for p in items if p is not None])
            for _ in items:
                self._queue.task_done()
            if any(p is None for p in items):
                return

    def _commit(self, waiting: list[_Pending]) -> None:
        """Append ``waiting`` in one transaction, retrying until the earliest deadline; refuse the events whose
        deadline passes."""
        pause, cause = 0.02, "the database did not answer"
        while waiting:
            now = time.monotonic()
            late = [p for p in waiting if p.deadline <= now]
            if late:
                self._settle(late, error=Unavailable("audit.unavailable", f"the audit could not be written: {cause}"))
                waiting = [p for p in waiting if p.deadline > now]
                if not waiting:
                    return
            budget = min(p.deadline for p in waiting) - now
            try:
                with self.db.write(lock_wait=budget) as session:
                    ids = _append(session, [p.event for p in waiting])
            except Exception as exc:  # locked past the budget, or the database is away
                cause = str(exc).splitlines()[0][:200]
                log.error("audit: could not write %d events (%s); retrying until their deadline", len(waiting), cause)
                time.sleep(max(0.0, min(pause, min(p.deadline for p in waiting) - time.monotonic())))
                pause = min(pause * 2, 0.5)
                continue
            with self._count:
                self._transactions += 1
            self._settle(waiting, ids=ids)
            return

    def _settle(self, done: list[_Pending], *, ids: list[int] | None = None, error: Unavailable | None = None) -> None:
        with self._count:
            self._pending -= len(done)
            if ids is None:
                self._refused += len(done)
            else:
                self._events += len(done)
        for n, pending in enumerate(done):
            pending.resolve(id=None if ids is None else ids[n], error=error)

    def flush(self) -> None:
        """Block until every event submitted before this call is settled (committed or refused)."""
        if self._thread is not None and self._thread.is_alive():
            self._queue.join()

    def close(self) -> None:
        """Settle everything queued, then stop the thread."""
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        self._thread = None


@dataclass(frozen=True)
class ChainCheck:
    """The verdict of :func:`verify_chain`: ``ok``; ``checked`` rows; the first broken row and why."""

    ok: bool
    checked: int
    head: str
    broken_id: int | None = None
    problem: str | None = None


def verify_chain(session: Session, *, page: int = 5000) -> ChainCheck:
    """Walk the chain in id order and report the first broken link: ``edited`` (a row's hash does not match
    its content and position: an edit, or rows moved to other ids), ``deleted`` (an id is missing), ``unlinked`` (a
    row intact in itself that does not follow its predecessor's hash: the row before was rewritten together with
    its own hash) — reading the rows in pages of ``page``."""
    expected_id, prev, checked, after = 1, GENESIS, 0, 0
    while True:
        rows = (
            session.execute(select(AuditEvent).where(AuditEvent.id > after).order_by(AuditEvent.id).limit(page))
            .scalars()
            .all()
        )
        if not rows:
            return ChainCheck(True, checked, prev)
        for row in rows:
            if row.id != expected_id:
                return ChainCheck(False, checked, prev, row.id, f"deleted: rows {expected_id}–{row.id - 1} missing")
            if chain_hash(row.prev_hash, content_of(row)) != row.hash:
                return ChainCheck(
                    False,
                    checked,
                    prev,
                    row.id,
                    "edited or moved: the row's hash does not match its content and position",
                )
            if row.prev_hash != prev:
                return ChainCheck(False, checked, prev, row.id, _UNLINKED)
            prev, expected_id, checked = row.hash, row.id + 1, checked + 1
        after = rows[-1].id
        session.expunge_all()


def _event_out(row: AuditEvent) -> dict[str, Any]:
    return {**content_of(row), "hash": row.hash}


def find_events(
    session: Session,
    *,
    department: str | None = None,
    repository: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Events newest first, filtered by department id, repository and ``since <= at < until`` (UTC)."""
    stmt = select(AuditEvent)
    if department:
        stmt = stmt.where(AuditEvent.department == department)
    if repository:
        stmt = stmt.where(AuditEvent.repository == repository)
    if since:
        stmt = stmt.where(AuditEvent.at >= since)
    if until:
        stmt = stmt.where(AuditEvent.at < until)
    rows = session.execute(stmt.order_by(AuditEvent.id.desc()).limit(limit)).scalars()
    return [_event_out(r) for r in rows]


def usage(session: Session, repository: str, key: str, *, limit: int = 100) -> list[dict[str, Any]]:
    """Who used the record ``key`` of ``repository``, when and why, newest first:
    ``[{"at", "department", "purpose", "action", "target"}]`` (the data-subject view). An event that holds the
    key as ``"sha256:" + hex`` (a verification by a caller that sees the key masked, :mod:`mdm.reads`) counts."""
    hashed = "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()
    stmt = (
        select(AuditEvent)
        .join(AuditKey, AuditKey.event_id == AuditEvent.id)
        .where(AuditKey.repository == repository, AuditKey.business_key.in_((key, hashed)))
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    return [
        {"at": _iso(r.at), "department": r.department, "purpose": r.purpose, "action": r.action, "target": r.target}
        for r in session.execute(stmt).scalars()
    ]
