"""The record store's write path (DESIGN §3 "Storage"): source records, golden records, versions and outbox.

- :mod:`mdm.store.batch` — :func:`run_batch`, one load batch as one unit of work, and its :class:`BatchOutcome`;
- :mod:`mdm.store.sources` — upsert a chunk of source records, hold rejected rows' records, retire the absent;
- :mod:`mdm.store.golden` — rebuild the golden records of given keys → versions + outbox;
- :mod:`mdm.store.dialect` — every difference between SQLite and PostgreSQL (spatial aside);
- :mod:`mdm.store.text` — the one rule for text the store can keep.

Writers of one repository serialise: on PostgreSQL a transaction-scoped advisory lock per repository, taken when
the batch starts writing; on SQLite the database's single writer (``BEGIN IMMEDIATE``). Two concurrent batches on
the same keys therefore produce one golden record per key, consecutive versions, and golden records computed from
every committed source record. (Per-key locks were tried first: a 40,000-row batch exhausts PostgreSQL's lock
table, and per-chunk key locks can deadlock between batches.)

Names are imported lazily so that :mod:`mdm.models` can use :mod:`mdm.store.dialect` without a cycle.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "run_batch": "mdm.store.batch",
    "BatchOutcome": "mdm.store.batch",
    "BatchListener": "mdm.store.batch",
    "Feed": "mdm.store.batch",
    "Held": "mdm.store.batch",
    "StagedRow": "mdm.store.sources",
    "Duplicate": "mdm.store.sources",
    "GoldenCounts": "mdm.store.golden",
    "rebuild": "mdm.store.golden",
    "Dialect": "mdm.store.dialect",
    "storable": "mdm.store.text",
}

if TYPE_CHECKING:
    from mdm.store.batch import BatchListener, BatchOutcome, Feed, Held, run_batch
    from mdm.store.dialect import Dialect
    from mdm.store.golden import GoldenCounts, rebuild
    from mdm.store.sources import Duplicate, StagedRow
    from mdm.store.text import storable

__all__ = [
    "BatchListener",
    "BatchOutcome",
    "Dialect",
    "Duplicate",
    "Feed",
    "GoldenCounts",
    "Held",
    "StagedRow",
    "rebuild",
    "run_batch",
    "storable",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'mdm.store' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
