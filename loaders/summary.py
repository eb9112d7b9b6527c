"""The load summary and the options of a load.

:class:`LoadSummary` is what ``load_file`` returns, what ``summary.json`` holds, what ``mdm load --json`` prints
and what ``POST …/loads`` answers — all as :meth:`LoadSummary.as_dict`, whose shape is published (README, "A tour
of the command line"). :class:`LoadOptions` says how to run a load; :meth:`LoadOptions.from_settings` is the one
place that reads them from the settings.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from loaders.parallel import default_workers
from mdm.settings import Settings
from mdm.store import BatchOutcome

_OPTIONAL = ("notice", "error", "index", "unindexed", "notes")


@dataclass(frozen=True)
class LoadOptions:
    """How to run a load: where reports go, the snapshot guard (a share, 0–1), ``force`` past it, chunk size."""

    report_root: Path
    guard: float = 0.05
    force: bool = False
    chunk_rows: int = 5000
    workers: int = 1  # row-preparation processes (loaders.parallel); 1 prepares in this process

    @classmethod
    def from_settings(
        cls, settings: Settings, *, force: bool = False, guard: float | None = None, report_root: Path | None = None
    ) -> LoadOptions:
        """Options from ``MDM_REPORT_DIR``, ``MDM_SNAPSHOT_GUARD``, ``MDM_CHUNK_ROWS`` and ``MDM_LOAD_WORKERS``;
        ``force``, ``guard`` and ``report_root`` override them for one run (CLI ``--force``/``--guard``/
        ``--report-dir``, form field ``force``)."""
        return cls(
            report_root=Path(report_root or settings.report_dir),
            guard=settings.snapshot_guard if guard is None else guard,
            force=force,
            chunk_rows=settings.chunk_rows,
            workers=settings.load_workers or default_workers(),
        )

    def with_force(self, force: bool) -> LoadOptions:
        return replace(self, force=force)

    def in_process(self) -> LoadOptions:
        """The same options with the rows prepared in the loading process (no worker processes)."""
        return replace(self, workers=1)


@dataclass
class LoadSummary:
    """One load's summary. Counts are rows of the file (``read``, ``rejected``) or source records
    (``inserted``, ``updated``, ``unchanged``, ``retired``); ``warnings`` counts warnings; ``*_codes`` count
    errors and warnings by code; ``golden`` counts golden records (created, changed, retired, versions)."""

    batch_id: str
    profile: str
    repository: str
    source_system: str
    mode: str
    file: str
    started_at: str
    rejects_path: str
    warnings_path: str
    status: str = "running"
    encoding: str | None = None
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    retired: int = 0
    rejected: int = 0
    warnings: int = 0
    reject_codes: dict[str, int] = field(default_factory=dict)
    warning_codes: dict[str, int] = field(default_factory=dict)
    golden: dict[str, int] = field(default_factory=dict)
    finished_at: str | None = None
    seconds: float | None = None
    notice: dict[str, str] | None = None
    error: dict[str, str] | None = None
    index: dict[str, Any] | None = None
    unindexed: int | None = None  # status committed_unindexed: records stored that the search index refused
    notes: list[str] | None = None

    def took(self, outcome: BatchOutcome) -> None:
        """Take the store's counts from a batch outcome."""
        self.inserted, self.updated, self.unchanged = outcome.inserted, outcome.updated, outcome.unchanged
        self.retired = outcome.retired
        self.golden = outcome.golden.as_dict()

    def rolled_back(self) -> None:
        """Nothing of the batch is stored: zero the store's counts."""
        self.inserted = self.updated = self.unchanged = self.retired = 0
        self.golden = {}

    def finished(self) -> dt.datetime:
        assert self.finished_at is not None
        return dt.datetime.fromisoformat(self.finished_at)

    def as_dict(self) -> dict[str, Any]:
        """The published JSON shape; optional members (``notice``, ``error``, ``index``, ``unindexed``, ``notes``) only
        when set."""
        body = {
            "batch_id": self.batch_id,
            "status": self.status,
            "profile": self.profile,
            "repository": self.repository,
            "source_system": self.source_system,
            "mode": self.mode,
            "file": self.file,
            "encoding": self.encoding,
            "read": self.read,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "retired": self.retired,
            "rejected": self.rejected,
            "warnings": self.warnings,
            "reject_codes": dict(self.reject_codes),
            "warning_codes": dict(self.warning_codes),
            "golden": dict(self.golden),
            "started_at": self.started_at,
            "rejects_path": self.rejects_path,
            "warnings_path": self.warnings_path,
            "finished_at": self.finished_at,
            "seconds": self.seconds,
        }
        body.update({name: getattr(self, name) for name in _OPTIONAL if getattr(self, name) is not None})
        return body

    def __getitem__(self, name: str) -> Any:
        """Read access by the JSON member name (``summary["inserted"]``), for callers written against the dict."""
        return self.as_dict()[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self.as_dict().get(name, default)
