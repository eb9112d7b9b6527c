"""Masking (脱敏) by a field's ``x-mask`` rule: the rules every masked value in a response goes through."""

from __future__ import annotations

import re
from typing import Any

_COUNTY = re.compile(
    r"^(?:.{2,7}?(?:省|自治区)|北京市|天津市|上海市|重庆市)?"  # province level
    r"(?:.{1,9}?(?:市|自治州|地区|盟))?"  # prefecture level
    r".{1,9}?(?:区|县|市|旗)"  # county level
)


def _keep(value: str, head: int, tail: int) -> str:
    if len(value) <= head + tail:
        return value[:1] + "*" * (len(value) - 1) if value else value
    return value[:head] + "*" * (len(value) - head - tail) + (value[-tail:] if tail else "")


def mask_value(rule: str, value: Any) -> Any:
    """Mask one value by an ``x-mask`` rule; the masked string keeps the original length.

    ``id_number``: first 3 and last 4 characters kept; ``phone``: 3 + 4; ``name``: the first character;
    ``address``: the part up to the county-level division (区/县/旗/县级市), the rest starred. A list (former
    names) is masked item by item; any other non-string value becomes None.
    """
    if isinstance(value, list):
        return [mask_value(rule, item) for item in value]
    if not isinstance(value, str):
        return None
    if rule == "id_number":
        return _keep(value, 3, 4)
    if rule == "phone":
        return _keep(value, 3, 4)
    if rule == "name":
        return _keep(value, 1, 0)
    if rule == "address":
        match = _COUNTY.match(value)
        head = len(match.group(0)) if match and len(match.group(0)) < len(value) else len(value) // 3
        return _keep(value, head, 0)
    raise ValueError(f"unknown mask rule {rule!r}")
