"""The software part of a control price: GB/T 36964-2018 function-point cost from the versioned cost standard."""

from decimal import Decimal

import pytest

from mdm.errors import InvalidRequest
from mdm.projects.costing import DEFAULT_COST_STANDARD, cost_standard, cost_standard_versions, software_cost
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


def test_a_worked_example_computed_by_hand_matches_every_step():
    # By hand, with the coefficients of gbt36964-2018-v1.yaml (sources in the file):
    # NESMA estimated weights ILF 10, EIF 7, EI 4, EO 5, EQ 4 (ISO/IEC 24570):
    #   UFP = 3×10 + 2×7 + 12×4 + 6×5 + 8×4 = 30 + 14 + 48 + 30 + 32 = 154
    # scale-change factor, middle stage (招投标): 1.21 → S = 154 × 1.21 = 186.34
    # application type 应用集成 1.2 (placeholder, see the file); quality 1 + 0.025 × (1 + 1 + 0 − 1) = 1.025
    #   (DB11/T 1010-2013 B.4) → SWF = 1.2 × 1.025 = 1.23
    # language Java 1.0, team without similar projects 1.2 (DB11/T 1010-2013 tables 4, 5) → RDF = 1.2
    # PDR 7.10 h/FP (placeholder): AE = 186.34 × 7.10 × 1.23 × 1.2 = 1952.768664 person-hours
    # HM 174 h (21.75 days × 8): PM = 1952.768664 / 174 = 11.2228…; F 25474 元 (CSBMK 2023 P50, Xi'an)
    # labour = 1952.768664 × 25474 / 174 = 285 889.82 元; DNC 2.5 万元 = 25 000 元
    # total = 310 889.82 元 = 31.09 万元
    result = software_cost(WORKED)
    steps = {s["step"]: Decimal(s["value"]) for s in result["steps"]}
    assert steps["unadjusted_function_points"] == 154
    assert steps["adjusted_size"] == Decimal("186.34")
    assert steps["quality_factor"] == Decimal("1.025")
    assert steps["software_factor"] == Decimal("1.23")
    assert steps["development_factor"] == Decimal("1.2")
    assert steps["effort_person_hours"] == Decimal("1952.768664")
    assert round(steps["labour_cost_yuan"], 2) == Decimal("285889.82")
    assert round(steps["total_yuan"], 2) == Decimal("310889.82")
    assert result["amount_wan"] == "31.09"
    assert result["cost_standard"] == DEFAULT_COST_STANDARD
    assert [s["step"] for s in result["steps"]] == [
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
    assert all(s["formula"] for s in result["steps"])


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
