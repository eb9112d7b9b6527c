"""Typed errors: each class carries its HTTP status and exit code, and the published table agrees with them."""

import ast
import fnmatch
import re

import pytest

from api.cli import EXIT
from mdm import errors
from mdm.repositories import standard_for
from standards import default_registry
from tests.conftest import ROOT

STATUS_ROW = re.compile(r"^\| (\d{3}) \| (.+) \|$")


def documented_statuses() -> list[tuple[str, int]]:
    """(code pattern, status) from docs/codes.md "HTTP status of API errors", exact codes first."""
    text = (ROOT / "docs" / "codes.md").read_text(encoding="utf-8")
    section = text.split("## HTTP status of API errors", 1)[1]
    rows = []
    for line in section.splitlines():
        match = STATUS_ROW.match(line)
        if match:
            rows += [(code, int(match.group(1))) for code in re.findall(r"`([a-z_.*]+)`", match.group(2))]
    return sorted(rows, key=lambda row: "*" in row[0])


def raised_codes() -> set[tuple[str, str]]:
    """(error class, code) for every ``raise SomeError("code", …)`` in the source."""
    kinds = {name for name, value in vars(errors).items() if isinstance(value, type)}
    found = set()
    for package in ("standards", "mdm", "loaders", "api"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                    call = node.exc
                    name = getattr(call.func, "id", getattr(call.func, "attr", None))
                    if name in kinds and call.args and isinstance(call.args[0], ast.Constant):
                        found.add((name, call.args[0].value))
    return found


def test_every_raised_code_answers_the_status_docs_codes_md_publishes():
    table = documented_statuses()
    raised = raised_codes()
    assert len(raised) > 15  # the scan finds the raise sites
    raised |= {("FileTooLarge", "file.too_large"), ("RepositoryUnknown", "repository.unknown")}
    raised |= {("Unavailable", "search.unavailable")}  # SearchUnavailable(detail)
    wrong = []
    for kind, code in sorted(raised):
        status = getattr(errors, kind).status
        documented = next((s for pattern, s in table if fnmatch.fnmatchcase(code, pattern)), None)
        if documented != status:
            wrong.append((kind, code, status, documented))
    assert wrong == []


@pytest.mark.parametrize(
    ("kind", "status", "exit_code"),
    [
        (errors.MdmError, 500, EXIT["error"]),
        (errors.InvalidRequest, 400, EXIT["usage"]),
        (errors.NotFound, 404, EXIT["usage"]),
        (errors.RepositoryUnknown, 404, EXIT["usage"]),
        (errors.Unauthorised, 401, EXIT["error"]),
        (errors.Forbidden, 403, EXIT["error"]),
        (errors.FileRejected, 422, EXIT["file_rejected"]),
        (errors.FileTooLarge, 413, EXIT["file_rejected"]),
        (errors.ProfileRejected, 400, EXIT["usage"]),
        (errors.GuardRefused, 409, EXIT["guard_refused"]),
        (errors.Unavailable, 503, EXIT["error"]),
    ],
)
def test_each_error_class_carries_its_status_and_exit_code(kind, status, exit_code):
    assert (kind.status, kind.exit_code) == (status, exit_code)


def test_the_exit_codes_are_the_published_ones():
    assert EXIT == {
        "ok": 0,
        "error": 1,
        "usage": 2,
        "file_rejected": 3,
        "guard_refused": 4,
        "all_rejected": 5,
        "unindexed": 6,
    }


def test_an_unknown_repository_is_one_error_naming_the_known_ones():
    registry = default_registry()
    assert standard_for(registry, "legal_entity").repository == "legal_entity"
    with pytest.raises(errors.RepositoryUnknown) as caught:
        standard_for(registry, "persons")
    assert caught.value.code == "repository.unknown" and "natural_person" in caught.value.detail


def test_repository_ids_are_looked_up_in_one_place():
    """Outside mdm/repositories.py nobody turns a missing repository into an error of its own."""
    offenders = [
        path.relative_to(ROOT).as_posix()
        for package in ("mdm", "loaders", "api")
        for path in (ROOT / package).rglob("*.py")
        if '"repository.unknown"' in path.read_text(encoding="utf-8")
    ]
    assert offenders == ["mdm/errors.py"]
