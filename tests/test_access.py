"""Masking and the access policy (issue 9): share class × grant state × purpose, masks, inference."""

import datetime as dt

import pytest

from mdm.access import GrantTerms, decide, mask_value
from mdm.errors import Forbidden
from standards import default_registry

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
PERSON = {
    "citizen_id": "32050519900307123X",
    "name": "周晓岚",
    "birth_date": "1990-03-07",
    "household_division_code": "320505",
    "phone": "13812345678",
    "residence_address": "江苏省苏州市姑苏区人民路2号",
    "household_address": "江苏省苏州市虎丘区狮山街道1号",
    "gender_code": "2",
}


def terms(fields=("*",), purposes=("tax.audit",), unmasked=(), kind="read", since=None, until=None, grant_id=1):
    return GrantTerms(
        id=grant_id,
        kind=kind,
        fields=frozenset(fields),
        purposes=frozenset(purposes),
        unmasked=frozenset(unmasked),
        valid_from=since or NOW - dt.timedelta(days=1),
        valid_until=until,
    )


def view(repository, grants, purpose="tax.audit", role="reader", kind="read"):
    return decide(default_registry().get(repository), role=role, grants=grants, purpose=purpose, now=NOW, kind=kind)


@pytest.mark.parametrize(
    ("rule", "value", "masked"),
    [
        ("id_number", "32050519900307123X", "32****************"),
        ("phone", "13812345678", "138****5678"),
        ("name", "周晓岚", "周**"),
        # an address keeps its province only: a prefecture or county maps onto the masked ID digits 3–6
        ("address", "江苏省苏州市姑苏区人民路2号", "江苏省" + "*" * 11),
        ("address", "北京市东城区景山前街4号", "北京市" + "*" * 9),
        ("address", "江苏省苏州市昆山市玉山镇1号", "江苏省" + "*" * 11),
        ("address", "示例省示例市虎丘区金山路9号", "示例省" + "*" * 11),
        ("address", "虎丘区金山路9号", "*" * 8),
        # 省 later in an address is no province (a 省级开发区, a 省府路): nothing of the county is kept
        ("address", "示例市虎丘区省级开发区示例路553号", "*" * 18),
        ("address", "苏州市姑苏区省府路8号", "*" * 11),
        ("address", "新疆维吾尔自治区乌鲁木齐市天山区1号", "新疆维吾尔自治区" + "*" * 10),
    ],
)
def test_masks_keep_the_agreed_characters_and_the_length(rule, value, masked):
    assert mask_value(rule, value) == masked
    assert len(mask_value(rule, value)) == len(value)


def test_a_list_of_names_is_masked_item_by_item():
    assert mask_value("name", ["王芳", "王小芳"]) == ["王*", "王**"]


def test_names_marked_sensitive_keep_their_first_character():
    seen = view("natural_person", [terms()]).project({**PERSON, "former_names": ["周小岚"]})
    assert seen.data["former_names"] == ["周**"] and "former_names" in seen.masked
    credit = view("credit_record", [terms()]).project({"record_id": "r1", "subject_name": "张三丰"})
    assert credit.data["subject_name"] == "张**"


def reasons(projection):
    return {w["field"]: w["reason"] for w in projection.withheld}


def test_without_a_grant_a_conditional_repository_shows_nothing_and_is_refused_whole():
    seen = view("natural_person", [])
    assert not seen.sees_anything and set(reasons(seen.project(PERSON)).values()) == {"access.no_grant"}
    from mdm.access import require_any

    with pytest.raises(Forbidden) as caught:
        require_any(seen)
    assert caught.value.code == "access.no_grant"


def test_a_star_grant_shows_conditional_fields_with_sensitive_ones_masked_and_revealing_ones_withheld():
    seen = view("natural_person", [terms()]).project(PERSON)
    assert seen.data["citizen_id"] == "32****************" and seen.key == "32****************"
    assert seen.data["name"] == "周晓岚"  # internal: shown under the grant; former names are the masked ones
    assert seen.data["phone"] == "138****5678" and seen.data["gender_code"] == "2"
    assert seen.masked == ["citizen_id", "household_address", "phone", "residence_address"]
    withheld = {w["field"]: w for w in seen.withheld}
    assert withheld["birth_date"] == {"field": "birth_date", "reason": "access.no_grant", "reveals": "citizen_id"}
    assert withheld["household_division_code"]["reveals"] == "citizen_id"
    assert "birth_date" not in seen.data and "household_division_code" not in seen.data


def test_an_unmasked_grant_of_the_revealed_field_releases_the_fields_that_reveal_it():
    seen = view("natural_person", [terms(unmasked=("citizen_id",))]).project(PERSON)
    assert seen.data["citizen_id"] == PERSON["citizen_id"] and seen.data["birth_date"] == "1990-03-07"
    assert seen.data["household_division_code"] == "320505" and seen.data["phone"] == "138****5678"


def test_a_grant_naming_fields_shows_only_those():
    seen = view("natural_person", [terms(fields=("citizen_id", "name"), unmasked=("citizen_id",))]).project(PERSON)
    assert set(seen.data) == {"citizen_id", "name"} and seen.data["citizen_id"] == PERSON["citizen_id"]
    assert reasons(seen)["phone"] == "access.no_grant"


@pytest.mark.parametrize(
    ("grant", "purpose", "reason"),
    [
        (terms(purposes=("social.assistance",)), "tax.audit", "access.purpose_not_granted"),
        (terms(until=NOW - dt.timedelta(seconds=1)), "tax.audit", "access.grant_expired"),
        (terms(since=NOW + dt.timedelta(days=1)), "tax.audit", "access.grant_expired"),
        (terms(kind="verify"), "tax.audit", "access.no_grant"),
    ],
    ids=["other-purpose", "expired", "not-yet-valid", "verify-grant-does-not-read"],
)
def test_a_conditional_field_outside_its_grant_is_withheld_with_the_reason(grant, purpose, reason):
    seen = view("natural_person", [grant], purpose=purpose).project(PERSON)
    assert seen.data == {} and seen.key is None
    assert set(reasons(seen).values()) == {reason}


def test_unconditional_fields_need_no_grant_and_conditional_ones_of_the_same_repository_do():
    record = {"record_id": "r1", "record_type": "penalty", "subject_name": "张三"}
    record["subject_citizen_id"] = PERSON["citizen_id"]
    seen = view("credit_record", []).project(record)
    assert seen.data == {"record_id": "r1", "record_type": "penalty"}
    assert reasons(seen) == {"subject_name": "access.no_grant", "subject_citizen_id": "access.no_grant"}


def test_an_unknown_field_is_withheld_never_silently_dropped():
    seen = view("natural_person", [terms()]).project({**PERSON, "secret": "1"})
    assert "secret" not in seen.data and reasons(seen)["secret"] == "access.share_none"


def test_stewards_see_everything():
    assert view("natural_person", [], role="admin").project(PERSON).data == PERSON


def test_a_verify_grant_covers_claims_without_showing_values():
    seen = view("natural_person", [terms(fields=("name", "birth_date"), kind="verify")], kind="verify")
    assert set(seen.shown) == {"name", "birth_date"}


def test_filters_on_masked_fields_are_refused():
    seen = view("natural_person", [terms()])
    with pytest.raises(Forbidden) as caught:
        seen.require_clear(["citizen_id"], "filtering")
    assert caught.value.code == "access.field_not_granted" and caught.value.extra["fields"] == ["citizen_id"]
    view("natural_person", [terms(unmasked=("citizen_id",))]).require_clear(["citizen_id"], "filtering")
