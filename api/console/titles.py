"""Codes with their Chinese titles on console pages: ``{{ code | titled("error") }}`` renders
``身份证号码校验位错误（id.checksum）`` — the title from the data dictionary, the code beside it (a code without a
title shows as it is).

Where the titles come from, by list name:

* ``error`` — the stable codes' titles (:data:`standards.code_titles.TITLES`);
* ``repository`` — the Chinese part of the repository's standard title (``natural_person`` → 人口基础信息);
* ``purpose`` — the registered purpose's title (``tax.audit`` → 税务检查); ``department`` — the registered
  department's name;
* ``<repository>.<field>`` — the field's labels in its standard (``x-labels``: ``credit_record.record_type``), or
  the names of its shipped code list (``x-code-list``: ``credit_record.penalty_category``);
* a list of the projects' data dictionary (``project_stage``, ``cost_step``, …; :mod:`mdm.projects.dictionary`,
  stewards change them), read once per page and only when a page asks for one;
* the service's own states (``record_status``, ``batch_status``, ``audit_action``, …;
  :data:`standards.code_titles.LISTS`).

Every page gets a :class:`Titles` as ``titles``; new pages use the filter the same way.
"""

from __future__ import annotations

import re
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context

from mdm.access.departments import list_departments, list_purposes
from mdm.db import Database
from mdm.projects import dictionary
from standards import Registry, code_titles
from standards.codelists import shipped_list


def _chinese(title: str) -> str:
    """The Chinese part of a bilingual title (``人口基础信息 Natural persons`` → ``人口基础信息``)."""
    match = re.match(r"[^A-Za-z]*", title)
    head = match.group(0).strip() if match else ""
    return head or title


class Titles:
    """The titles one page may show (see the module text); the data dictionary is read at the first use."""

    def __init__(self, db: Database, registry: Registry) -> None:
        self._db = db
        self._registry = registry
        self._lists: dict[str, dict[str, str]] | None = None
        self._purposes: dict[str, str] | None = None
        self._departments: dict[str, str] | None = None
        self._shipped: dict[str, dict[str, str]] = {}

    def lists(self) -> dict[str, dict[str, str]]:
        """The projects' data dictionary as ``{list name: {code: title}}``."""
        if self._lists is None:
            self._lists = {
                each["name"]: {c["code"]: c["title"] for c in each["codes"]}
                for each in dictionary.dictionary(self._db)["lists"]
            }
        return self._lists

    def title(self, list_name: str, code: Any) -> str | None:
        """The Chinese title of ``code`` in ``list_name``, or None."""
        if code is None:
            return None
        text = str(code)
        if list_name == "repository":
            return _chinese(self._registry.get(text).title) if text in self._registry.repositories else None
        repository, dot, field = list_name.partition(".")
        if dot and repository in self._registry.repositories:
            rule = self._registry.get(repository).fields.get(field)
            if rule is not None and rule.labels:
                return rule.labels.get(text)
            if rule is not None and rule.code_list:
                if rule.code_list not in self._shipped:
                    self._shipped[rule.code_list] = shipped_list(rule.code_list)
                return self._shipped[rule.code_list].get(text)
            return None
        if list_name == "department":
            if self._departments is None:
                with self._db.read() as session:
                    self._departments = {d["id"]: d["name"] for d in list_departments(session)}
            return self._departments.get(text)
        if list_name == "purpose":
            if self._purposes is None:
                with self._db.read() as session:
                    self._purposes = {p["code"]: p["title"] for p in list_purposes(session)}
            return self._purposes.get(text)
        if list_name in dictionary.LISTS:
            return self.lists().get(list_name, {}).get(text)
        return code_titles.title(list_name, text)

    def titled(self, list_name: str, code: Any) -> str:
        """``标题（code）``, or the code alone when it has no title (``—`` for none)."""
        if code is None or code == "":
            return "—"
        found = self.title(list_name, code)
        return f"{found}（{code}）" if found else str(code)


@pass_context
def titled(context: Context, code: Any, list_name: str) -> str:
    """The Jinja filter: ``{{ value | titled("list") }}`` → ``标题（value）`` (autoescaped like any text)."""
    titles = context.get("titles")
    if not isinstance(titles, Titles):
        found = code_titles.title(list_name, code)
        return f"{found}（{code}）" if found else ("—" if code is None else str(code))
    return titles.titled(list_name, code)
