"""Load reports: ``rejects.jsonl``, ``warnings.jsonl`` and ``summary.json`` under the batch's report directory.

A reject line is ``{"row", "source_key", "code", "errors": [{"code", "field", "message", "value"}], "raw"}``:
``code`` is the first error's code, ``value`` the raw value of the offending field as supplied.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from standards.validation import Issue


class LoadReport:
    """Streams rejects and warnings to files as the load goes, and counts them by code."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.rejects_path = directory / "rejects.jsonl"
        self.warnings_path = directory / "warnings.jsonl"
        self._rejects = self.rejects_path.open("w", encoding="utf-8")
        self._warnings = self.warnings_path.open("w", encoding="utf-8")
        self.rejected = 0
        self.warned = 0
        self.reject_codes: Counter[str] = Counter()
        self.warning_codes: Counter[str] = Counter()

    def reject(self, row_no: int, errors: list[Issue], *, source_key: str | None, raw: dict[str, Any]) -> None:
        self.rejected += 1
        self.reject_codes.update(e.code for e in errors)
        line = {
            "row": row_no,
            "source_key": source_key,
            "code": errors[0].code,
            "errors": [e.as_dict() for e in errors],
            "raw": raw,
        }
        self._rejects.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")

    def warn(self, row_no: int, warnings: list[Issue], *, source_key: str | None) -> None:
        if not warnings:
            return
        self.warned += len(warnings)
        self.warning_codes.update(w.code for w in warnings)
        for w in warnings:
            line = {"row": row_no, "source_key": source_key, **w.as_dict()}
            self._warnings.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")

    def close(self) -> None:
        self._rejects.close()
        self._warnings.close()

    def write_summary(self, summary: dict[str, Any]) -> Path:
        path = self.directory / "summary.json"
        path.write_text(json.dumps(summary, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")
        return path


def read_rejects(
    path: Path, *, code: str | None = None, field: str | None = None, limit: int | None = None
) -> tuple[list[dict[str, Any]], int]:
    """Reject lines of a ``rejects.jsonl`` whose errors include ``code`` and/or ``field`` (exact), in row
    order: the first ``limit`` of them (all when None) and how many matched in all. A missing file has none."""
    if not path.is_file():
        return [], 0
    found: list[dict[str, Any]] = []
    matched = 0
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            reject = json.loads(line)
            errors = reject.get("errors") or []
            if code and not any(e.get("code") == code for e in errors):
                continue
            if field and not any(e.get("field") == field for e in errors):
                continue
            matched += 1
            if limit is None or len(found) < limit:
                found.append(reject)
    return found, matched
