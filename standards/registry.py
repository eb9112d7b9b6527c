"""The standards registry: loads every schema under ``standards/schemas/``, checks it, hands out validators.

Layout: ``standards/schemas/<repository>/<version>.json`` (JSON Schema draft 2020-12) with the ``$id``
``urn:mdm:standard:<repository>:<version>``. Shared definitions live in the pseudo-repository ``common`` and are
resolved from a local :mod:`referencing` registry, never from the network.

Validation runs jsonschema-rs first as a fast path: a record it finds valid is valid; otherwise the
reference implementation (python-jsonschema, format checker on) produces the issues, so every reported error
comes from one implementation. A test keeps the two verdicts equal on every example instance.

Loading fails with :class:`StandardError` (code ``standard.invalid`` or ``standard.format_unknown``) when a schema
breaks its meta-schema, names a format no checker implements (a misspelt format is an error, not a no-op), or
carries a malformed ``x-`` annotation; and with ``standard.format_unchecked`` when the start-up self-test finds a
format checker that is missing or accepts a known bad value (:func:`standards.formats.self_test`).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator
from referencing import Registry as RefRegistry
from referencing import Resource
from referencing.jsonschema import DRAFT202012

from standards.codelists import CodeListProvider, ShippedCodeLists
from standards.formats import STANDARD_FORMATS, fast_format_checks, format_checker, self_test
from standards.rules import RULES, Rule
from standards.validation import Issue, issue, issues_from_error

REPOSITORIES = ("natural_person", "legal_entity", "geo_feature", "credit_record", "e_license")
SENSITIVITIES = ("public", "internal", "sensitive")
SHARE_CLASSES = ("unconditional", "conditional", "none")
MASKS = ("id_number", "phone", "name", "address")
SEARCH_KINDS = ("text", "keyword", "none")

_SCHEMA_ANNOTATIONS = {"x-business-key", "x-geometry", "x-sensitivity", "x-share", "x-rules"}
_PROPERTY_ANNOTATIONS = {
    "x-sensitivity",
    "x-share",
    "x-mask",
    "x-search",
    "x-code-list",
    "x-ref",
    "x-filter",
    "x-labels",
    "x-pinyin",
    "x-reveals",
    "x-width",
}
_DIGITS_PATTERN = re.compile(r"^\^(?:\[0-9\]|\\d)\{(\d+)\}\$$")  # "^[0-9]{7}$" or "^\d{7}$": a fixed width


class StandardError(Exception):
    """A standard that cannot be used. ``code`` is ``standard.invalid``, ``standard.format_unknown`` or
    ``standard.format_unchecked``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class FieldRule:
    """What the standard says about one top-level property."""

    name: str
    title: str
    sensitivity: str
    share: str
    mask: str | None
    search: str
    filterable: bool
    code_list: str | None
    ref: tuple[str, ...]
    labels: dict[str, str] = field(default_factory=dict)
    pinyin: bool = False
    reveals: tuple[str, ...] = ()
    width: int | None = None  # a fixed-width digit code: x-width, or a pattern of exactly N digits


