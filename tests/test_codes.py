"""The published code table (docs/codes.md) and the codes in the code are the same set."""

import re

import pytest

from standards.codes import CODES, check
from tests.conftest import ROOT

ROW = re.compile(r"^\| `([a-z_]+\.[a-z_]+)` \| (error|warning) \|")


def published() -> dict[str, str]:
    rows = {}
    for line in (ROOT / "docs" / "codes.md").read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            rows[match.group(1)] = match.group(2)
    return rows


def test_every_code_in_the_code_is_published_with_its_severity():
    assert published() == {slug: code.severity for slug, code in CODES.items()}


def test_codes_are_dotted_slugs():
    assert all(re.fullmatch(r"[a-z_]+\.[a-z_]+", slug) for slug in CODES)


def test_an_unpublished_code_is_refused():
    with pytest.raises(KeyError):
        check("made.up")


def test_every_code_literal_in_the_source_is_published():
    literal = re.compile(r"""["']([a-z_]+\.[a-z_]+)["']""")
    areas = {slug.split(".")[0] for slug in CODES}
    unknown = set()
    for package in ("standards", "mdm", "loaders", "api"):
        for path in (ROOT / package).rglob("*.py"):
            for candidate in literal.findall(path.read_text(encoding="utf-8")):
                area = candidate.split(".")[0]
                if (
                    area in areas
                    and candidate not in CODES
                    and not candidate.endswith((".py", ".json", ".jsonl", ".yaml", ".csv", ".geojson", ".html"))
                ):
                    unknown.add((path.name, candidate))
    assert not unknown


def test_every_published_code_has_a_chinese_title():
    from standards.code_titles import TITLES

    assert set(TITLES) == set(CODES)
    assert all(re.search(r"[\u4e00-\u9fff]", title) for title in TITLES.values())
