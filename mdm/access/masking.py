"""Masking (脱敏) by a field's ``x-mask`` rule: the rules every masked value in a response goes through."""

from __future__ import annotations

import re
from typing import Any

# a province-level name at the very start: 2–5 characters that name no lower division, then 省 / 自治区 / 特别行政区
# (新疆维吾尔自治区 is the longest); or a municipality. "示例市虎丘区省级开发区" starts with no province.
_PROVINCE = re.compile(r"^(?:[^省市区县旗州盟镇乡街路号]{2,5}?(?:省|自治区|特别行政区)|北京市|天津市|上海市|重庆市)")


def _keep(value: str, head: int, tail: int) -> str:
    if len(value) <= head + tail:
        return value[:1] + "*" * (len(value) - 1) if value else value
    return value[:head] + "*" * (len(value) - head - tail) + (value[-tail:] if tail else "")


def mask_value(rule: str, value: Any) -> Any:
    """Mask one value by an ``x-mask`` rule; the masked string keeps the original length.

    ``id_number``: the first 2 characters kept (a citizen ID's province, a USCC's registration authority and
    organisation type) — no tail: the same number is masked in several repositories (a person's ID, a credit
    record's subject, a licence's holder, a legal representative), and any characters of it kept in every mask
    join a masked record to one whose name is shown in clear (the re-trial put names to masked credit
    subjects by the last 4 digits and the surname; issue 20); ``phone``: first 3 and last 4 (the national
    convention; a phone is held by one repository only); ``name``: the first character; ``address``: the
    province-level division only (省/自治区/直辖市), the rest starred — a prefecture or county would map onto
    digits 3–6 of a citizen ID number (its GB/T 2260 address code). An address that does not start with a
    province is starred whole. A list (former names) is masked item by item; any other non-string value
    becomes None.
    """
    if isinstance(value, list):
        return [mask_value(rule, item) for item in value]
    if not isinstance(value, str):
        return None
    if rule == "id_number":
        return _keep(value, 2, 0)
    if rule == "phone":
        return _keep(value, 3, 4)
    if rule == "name":
        return _keep(value, 1, 0)
    if rule == "address":
        match = _PROVINCE.match(value)
        head = len(match.group(0)) if match and len(match.group(0)) < len(value) else 0
        return "*" * len(value) if head == 0 else _keep(value, head, 0)
    raise ValueError(f"unknown mask rule {rule!r}")
