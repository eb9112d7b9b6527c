"""Code lists (代码表) as the standards see them: a small provider interface.

Small, stable lists ship as CSV files under ``standards/codelists/`` (``code,name``); large ones (divisions,
industries) are imported into the database by stewards and reach the checkers through a provider that ``mdm``
supplies. ``standards`` never touches the database itself.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from importlib import resources
from typing import Protocol


class CodeListProvider(Protocol):
    """Answers whether a code is in a list in force on a date."""

    def known(self, list_name: str) -> bool:
        """True if the provider holds the list at all (an unloaded list yields no warnings)."""

    def covers(self, list_name: str, code: str) -> bool:
        """True if the list is held and has codes of this kind (length), so a miss means something.

        A 6-digit county list says nothing about a 9-digit township code.
        """

    def contains(self, list_name: str, code: str, on: dt.date | None = None) -> bool:
        """True if ``code`` is in ``list_name`` and in force on ``on`` (ever, when None)."""


def shipped_list(list_name: str) -> dict[str, str]:
    """A code list shipped with the standards, as ``{code: name}``; empty if there is no such file."""
    path = resources.files("standards") / "codelists" / f"{list_name}.csv"
    if not path.is_file():
        return {}
    # Traversable.open takes no ``newline`` (csv needs ""), so the text layer is built over the binary stream
    with io.TextIOWrapper(path.open("rb"), encoding="utf-8", newline="") as fh:
        return {row["code"]: row["name"] for row in csv.DictReader(fh)}


class ShippedCodeLists:
    """The provider for the lists shipped under ``standards/codelists/``; the default when no database is bound."""

    def __init__(self) -> None:
        self._cache: dict[str, dict[str, str]] = {}

    def _list(self, list_name: str) -> dict[str, str]:
        if list_name not in self._cache:
            self._cache[list_name] = shipped_list(list_name)
        return self._cache[list_name]

    def known(self, list_name: str) -> bool:
        return bool(self._list(list_name))

    def covers(self, list_name: str, code: str) -> bool:
        return any(len(c) == len(code) for c in self._list(list_name))

    def contains(self, list_name: str, code: str, on: dt.date | None = None) -> bool:
        return code in self._list(list_name)
