"""Masking and projection (DESIGN §6): what a reader sees of a record."""

import pytest

from mdm.access import mask_value, project
from mdm.keys import Caller
from standards import default_registry

PERSON = {
    "citizen_id": "32050519900307123X",
    "name": "周晓岚",
    "phone": "13812345678",
    "residence_address": "江苏省苏州市姑苏区人民路2号",
    "household_address": "江苏省苏州市虎丘区狮山街道1号",
}


@pytest.mark.parametrize(
    ("rule", "value", "masked"),
    [
        ("id_number", "32050519900307123X", "320***********123X"),
        ("phone", "13812345678", "138****5678"),
        ("name", "周晓岚", "周**"),
        ("address", "江苏省苏州市姑苏区人民路2号", "江苏省苏州市姑苏区*****"),
        ("address", "北京市东城区景山前街4号", "北京市东城区******"),
        ("address", "江苏省苏州市昆山市玉山镇1号", "江苏省苏州市昆山市*****"),
    ],
)
def test_masks_keep_the_agreed_characters_and_the_length(rule, value, masked):
    assert mask_value(rule, value) == masked
    assert len(mask_value(rule, value)) == len(value)


def test_a_reader_sees_sensitive_fields_masked_and_listed():
    standard = default_registry().get("natural_person")
    seen = project(standard, Caller("统计局", "reader", "k"), PERSON)
    assert seen.masked == ["citizen_id", "phone", "residence_address"]
    assert seen.data["citizen_id"] == "320***********123X"
    assert seen.data["household_address"] == PERSON["household_address"]
    assert seen.withheld == []


def test_an_admin_sees_everything():
    standard = default_registry().get("natural_person")
    assert project(standard, Caller("大数据局", "admin", "k"), PERSON).data == PERSON


def test_a_field_the_standard_does_not_know_is_withheld_not_silently_dropped():
    standard = default_registry().get("natural_person")
    seen = project(standard, Caller("x", "reader", "k"), {**PERSON, "secret": "1"})
    assert "secret" not in seen.data and seen.withheld == ["secret"]
