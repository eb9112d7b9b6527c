"""The software part of a control price: GB/T 36964-2018 function-point cost from a cost standard pack (Suzhou, the
default, and Beijing), and the start-up check of the packs against their schema."""

import copy
from decimal import Decimal

import pytest
import yaml

from mdm.errors import CostStandardInvalid, InvalidRequest
from mdm.projects.costing import (
    DEFAULT_COST_STANDARD,
    check_cost_standards,
    cost_standard,
    cost_standard_versions,
    cost_standards,
    load_packs,
    software_cost,
)
from mdm.projects.rules import fen_to_wan, wan_to_fen

WORKED = {
    "method": "estimated",
    "functions": {"ILF": 3, "EIF": 2, "EI": 12, "EO": 6, "EQ": 8},
    "stage": "middle",
    "application_type": "integration",
    "quality": {"distributed": 1, "performance": 1, "reliability": 0, "multi_site": -1},
    "language": "java",
    "team": "none",
    "direct_non_labour_wan": "2.5",
}


STEPS = [
    "unadjusted_function_points",
    "adjusted_size",
    "quality_factor",
    "software_factor",
    "development_factor",
    "effort_person_hours",
    "effort_person_months",
    "labour_cost_yuan",
    "total_yuan",
    "amount_wan",
]


def _steps(result):
    return {s["step"]: Decimal(s["value"]) for s in result["steps"]}


def test_the_suzhou_pack_is_the_default_and_a_worked_example_computed_by_hand_matches_every_step():
    # By hand, with the coefficients of suzhou-csbmk2025-v1.yaml (sources in the file):
    # NESMA estimated weights ILF 10, EIF 7, EI 4, EO 5, EQ 4 (ISO/IEC 24570):
    #   UFP = 3×10 + 2×7 + 12×4 + 6×5 + 8×4 = 30 + 14 + 48 + 30 + 32 = 154
    # scale-change factor, middle stage (招投标): 1.21 (issue 23, packs other than Shandong/Jiangxi)
    #   → S = 154 × 1.21 = 186.34
    # application type 应用集成 1.2 (unconfirmed, see the file); quality 1 + 0.025 × (1 + 1 + 0 − 1) = 1.025
    #   (DB11/T 1010-2013 B.4) → SWF = 1.2 × 1.025 = 1.23
    # language Java 1.0, team without similar projects 1.2 (DB11/T 1010-2013 tables 4, 5) → RDF = 1.2
    # PDR 6.72 h/FP (CSBMK 2025 P50): AE = 186.34 × 6.72 × 1.23 × 1.2 = 1252.2048 × 1.23 × 1.2
    #   = 1540.211904 × 1.2 = 1848.2542848 person-hours
    # HM 174 h (21.75 days × 8): PM = 1848.2542848 / 174 = 10.6221…; F 27 471 元 (CSBMK 2025, 苏州)
    # labour = 1848.2542848 × 27471 / 174 = 50 773 393.4577408 / 174 = 291 801.11 元; DNC 2.5 万元 = 25 000 元
    # total = 316 801.11 元 = 31.6801… 万元 → 31.68 万元 (half up)
    result = software_cost(WORKED)
    steps = _steps(result)
    assert steps["unadjusted_function_points"] == 154
    assert steps["adjusted_size"] == Decimal("186.34")
    assert steps["quality_factor"] == Decimal("1.025")
    assert steps["software_factor"] == Decimal("1.23")
    assert steps["development_factor"] == Decimal("1.2")
    assert steps["effort_person_hours"] == Decimal("1848.2542848")
    assert round(steps["effort_person_months"], 4) == Decimal("10.6222")
    assert round(steps["labour_cost_yuan"], 2) == Decimal("291801.11")
    assert round(steps["total_yuan"], 2) == Decimal("316801.11")
    assert result["amount_wan"] == "31.68"
    assert result["cost_standard"] == DEFAULT_COST_STANDARD == "suzhou-csbmk2025-v1"
    assert [s["step"] for s in result["steps"]] == STEPS
    assert all(s["formula"] for s in result["steps"])
    assert "27471 (F)" in result["steps"][7]["formula"] and "/ 174 (HM)" in result["steps"][6]["formula"]


def test_the_beijing_pack_computes_the_same_count_with_its_own_coefficients_by_hand():
    # By hand, with beijing-db11t1010-v1.yaml: UFP 154, CF middle 1.21 → S 186.34, SWF 1.23, RDF 1.2 as above;
    # PDR 6.72 h/FP (CSBMK 2025 P50) → AE = 1848.2542848 person-hours
    # HM 176 h (DB11/T 1010): PM = 1848.2542848 / 176 = 10.501444800; F 32 198 元 (CSBMK 2025, 北京)
    # labour = 1848.2542848 × 32198 / 176 = 59 510 091.4619904 / 176 = 338 125.5196704 元
    # total = 338 125.5196704 + 25 000 = 363 125.5196704 元 = 36.3125… 万元 → 36.31 万元
    result = software_cost(WORKED, version="beijing-db11t1010-v1")
    steps = _steps(result)
    assert steps["adjusted_size"] == Decimal("186.34")
    assert steps["effort_person_hours"] == Decimal("1848.2542848")
    assert steps["effort_person_months"] == Decimal("10.5014448")
    assert steps["labour_cost_yuan"] == Decimal("338125.5196704")
    assert steps["total_yuan"] == Decimal("363125.5196704")
    assert result["amount_wan"] == "36.31"
    assert result["cost_standard"] == "beijing-db11t1010-v1"


