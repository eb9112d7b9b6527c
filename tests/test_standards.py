"""The standards registry: loading, checking, validators with the format checker on, example instances."""

import json
import shutil

import pytest

from standards import Registry, StandardError, default_registry
from tests.conftest import ROOT

SCHEMAS = ROOT / "standards" / "schemas"
EXAMPLES = ROOT / "standards" / "examples"


def example_cases():
    for path in sorted(EXAMPLES.glob("*/*.json")):
        repository, version = path.parent.name, path.stem
        document = json.loads(path.read_text(encoding="utf-8"))
        for i, record in enumerate(document["valid"]):
            yield pytest.param(repository, version, record, [], id=f"{repository}-valid-{i}")
        for i, case in enumerate(document["invalid"]):
            yield pytest.param(repository, version, case["record"], case["codes"], id=f"{repository}-invalid-{i}")


@pytest.mark.parametrize(("repository", "version", "record", "codes"), list(example_cases()))
def test_example_instances_get_their_listed_verdict(repository, version, record, codes):
    standard = default_registry().get(repository, version)
    assert [i.code for i in standard.validate(record)] == codes


def test_the_registry_knows_the_geo_feature_standard():
    standard = default_registry().get("geo_feature")
    assert standard.version == "1.0.0"
    assert standard.business_key == ("feature_id",)
    assert standard.geometry_field == "geometry"
    assert {"feature_id", "level", "division_code"} <= set(standard.filterable)


@pytest.fixture
def schemas_copy(tmp_path):
    target = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, target)
    return target


def _edit(root, change):
    path = root / "geo_feature" / "1.0.0.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")


def test_a_misspelt_format_is_an_error_not_a_no_op(schemas_copy):
    _edit(schemas_copy, lambda d: d["properties"]["division_code"].update(format="divison-code"))
    with pytest.raises(StandardError) as caught:
        Registry(schemas_copy)
    assert caught.value.code == "standard.format_unknown"


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda d: d["properties"]["name"].update({"x-sensitivity": "secret"}), "x-sensitivity"),
        (lambda d: d["properties"]["name"].update({"x-share": "always"}), "x-share"),
        (lambda d: d["properties"]["name"].update({"x-searh": "text"}), "unknown annotation"),
        (lambda d: d.update({"x-business-key": "nope"}), "x-business-key"),
        (lambda d: d["properties"]["name"].update({"x-sensitivity": "sensitive"}), "x-mask"),
        (lambda d: d["properties"]["name"].update({"x-ref": "people"}), "x-ref"),
        (lambda d: d["properties"]["name"].update({"type": "text"}), "meta-schema"),
    ],
    ids=["sensitivity", "share", "unknown-annotation", "business-key", "sensitive-without-mask", "ref", "meta"],
)
def test_malformed_standards_are_refused_with_a_reason(schemas_copy, change, fragment):
    _edit(schemas_copy, change)
    with pytest.raises(StandardError) as caught:
        Registry(schemas_copy)
    assert caught.value.code == "standard.invalid"
    assert fragment in str(caught.value)


def test_the_format_checker_is_on():
    standard = default_registry().get("geo_feature")
    record = {"feature_id": "1", "feature_type": "poi", "name": "x", "valid_from": "2024-13-01"}
    assert [i.code for i in standard.validate(record)] == ["date.invalid"]


def test_refs_resolve_locally_without_network():
    standard = default_registry().get("geo_feature")
    bad = {"feature_id": "1", "feature_type": "poi", "name": "x", "geometry": {"type": "Circle", "coordinates": []}}
    assert [i.code for i in standard.validate(bad)] == ["schema.enum"]


@pytest.mark.parametrize(("repository", "version", "record", "codes"), list(example_cases()))
def test_the_fast_path_and_the_reference_validator_agree(repository, version, record, codes):
    standard = default_registry().get(repository, version)
    reference = not any(True for _ in standard.validator.iter_errors(record))
    assert standard.fast_validator.is_valid(record) is reference
