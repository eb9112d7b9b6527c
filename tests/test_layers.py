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