@dataclass
class Standard:
    """One repository's standard at one version, with its compiled validator (format checker on)."""

    repository: str
    version: str
    title: str
    schema: dict[str, Any]
    fields: dict[str, FieldRule]
    business_key: tuple[str, ...]
    geometry_field: str | None
    validator: Draft202012Validator
    fast_validator: Any = None
    rules: tuple[tuple[str, Rule], ...] = ()
    code_lists: CodeListProvider = field(default_factory=ShippedCodeLists)

    @property
    def filterable(self) -> list[str]:
        return [f.name for f in self.fields.values() if f.filterable]

    @property
    def references(self) -> dict[str, tuple[str, ...]]:
        """Fields that point into other repositories (``x-ref``): field → target repositories."""
        return {f.name: f.ref for f in self.fields.values() if f.ref}

    def key_of(self, record: dict[str, Any]) -> str | None:
        """The business key of a record: the key field's value, or the parts joined by ``|``; None if missing."""
        parts = [record.get(name) for name in self.business_key]
        if any(p in (None, "") for p in parts):
            return None
        return "|".join(str(p) for p in parts)

    def validate(self, record: dict[str, Any]) -> list[Issue]:
        """All errors of ``record`` against the standard, as issues with stable codes (empty when valid)."""
        found: list[Issue] = []
        if self.fast_validator is not None and self.fast_validator.is_valid(record):
            return [i for i in self._rule_issues(record) if i.severity == "error"]
        for error in sorted(self.validator.iter_errors(record), key=lambda e: list(e.absolute_path)):
            found.extend(issues_from_error(error))
        found.extend(i for i in self._rule_issues(record) if i.severity == "error")
        return found

    def _rule_issues(self, record: dict[str, Any]) -> list[Issue]:
        return [i for _, rule in self.rules for i in rule(record)]

    def warnings(
        self, record: dict[str, Any], *, on: dt.date | None = None, code_lists: CodeListProvider | None = None
    ) -> list[Issue]:
        """Warnings for a valid record: codes absent from the code list in force (``division_code.unknown``,
        ``code_list.unknown``), an unknown address code in a citizen ID number (``id.address_unknown``), and the
        warning-level ``x-rules`` (``license_id.checksum``)."""
        lists = code_lists or self.code_lists
        found: list[Issue] = [i for i in self._rule_issues(record) if i.severity == "warning"]
        for rule in self.fields.values():
            value = record.get(rule.name)
            if rule.code_list is None or not isinstance(value, str):
                continue
            if not lists.covers(rule.code_list, value):
                continue
            if not lists.contains(rule.code_list, value, on):
                code = "division_code.unknown" if rule.code_list == "divisions" else "code_list.unknown"
                found.append(issue(code, rule.name, f"{value} is not in code list {rule.code_list}", value))
        for rule in self.fields.values():
            value = record.get(rule.name)
            if (
                self.schema["properties"][rule.name].get("format") == "cn-resident-id"
                and isinstance(value, str)
                and len(value) == 18
                and lists.covers("divisions", value[:6])
                and not lists.contains("divisions", value[:6], None)
            ):
                found.append(
                    issue(
                        "id.address_unknown", rule.name, f"address code {value[:6]} is not in the division list", value
                    )
                )
        return found

    def describe(self) -> dict[str, Any]:
        """The public description served at ``GET /repositories/{repository}/standard``."""
        return {
            "repository": self.repository,
            "version": self.version,
            "title": self.title,
            "business_key": list(self.business_key),
            "geometry": self.geometry_field,
            "filterable": self.filterable,
            "schema": self.schema,
        }


def _fail(where: str, message: str, code: str = "standard.invalid") -> StandardError:
    return StandardError(code, f"{where}: {message}")


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _check_formats(where: str, schema: dict[str, Any], known: set[str]) -> None:
    for node in _walk(schema):
        name = node.get("format")
        if isinstance(name, str) and name not in known:
            why = "its checker is not installed" if name in STANDARD_FORMATS else "no checker implements it"
            raise _fail(where, f"unknown format {name!r} ({why})", "standard.format_unknown")


