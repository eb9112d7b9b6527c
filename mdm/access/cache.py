"""The per-process cache of access facts (issue 21; DESIGN §3 "Serve"): a key's caller, which purposes are
registered, a department's grant terms per repository, and each repository's owner — valid only for the access
generation (:mod:`mdm.access.generation`) it was built at.

:meth:`AccessCache.sync` reads the generation (one primary-key read) and empties the cache when it moved; every
fill remembers the generation it was read under and is kept only if that is still the cache's generation, so a
value read before a change can never be kept as current after it. A revoked key or grant is therefore refused on
the next request in every process that syncs — each request syncs once, before it decides anything.

What it does not do: it holds no record data, and it caches no refusal of a key (an unknown key is looked up each
time, so a key issued a moment ago works at once). It is bounded (:data:`MAX_ENTRIES` per table, emptied whole
when full).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from mdm.access import generation

MAX_ENTRIES = 100_000
T = TypeVar("T")


class AccessCache:
    """Access facts of one process. Thread-safe; every method takes the request's session."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._generation: int | None = None
        self._tables: dict[str, dict[Any, Any]] = {}
        self.syncs = 0
        self.misses = 0

    @property
    def generation(self) -> int | None:
        return self._generation

    def sync(self, session: Session) -> int:
        """Read the access generation; empty the cache if it moved. Returns the generation now."""
        now = generation.current(session)
        with self._lock:
            self.syncs += 1
            if now != self._generation:
                self._tables = {}
                self._generation = now
        return now

    def peek(self, table: str, key: Any) -> tuple[Any, int] | None:
        """``(table[key], the generation it was kept under)`` if cached, else None — no query. What it returns may
        be stale: the request that uses it must :meth:`sync` before it answers and check that the generation
        did not move (:meth:`mdm.reads.Reads.view` does)."""
        with self._lock:
            found = self._tables.get(table, {})
            if key not in found or self._generation is None:
                return None
            return found[key], self._generation

    def get(self, table: str, key: Any, session: Session, load: Callable[[Session], T], *, keep_none: bool = True) -> T:
        """The cached ``table[key]``, or ``load(session)`` kept under the generation of the last sync (only if no
        sync has moved it meanwhile; a None only with ``keep_none``)."""
        with self._lock:
            found = self._tables.get(table, {})
            if key in found:
                return found[key]
            seen = self._generation
        value = load(session)
        with self._lock:
            self.misses += 1
            if self._generation == seen and seen is not None and (keep_none or value is not None):
                entries = self._tables.setdefault(table, {})
                if len(entries) >= MAX_ENTRIES:
                    entries.clear()
                entries[key] = value
        return value
