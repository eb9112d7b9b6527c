"""Duplicate detection, measured (issue 23): precision and recall at the threshold on the labelled pairs of
``tests/data/duplicate_pairs.yaml`` — paraphrased declarations (phase words 二期 / 第二期建设, generic words
移动应用 / 平台 / 建设, reordered scope) and look-alikes that are not duplicates (another phase, another year,
another numbered system, the same generic words in another domain) — and the declaration step on each backend."""

from __future__ import annotations

from decimal import Decimal

import pytest
import yaml

from mdm.projects.duplicates import markers, similarity
from mdm.projects.rules import DUPLICATE_THRESHOLD
from tests.helpers import ROOT
from tests.projects_world import declare_body, make_world, upload

PAIRS = yaml.safe_load((ROOT / "tests" / "data" / "duplicate_pairs.yaml").read_text(encoding="utf-8"))["pairs"]


def measure() -> dict[str, object]:
    """Counts, precision and recall at the threshold, and the pairs on the wrong side of it."""
    tp = fp = fn = 0
    wrong = []
    for pair in PAIRS:
        score = similarity(*pair["a"], *pair["b"])
        alarm = score >= DUPLICATE_THRESHOLD
        tp += alarm and pair["duplicate"]
        fp += alarm and not pair["duplicate"]
        fn += not alarm and pair["duplicate"]
        if alarm != pair["duplicate"]:
            wrong.append((str(score), pair["why"]))
    return {
        "pairs": len(PAIRS),
        "precision": Decimal(tp) / (tp + fp) if tp + fp else Decimal(1),
        "recall": Decimal(tp) / (tp + fn),
        "false_alarms": fp,
        "missed": fn,
        "wrong": wrong,
    }


def test_the_labelled_set_holds_at_least_50_pairs_of_both_kinds():
    assert len(PAIRS) >= 50
    assert sum(p["duplicate"] for p in PAIRS) >= 25 and sum(not p["duplicate"] for p in PAIRS) >= 20
    assert all(len(p["a"]) == len(p["b"]) == 2 and p["why"] for p in PAIRS)


def test_recall_is_at_least_0_9_with_no_false_alarm_at_the_threshold(capsys):
    report = measure()
    with capsys.disabled():
        print(
            f"\nduplicates at {DUPLICATE_THRESHOLD}: {report['pairs']} pairs, precision {report['precision']:.3f}, "
            f"recall {report['recall']:.3f}, false alarms {report['false_alarms']}, missed {report['missed']}"
        )
    assert report["false_alarms"] == 0, report["wrong"]
    assert report["recall"] >= Decimal("0.9"), report["wrong"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("市场监管智慧监管平台二期", (2, set(), set())),
        ("城市运行管理服务平台（第二期建设）", (2, set(), set())),
        ("智能交通信号控制系统第2期", (2, set(), set())),
        ("数字档案馆", (1, set(), set())),
        ("第1号业务系统2025年度运维服务", (1, {"2025"}, {"1"})),
    ],
)
def test_the_markers_of_a_name_are_its_phase_years_and_numbers(name, expected):
    phase, years, numbers = expected
    assert markers(name) == (phase, frozenset(years), frozenset(numbers))


@pytest.fixture
def world(db, tmp_path):
    return make_world(db, tmp_path)


def _declare(world, pair_side, department):
    name, scope = pair_side
    body = declare_body(world, name=name, scope=scope, department_uscc=world.entities[department]["uscc"])
    declarer = world.declarer_of(department)
    pid = world.post(declarer, "/projects", body).json()["id"]
    upload(world, declarer, pid, "proposal")
    return world.post(declarer, f"/projects/{pid}/transitions", {"to": "declared"})


def test_a_phase_word_paraphrase_is_suspected_and_another_phase_is_not(world):
    phase_two = next(p for p in PAIRS if p["why"] == "二期 / 第二期建设")
    phase_three = next(p for p in PAIRS if p["why"].startswith("another phase of the same system"))
    assert phase_three["a"] == phase_two["a"]
    assert _declare(world, phase_two["a"], 1).status_code == 200
    r = _declare(world, phase_two["b"], 2)
    assert r.status_code == 409 and r.json()["code"] == "project.duplicate_suspected"
    r = _declare(world, phase_three["b"], 2)
    assert r.status_code == 200, r.text
    assert all(not c["above_threshold"] for c in r.json()["duplicate_candidates"])