def _one_of(where: str, key: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise _fail(where, f"{key} must be one of {', '.join(allowed)}, not {value!r}")


def _field_rules(where: str, schema: dict[str, Any]) -> dict[str, FieldRule]:
    default_sensitivity = schema.get("x-sensitivity", "internal")
    default_share = schema.get("x-share", "conditional")
    rules: dict[str, FieldRule] = {}
    for name, prop in (schema.get("properties") or {}).items():
        here = f"{where} property {name}"
        unknown = {k for k in prop if k.startswith("x-")} - _PROPERTY_ANNOTATIONS
        if unknown:
            raise _fail(here, f"unknown annotation(s) {sorted(unknown)}")
        sensitivity = prop.get("x-sensitivity", default_sensitivity)
        share = prop.get("x-share", default_share)
        mask = prop.get("x-mask")
        search = prop.get("x-search", "none")
        _one_of(here, "x-sensitivity", sensitivity, SENSITIVITIES)
        _one_of(here, "x-share", share, SHARE_CLASSES)
        _one_of(here, "x-search", search, SEARCH_KINDS)
        if mask is not None:
            _one_of(here, "x-mask", mask, MASKS)
        if sensitivity == "sensitive" and mask is None and share != "none":
            raise _fail(here, "a sensitive field needs an x-mask rule (or x-share: none)")
        if not isinstance(prop.get("x-filter", False), bool):
            raise _fail(here, "x-filter must be true or false")
        ref = prop.get("x-ref", ())
        ref = (ref,) if isinstance(ref, str) else tuple(ref)
        for target in ref:
            _one_of(here, "x-ref", target, REPOSITORIES)
        labels = prop.get("x-labels", {})
        if not isinstance(labels, dict) or set(labels) - set(prop.get("enum", labels)):
            raise _fail(here, "x-labels must map each enum value to its label")
        reveals = prop.get("x-reveals", [])
        properties = schema.get("properties") or {}
        if not isinstance(reveals, list) or any(r not in properties or r == name for r in reveals):
            raise _fail(here, "x-reveals must list other properties of the standard that this field reveals")
        code_list = prop.get("x-code-list")
        if code_list is not None and not isinstance(code_list, str):
            raise _fail(here, "x-code-list must name a code list")
        width = prop.get("x-width")
        if width is not None and (isinstance(width, bool) or not isinstance(width, int) or width < 1):
            raise _fail(here, "x-width must be a positive number of digits")
        fixed = _DIGITS_PATTERN.match(prop.get("pattern", "")) if isinstance(prop.get("pattern"), str) else None
        if width is None and fixed:
            width = int(fixed.group(1))
        rules[name] = FieldRule(
            name=name,
            title=prop.get("title", name),
            sensitivity=sensitivity,
            share=share,
            mask=mask,
            search=search,
            filterable=prop.get("x-filter", False),
            code_list=code_list,
            ref=ref,
            labels=labels,
            pinyin=prop.get("x-pinyin", False) is True,
            reveals=tuple(reveals),
            width=width,
        )
    return rules


class Registry:
    """Every standard found under a directory, checked once at load time."""

    def __init__(self, root: Path | None = None, code_lists: CodeListProvider | None = None) -> None:
        self.root = Path(root) if root else Path(str(resources.files("standards") / "schemas"))
        self._documents: dict[tuple[str, str], dict[str, Any]] = {}
        self._standards: dict[tuple[str, str], Standard] = {}
        self._code_lists = code_lists or ShippedCodeLists()
        self._load()

    def _load(self) -> None:
        files = sorted(self.root.glob("*/*.json"))
        if not files:
            raise StandardError("standard.invalid", f"no standards under {self.root}")
        for path in files:
            try:
                document = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise _fail(str(path), f"not readable JSON: {exc}") from exc
            repository, version = path.parent.name, path.stem
            expected_id = f"urn:mdm:standard:{repository}:{version}"
            if document.get("$id") != expected_id:
                raise _fail(str(path), f"$id must be {expected_id!r}")
            try:
                Draft202012Validator.check_schema(document)
            except Exception as exc:  # jsonschema.SchemaError
                raise _fail(str(path), f"fails the draft 2020-12 meta-schema: {exc}") from exc
            self._documents[(repository, version)] = document
        refs = RefRegistry().with_resources(
            (doc["$id"], Resource.from_contents(doc, default_specification=DRAFT202012))
            for doc in self._documents.values()
        )
        checker = format_checker()
        broken = self_test(checker)
        if broken:
            raise StandardError("standard.format_unchecked", f"format checker self-test failed: {', '.join(broken)}")
        known_formats = set(checker.checkers)
        fast_refs = jsonschema_rs.Registry([(doc["$id"], doc) for doc in self._documents.values()])
        fast_formats = fast_format_checks()
        for (repository, version), document in self._documents.items():
            where = f"{repository} {version}"
            _check_formats(where, document, known_formats)
            if repository == "common":
                continue
            if repository not in REPOSITORIES:
                raise _fail(where, f"unknown repository {repository!r}")
            unknown = {k for k in document if k.startswith("x-")} - _SCHEMA_ANNOTATIONS
            if unknown:
                raise _fail(where, f"unknown annotation(s) {sorted(unknown)}")
            fields = _field_rules(where, document)
            key = document.get("x-business-key")
            key = (key,) if isinstance(key, str) else tuple(key or ())
            if not key or any(k not in fields for k in key):
                raise _fail(where, "x-business-key must name properties of the standard")
            geometry = document.get("x-geometry")
            if geometry is not None and geometry not in fields:
                raise _fail(where, "x-geometry must name a property of the standard")
            names = document.get("x-rules", [])
            if not isinstance(names, list) or any(n not in RULES for n in names):
                raise _fail(where, f"x-rules must list known rules: {sorted(RULES)}")
            validator = Draft202012Validator(document, registry=refs, format_checker=checker)
            fast = jsonschema_rs.Draft202012Validator(
                document,
                formats=fast_formats,
                validate_formats=True,
                ignore_unknown_formats=False,
                registry=fast_refs,
            )
            self._standards[(repository, version)] = Standard(
                repository=repository,
                version=version,
                title=document.get("title", repository),
                schema=document,
                fields=fields,
                business_key=key,
                geometry_field=geometry,
                validator=validator,
                fast_validator=fast,
                rules=tuple((n, RULES[n]) for n in names),
                code_lists=self._code_lists,
            )

    @property
    def repositories(self) -> list[str]:
        """Repository ids that have a standard, in the fixed order of DESIGN §2."""
        present = {r for r, _ in self._standards}
        return [r for r in REPOSITORIES if r in present]

    def versions(self, repository: str) -> list[str]:
        return sorted((v for r, v in self._standards if r == repository), key=_version_key)

    def get(self, repository: str, version: str | None = None) -> Standard:
        """The standard of ``repository`` at ``version`` (the newest when None). ``KeyError`` if absent."""
        versions = self.versions(repository)
        if not versions:
            raise KeyError(repository)
        return self._standards[(repository, version or versions[-1])]


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


@functools.cache
def default_registry() -> Registry:
    """The registry of the standards shipped in this package, loaded once per process."""
    return Registry()
