"""Which database it is gets asked in one place: mdm/store/dialect.py (spatial and the migrations aside)."""

import re

from tests.conftest import ROOT

ALLOWED = {"mdm/store/dialect.py", "mdm/spatial.py"}
ALLOWED_UNDER = ("mdm/migrations/",)  # the migrations create different objects per database
PACKAGES = ("mdm", "loaders", "api", "standards")
CHECKS = [
    re.compile(r"\.dialect\.name"),  # engine.dialect.name, bind.dialect.name …
    re.compile(r"\.dialect\s*[!=]="),
    re.compile(r"[!=]=\s*[\"'](postgresql|sqlite)[\"']"),
    re.compile(r"[\"'](postgresql|sqlite)[\"']\s*[!=]="),
    re.compile(r"\bin\s*\(\s*[\"'](postgresql|sqlite)[\"']"),
    re.compile(r"get_backend_name\(\)"),
]


def dialect_checks(source: str) -> list[str]:
    return [line.strip() for line in source.splitlines() if any(check.search(line) for check in CHECKS)]


def test_the_grep_finds_the_forms_a_dialect_check_takes():
    samples = [
        'if session.get_bind().dialect.name == "postgresql":',
        'if self.db.dialect == "sqlite":',
        "return value if dialect_name != 'postgresql' else None",
        'if "sqlite" == name:',
        "if make_url(url).get_backend_name() == x:",
    ]
    assert [len(dialect_checks(s)) for s in samples] == [1] * len(samples)
    assert dialect_checks('JsonDoc = JSON().with_variant(JSONB(), "postgresql")') == []


def test_no_module_outside_the_dialect_module_asks_which_database_it_is():
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if name in ALLOWED or name.startswith(ALLOWED_UNDER):
                continue
            checks = dialect_checks(path.read_text(encoding="utf-8"))
            if checks:
                found[name] = checks
    assert found == {}
