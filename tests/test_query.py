"""The one query module: the cursor codec's strict, bounded shape, and the bounds on query parameters."""

from __future__ import annotations

import base64
import json

import pytest

from mdm.errors import InvalidRequest
from mdm.query import (
    MAX_CURSOR_LENGTH,
    MAX_FILTER_LENGTH,
    ListQuery,
    SearchQuery,
    decode_cursor,
    encode_cursor,
    parse_envelope,
    parse_point,
)
from standards import default_registry

GEO = default_registry().get("geo_feature")
FP = "0123456789abcdef"


def raw_cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def refused(cursor: str, shape=(int,)) -> str:
    with pytest.raises(InvalidRequest) as caught:
        decode_cursor(cursor, fingerprint=FP, shape=shape)
    assert caught.value.code == "request.cursor_invalid"
    return caught.value.detail


@pytest.mark.parametrize(
    ("position", "shape"), [((0,), (int,)), ((12.5, 7), (float, int)), ((3, 2**63 - 1), (float, int))]
)
def test_a_cursor_gives_back_the_position_it_was_made_from(position, shape):
    cursor = encode_cursor(position, fingerprint=FP)
    assert decode_cursor(cursor, fingerprint=FP, shape=shape) == position
    assert len(cursor) < MAX_CURSOR_LENGTH


def test_a_cursor_of_another_query_is_refused_as_such():
    assert refused(encode_cursor((5,), fingerprint="fedcba9876543210")) == "the cursor belongs to another query"


@pytest.mark.parametrize(
    "text",
    [
        '{"p":[NaN],"q":"0123456789abcdef"}',
        '{"p":[Infinity],"q":"0123456789abcdef"}',
        '{"p":[-Infinity],"q":"0123456789abcdef"}',
        '{"p":[1e400],"q":"0123456789abcdef"}',
    ],
    ids=["nan", "infinity", "minus-infinity", "overflow"],
)
def test_a_cursor_holding_a_non_finite_number_is_refused(text):
    refused(raw_cursor(text), shape=(float,))


@pytest.mark.parametrize(
    "text",
    [
        '{"p":[[[[1]]]],"q":"0123456789abcdef"}',
        '{"p":[{"a":1}],"q":"0123456789abcdef"}',
        '{"a":' + "[" * 5000 + "]" * 5000 + "}",
    ],
    ids=["nested-list", "object-in-list", "five-thousand-levels"],
)
def test_a_cursor_nested_deeper_than_its_shape_is_refused_without_parsing_it(text):
    refused(raw_cursor(text)[:MAX_CURSOR_LENGTH])
    refused(raw_cursor(text))


def test_brackets_inside_a_string_do_not_count_as_depth():
    # refused for its fingerprint, not its depth
    assert refused(raw_cursor('{"p":[1],"q":"[[[[[[[["}')) == "the cursor belongs to another query"


@pytest.mark.parametrize(
    "text",
    [
        '{"p":[true],"q":"0123456789abcdef"}',
        '{"p":[-1],"q":"0123456789abcdef"}',
        '{"p":[9223372036854775808],"q":"0123456789abcdef"}',
        '{"p":[1.5],"q":"0123456789abcdef"}',
        '{"p":["1"],"q":"0123456789abcdef"}',
        '{"p":[1,2],"q":"0123456789abcdef"}',
        '{"p":1,"q":"0123456789abcdef"}',
        '{"p":[1],"q":"0123456789abcdef","x":1}',
        '{"p":[1],"p":[2],"q":"0123456789abcdef"}',
        '{"q":"0123456789abcdef"}',
        "[1]",
        "null",
    ],
)
def test_a_cursor_of_the_wrong_shape_is_refused(text):
    refused(raw_cursor(text))


@pytest.mark.parametrize("cursor", ["x" * (MAX_CURSOR_LENGTH + 1), "a+b/", "a b", "é", "A"])
def test_an_overlong_or_non_base64url_cursor_is_refused(cursor):
    refused(cursor)


def test_a_list_cursor_is_bound_to_its_repository_and_filters():
    query = ListQuery(filters={"level": "county"})
    cursor = query.cursor_after(41, "geo_feature")
    assert ListQuery(filters={"level": "county"}, cursor=cursor).after("geo_feature") == 41
    for other, repository in [(ListQuery(filters={}, cursor=cursor), "geo_feature"), (query, "natural_person")]:
        with pytest.raises(InvalidRequest):
            ListQuery(**{**vars(other), "cursor": cursor}).after(repository)


def test_a_list_cursor_is_not_a_search_cursor():
    cursor = ListQuery(filters={}).cursor_after(3, "geo_feature")
    with pytest.raises(InvalidRequest):
        SearchQuery(cursor=cursor).position("geo_feature", (int,))


def test_a_filter_value_longer_than_the_bound_is_refused_on_lists_and_searches():
    long = {"feature_id": "3" * (MAX_FILTER_LENGTH + 1)}
    for query in (ListQuery(filters=long), SearchQuery(filters=long)):
        with pytest.raises(InvalidRequest) as caught:
            query.check(GEO)
        assert caught.value.code == "request.too_long" and caught.value.extra["limit"] == MAX_FILTER_LENGTH
    ListQuery(filters={"feature_id": "3" * MAX_FILTER_LENGTH}).check(GEO)


@pytest.mark.parametrize("value", ["nan,1", "1,inf", "181,0", "0,91", "1", "1,2,3", "0x1p3,1"])
def test_points_outside_the_coordinate_ranges_are_refused(value):
    with pytest.raises(InvalidRequest):
        parse_point(value)


def test_an_envelope_is_parsed_and_checked():
    assert vars(parse_envelope("120,31,121,32")) == {"min_x": 120, "min_y": 31, "max_x": 121, "max_y": 32}
    for value in ("121,31,120,32", "120,31,121,nan", "-181,0,0,0"):
        with pytest.raises(InvalidRequest):
            parse_envelope(value)


def test_the_query_module_is_the_only_cursor_codec():
    from tests.conftest import ROOT

    writers = sorted(
        path.relative_to(ROOT).as_posix()
        for package in ("mdm", "api", "loaders")
        for path in (ROOT / package).rglob("*.py")
        if "urlsafe_b64" in path.read_text(encoding="utf-8")
    )
    assert writers == ["mdm/query.py"]
    assert json.loads(base64.urlsafe_b64decode(encode_cursor((1,), fingerprint=FP) + "==")) == {"p": [1], "q": FP}