def test_the_early_stage_factor_of_the_suzhou_pack_is_1_35():
    # indicative count 1 ILF = 35 UFP; early CF 1.35 → S = 47.25; defaults A 1.0, Q 1, L 1.0, T 1.0
    # Suzhou: AE = 47.25 × 6.72 = 317.52 h; 317.52 × 27471 / 174 = 8 722 591.92 / 174 = 50 129.838… 元 → 5.01 万元
    result = software_cost({"method": "indicative", "functions": {"ILF": 1}, "stage": "early"})
    steps = _steps(result)
    assert steps["adjusted_size"] == Decimal("47.25")
    assert steps["effort_person_hours"] == Decimal("317.52")
    assert round(steps["labour_cost_yuan"], 2) == Decimal("50129.84")
    assert result["amount_wan"] == "5.01"


def test_indicative_counting_uses_only_data_functions():
    result = software_cost({"method": "indicative", "functions": {"ILF": 2, "EIF": 1}, "stage": "delivered"})
    assert result["steps"][0]["value"] == "85"  # 2×35 + 1×15
    with pytest.raises(InvalidRequest) as caught:
        software_cost({"method": "indicative", "functions": {"EI": 3}})
    assert caught.value.code == "project.invalid"


@pytest.mark.parametrize(
    "change",
    [{"stage": "someday"}, {"application_type": "game"}, {"quality": {"performance": 2}}, {"functions": {"ILF": -1}}],
)
def test_a_count_outside_the_standard_is_refused(change):
    with pytest.raises(InvalidRequest) as caught:
        software_cost({**WORKED, **change})
    assert caught.value.code == "project.invalid"


def test_an_unknown_cost_standard_is_refused():
    with pytest.raises(InvalidRequest) as caught:
        software_cost(WORKED, version="made-up-2030")
    assert caught.value.code == "project.cost_standard_unknown"


def test_every_coefficient_of_every_cost_standard_says_where_it_comes_from():
    for version in cost_standard_versions():
        std = cost_standard(version)
        assert std["version"] == version
        assert "NOT FOUND" not in str(std) and "placeholder" not in str(std).lower()
        tables = [
            "scale_change_factor",
            "productivity_hours_per_fp",
            "application_type",
            "quality",
            "language",
            "team",
            "hours_per_person_month",
            "person_month_rate_yuan",
        ]
        assert all(std[t]["source"].strip() for t in tables)
        assert all(std["counting"][m]["source"].strip() for m in std["counting"])


def test_amounts_are_exact_wan_with_two_decimals():
    assert wan_to_fen("100.01", field="x") == 100_010_000
    assert fen_to_wan(wan_to_fen("0.1", field="x")) == Decimal("0.10")
    for bad in ("1.001", "-1", "abc", "NaN", "Infinity"):
        with pytest.raises(InvalidRequest):
            wan_to_fen(bad, field="x")


def test_the_packs_are_listed_with_the_default():
    listed = cost_standards()
    assert listed["default"] == "suzhou-csbmk2025-v1"
    assert {p["version"]: p["region"] for p in listed["packs"]} == {
        "suzhou-csbmk2025-v1": "苏州",
        "beijing-db11t1010-v1": "北京",
    }
    assert check_cost_standards() == ["beijing-db11t1010-v1", "suzhou-csbmk2025-v1"]


def _pack_without(tmp_path, version, *path):
    document = copy.deepcopy(cost_standard(DEFAULT_COST_STANDARD))
    document["version"] = version
    holder = document
    for key in path[:-1]:
        holder = holder[key]
    del holder[path[-1]]
    (tmp_path / f"{version}.yaml").write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")


@pytest.mark.parametrize(
    "path",
    [
        ("person_month_rate_yuan",),
        ("productivity_hours_per_fp", "value"),
        ("scale_change_factor", "values", "late"),
        ("hours_per_person_month", "source"),
        ("counting", "estimated", "weights", "EQ"),
    ],
)
def test_a_pack_with_a_missing_coefficient_is_refused_with_its_name(tmp_path, path):
    _pack_without(tmp_path, "steward-2026", *path)
    with pytest.raises(CostStandardInvalid) as caught:
        load_packs(tmp_path)
    assert caught.value.code == "project.cost_standard_invalid"
    assert caught.value.extra == {"pack": "steward-2026", "coefficient": ".".join(path)}
    assert ".".join(path) in caught.value.detail


def test_a_pack_with_a_figure_that_is_no_decimal_or_a_wrong_version_is_refused(tmp_path):
    document = copy.deepcopy(cost_standard(DEFAULT_COST_STANDARD))
    document["version"] = "steward-2026"
    document["person_month_rate_yuan"]["value"] = "about 27k"
    (tmp_path / "steward-2026.yaml").write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CostStandardInvalid) as caught:
        load_packs(tmp_path)
    assert caught.value.extra["coefficient"] == "person_month_rate_yuan.value"
    document["person_month_rate_yuan"]["value"] = "27471"
    (tmp_path / "steward-2026.yaml").write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    assert set(load_packs(tmp_path)) == {"steward-2026"}  # the same pack, complete, is admitted
    (tmp_path / "steward-2026.yaml").rename(tmp_path / "other-name.yaml")
    with pytest.raises(CostStandardInvalid) as caught:
        load_packs(tmp_path)
    assert caught.value.extra["coefficient"] == "version"


def test_the_app_does_not_start_with_a_bad_pack(tmp_path, monkeypatch):
    from api.app import create_app
    from mdm.projects import costing

    _pack_without(tmp_path, DEFAULT_COST_STANDARD, "hours_per_person_month")
    monkeypatch.setattr(costing, "STANDARDS_DIR", tmp_path)
    costing._packs.cache_clear()
    try:
        with pytest.raises(CostStandardInvalid) as caught:
            create_app()
        assert caught.value.extra["coefficient"] == "hours_per_person_month"
    finally:
        monkeypatch.undo()
        costing._packs.cache_clear()
