"""``mdm check`` gives every identifier test vector in ../shared/data/vectors/ its listed verdict."""

import csv

import pytest


def test_every_citizen_id_vector_gets_its_listed_verdict(check, vectors):
    with open(vectors / "cn-resident-id.csv", encoding="utf-8", newline="") as fh:
        cases = list(csv.DictReader(fh))
    code, results = check("cn-resident-id", *(c["value"] for c in cases))
    assert code == 1  # some are invalid
    for case, result in zip(cases, results, strict=True):
        assert result["value"] == case["value"]
        assert result["valid"] is (case["expected"] == "valid"), case
        assert result["normalised"] == (case["normalised"] or None), case
        assert (result["code"] is None) is result["valid"]


def test_every_public_uscc_is_valid(check, vectors):
    values = (vectors / "uscc-valid-public.txt").read_text(encoding="utf-8").split()
    assert len(values) == 200
    code, results = check("uscc", *values)
    assert code == 0 and all(r["valid"] and r["normalised"] == r["value"] for r in results)


@pytest.mark.parametrize(
    ("fmt", "value", "expected"),
    [
        ("uscc", "91320505MA1B2C3DI5", "uscc.charset"),  # I is outside the GB 32100 alphabet
        ("uscc", "91320505MA1B2C3D86", "uscc.checksum"),
        ("uscc", "91320505ma1b2c3d85", None),  # lower case is normalised
        ("cn-resident-id", "1.10105E+17", "id.lossy_numeric"),
        ("cn-resident-id", "３２０５０５１９９００３０７１２３ｘ", None),  # full-width digits and letter
        ("org-code", "MA1B2C3D-8", None),
        ("org-code", "MA1B2C3D9", "org_code.checksum"),
        ("division-code", "3205", None),
        ("division-code", "32050", "division_code.format"),
        ("license-id", "1.2.156.3005.2.113205000142510039001.113205000142510039.320505000123.001.4", None),
    ],
)
def test_single_identifiers(check, fmt, value, expected):
    code, [result] = check(fmt, value)
    assert result["code"] == expected
    assert code == (0 if expected is None else 1)


def test_a_legacy_15_digit_number_is_upgraded_with_a_warning(check):
    _, [result] = check("cn-resident-id", "110101231101217")
    assert result == {
        "value": "110101231101217",
        "valid": True,
        "normalised": "11010119231101217X",
        "code": None,
        "warnings": ["id.upgraded"],
    }


def test_a_licence_id_with_a_wrong_check_character_is_only_warned(check):
    _, [result] = check("license-id", "1.2.156.3005.2.113205000142510039001.113205000142510039.320505000123.001.5")
    assert result["valid"] and result["warnings"] == ["license_id.checksum"]


def test_an_unknown_format_is_a_usage_error(check):
    code, _ = check("passport", "E12345678")
    assert code == 2
