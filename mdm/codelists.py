"""Imported code lists: the steward's import and the provider the standards' checkers read.

``mdm codes import LIST FILE`` replaces a list in one transaction. Accepted layouts:

* ``standard``: CSV with header ``code,name,valid_from,valid_to`` (ISO dates; empty = open; ``valid_to``
  exclusive);
* ``nbs``: the statistics bureau's files (header ``code,name,…``); 2- and 4-digit codes are padded to the
  6-digit full form;
* ``mca``: the civil-affairs file without header, ``year,code,name``; each code's run of consecutive years
  becomes one validity period (``valid_to`` open when the run reaches the file's last year).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, insert, select

from mdm.db import Database
from mdm.errors import FileRejected
from mdm.models import CodeListEntry
from standards.codelists import ShippedCodeLists

LAYOUTS = ("auto", "standard", "nbs", "mca")


@dataclass(frozen=True)
class Entry:
    code: str
    name: str
    valid_from: dt.date | None
    valid_to: dt.date | None


def _date(value: str | None, where: str) -> dt.date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise FileRejected("file.unreadable", f"{where}: {value!r} is not an ISO date") from None


def _sniff(first_line: str) -> str:
    head = first_line.lstrip("\ufeff").strip().lower()
    if head.startswith("code,name,valid_from"):
        return "standard"
    if head.startswith("code,name"):
        return "nbs"
    if head[:4].isdigit() and head[4:5] == ",":
        return "mca"
    raise FileRejected("file.unreadable", "cannot tell the layout: expected a header code,name,… or year,code,name")


def read_entries(path: Path, layout: str = "auto") -> list[Entry]:
    """Parse a code-list file (see the module text). Raises :class:`FileRejected` (``file.*``)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = path.read_text(encoding="gb18030")
        except UnicodeDecodeError:
            raise FileRejected("file.encoding_unknown", f"{path.name} is neither UTF-8 nor GB18030") from None
    except OSError as exc:
        raise FileRejected("file.unreadable", f"cannot read {path}: {exc}") from exc
    if not text.strip():
        raise FileRejected("file.empty", f"{path.name} is empty")
    if layout == "auto":
        layout = _sniff(text.splitlines()[0])
    if layout == "mca":
        return _mca(text)
    rows = csv.DictReader(io.StringIO(text))
    entries = []
    for number, row in enumerate(rows, start=2):
        code = (row.get("code") or "").strip()
        if not code:
            continue
        if layout == "nbs" and code.isdigit() and len(code) in (2, 4):
            code = code.ljust(6, "0")
        entries.append(
            Entry(
                code,
                (row.get("name") or "").strip(),
                _date(row.get("valid_from"), f"line {number}"),
                _date(row.get("valid_to"), f"line {number}"),
            )
        )
    return entries


def _mca(text: str) -> list[Entry]:
    years: dict[str, set[int]] = defaultdict(set)
    names: dict[str, str] = {}
    for row in csv.reader(io.StringIO(text)):
        if len(row) < 3 or not row[0].strip().isdigit():
            continue
        year, code = int(row[0]), row[1].strip()
        years[code].add(year)
        names[code] = row[2].strip()
    if not years:
        raise FileRejected("file.unreadable", "no year,code,name rows: is this the civil-affairs layout?")
    last = max(y for ys in years.values() for y in ys)
    if not 1949 <= min(y for ys in years.values() for y in ys) <= last <= 9999:
        raise FileRejected("file.unreadable", "the first column does not hold years: is this the civil-affairs layout?")
    entries = []
    for code, present in sorted(years.items()):
        run: list[int] = []
        for listed in [*sorted(present), None]:
            if run and (listed is None or listed != run[-1] + 1):
                end = None if run[-1] == last else dt.date(run[-1] + 1, 1, 1)
                entries.append(Entry(code, names[code], dt.date(run[0], 1, 1), end))
                run = []
            if listed is not None:
                run.append(listed)
    return entries


def import_list(db: Database, list_name: str, path: Path, layout: str = "auto") -> int:
    """Replace ``list_name`` with the entries of ``path``; returns how many were stored."""
    entries = read_entries(path, layout)
    if not entries:
        raise FileRejected("file.empty", f"{path.name} holds no codes")
    with db.write() as session:
        session.execute(delete(CodeListEntry).where(CodeListEntry.list_name == list_name))
        session.execute(
            insert(CodeListEntry),
            [
                {
                    "list_name": list_name,
                    "code": e.code,
                    "name": e.name,
                    "valid_from": e.valid_from,
                    "valid_to": e.valid_to,
                }
                for e in entries
            ],
        )
    return len(entries)


class DatabaseCodeLists:
    """The code-list provider backed by the imported lists, falling back to the shipped ones.

    A list is read into memory once per provider (a provider lives for one load or one request).
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._shipped = ShippedCodeLists()
        self._lists: dict[str, dict[str, list[tuple[dt.date | None, dt.date | None]]]] = {}
        self._frozen = False

    def preload(self) -> None:
        """Read every imported list now and ask the database no more: a list not imported is then empty (the
        shipped one answers). For a copy of this provider in a forked process, which must not use the
        parent's connections (:mod:`loaders.parallel`)."""
        with self.db.read() as session:
            names = session.execute(select(CodeListEntry.list_name).distinct()).scalars().all()
        for name in names:
            self._list(name)
        self._frozen = True

    def _list(self, list_name: str) -> dict[str, list[tuple[dt.date | None, dt.date | None]]]:
        if list_name not in self._lists and self._frozen:
            return {}
        if list_name not in self._lists:
            held: dict[str, list[tuple[dt.date | None, dt.date | None]]] = defaultdict(list)
            with self.db.read() as session:
                for code, start, end in session.execute(
                    select(CodeListEntry.code, CodeListEntry.valid_from, CodeListEntry.valid_to).where(
                        CodeListEntry.list_name == list_name
                    )
                ):
                    held[code].append((start, end))
            self._lists[list_name] = dict(held)
        return self._lists[list_name]

    def known(self, list_name: str) -> bool:
        return bool(self._list(list_name)) or self._shipped.known(list_name)

    def covers(self, list_name: str, code: str) -> bool:
        held = self._list(list_name)
        if not held:
            return self._shipped.covers(list_name, code)
        return any(len(c) == len(code) for c in held)

    def contains(self, list_name: str, code: str, on: dt.date | None = None) -> bool:
        held = self._list(list_name)
        if not held:
            return self._shipped.contains(list_name, code, on)
        periods = held.get(code, [])
        if on is None:
            return bool(periods)
        return any((start is None or start <= on) and (end is None or on < end) for start, end in periods)
