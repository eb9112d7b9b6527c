"""Survivorship rules, on their own."""

import datetime as dt

import pytest

from mdm.consolidation import SourceView, consolidate

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def src(system, priority, when, data, status="active", key="k"):
    return SourceView(
        source_system_id=system,
        source_key=key,
        priority=priority,
        source_time=when,
        batch_id=f"b-{system}",
        status=status,
        data=data,
    )


def test_the_higher_priority_source_wins_each_field():
    golden = consolidate(
        [src("low", 10, T0 + dt.timedelta(days=9), {"name": "甲", "road": "东街"}), src("high", 90, T0, {"name": "乙"})]
    )
    assert golden.data == {"name": "乙", "road": "东街"}
    assert golden.provenance["name"]["source"] == "high"
    assert golden.provenance["road"]["source"] == "low"


def test_recency_breaks_a_priority_tie():
    golden = consolidate([src("a", 50, T0, {"name": "旧"}), src("b", 50, T0 + dt.timedelta(hours=1), {"name": "新"})])
    assert golden.data["name"] == "新"
    assert golden.provenance["name"] == {
        "source": "b",
        "batch_id": "b-b",
        "recorded_at": "2024-01-01T01:00:00Z",
    }


def test_empty_values_never_survive():
    golden = consolidate([src("a", 90, T0, {"name": "", "road": None}), src("b", 10, T0, {"name": "甲", "road": "x"})])
    assert golden.data == {"name": "甲", "road": "x"}


def test_the_order_of_sources_does_not_matter():
    sources = [src("a", 50, T0, {"name": "甲"}, key="1"), src("b", 50, T0, {"name": "乙"}, key="2")]
    assert consolidate(sources) == consolidate(list(reversed(sources)))


def test_retired_sources_do_not_vote_while_an_active_one_remains():
    golden = consolidate([src("a", 90, T0, {"name": "旧"}, status="retired"), src("b", 10, T0, {"name": "新"})])
    assert (golden.status, golden.data["name"]) == ("active", "新")


def test_a_key_whose_sources_are_all_retired_is_retired_with_its_last_values():
    golden = consolidate([src("a", 90, T0, {"name": "旧"}, status="retired")])
    assert (golden.status, golden.data) == ("retired", {"name": "旧"})


def test_consolidating_nothing_is_a_programming_error():
    with pytest.raises(ValueError):
        consolidate([])


def test_provenance_is_stored_once_per_origin_and_read_back_per_field():
    from mdm.consolidation import pack_provenance, unpack_provenance

    a = {"source": "a", "batch_id": "b1", "recorded_at": "2024-01-01T00:00:00Z"}
    b = {"source": "b", "batch_id": "b2", "recorded_at": "2024-02-01T00:00:00Z"}
    per_field = {"name": a, "road": b, "level": dict(a)}
    packed = pack_provenance(per_field)
    assert packed["~sources"] == [a, b] and packed["~fields"] == {"name": 0, "road": 1, "level": 0}
    assert unpack_provenance(packed) == per_field
    assert unpack_provenance(per_field) == per_field  # databases written before the packed form
