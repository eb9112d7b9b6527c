"""Imports point one way: api → loaders → mdm → standards (DESIGN §3)."""

import ast

import pytest

from tests.conftest import ROOT

FORBIDDEN = {
    "standards": {"mdm", "loaders", "api"},
    "mdm": {"loaders", "api"},
    "loaders": {"api"},
}


def imported_packages(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module.split(".")[0]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_layer_never_imports_the_layers_above_it(package):
    wrong = sorted(
        (path.relative_to(ROOT).as_posix(), name)
        for path in (ROOT / package).rglob("*.py")
        for name in imported_packages(path)
        if name in FORBIDDEN[package]
    )
    assert wrong == []


def test_there_is_no_utils_module():
    assert not [p for p in ROOT.glob("*/utils.py")]


def test_the_readme_configuration_table_lists_every_setting():
    from mdm.settings import Settings

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields if f"`MDM_{name.upper()}`" not in readme]
    assert missing == []


DOMAIN_PACKAGES = ("projects",)  # mdm/<name>: domain packages on top of the core (DESIGN §3)


def imported_modules(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level:
            yield from ("." * node.level + (node.module or "") + "." + alias.name for alias in node.names)


def test_the_core_never_imports_a_domain_package():
    domains = tuple(f"mdm.{name}" for name in DOMAIN_PACKAGES)
    wrong = sorted(
        (path.relative_to(ROOT).as_posix(), name)
        for path in (ROOT / "mdm").rglob("*.py")
        if path.relative_to(ROOT / "mdm").parts[0] not in DOMAIN_PACKAGES
        for name in imported_modules(path)
        if name == "mdm.projects"
        or name.startswith(tuple(f"{d}." for d in domains))
        or name.lstrip(".").startswith("projects")
    )
    assert wrong == []


def test_the_domain_check_sees_an_import_of_the_domain_package():
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "probe.py"
        for source, module in (
            ("from mdm.projects import census", "mdm.projects.census"),
            ("from mdm import projects", "mdm.projects"),
            ("import mdm.projects", "mdm.projects"),
        ):
            probe.write_text(source + "\n", encoding="utf-8")
            assert module in set(imported_modules(probe))
