"""What a caller may see of a record: projection by share class and masking by sensitivity (DESIGN §6).

Until grants exist (the access issue), the rule is: ``admin`` sees every field; any other role sees every field
whose share class is not ``none``, with ``sensitive`` fields masked by their ``x-mask`` rule. Masked fields are
listed under ``masked``, left-out fields under ``withheld`` — never dropped without a sign.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mdm.keys import Caller
from standards import Standard

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
    ``address``: the part up to the county-level division (区/县/旗/县级市), the rest starred.
    """
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


@dataclass(frozen=True)
class Projection:
    """A record's data as a caller may see it; ``key`` is the business key as shown (masked when its field is)."""

    data: dict[str, Any]
    masked: list[str]
    withheld: list[str]
    key: str | None = None


def project(standard: Standard, caller: Caller, data: dict[str, Any]) -> Projection:
    """Project ``data`` for ``caller`` under ``standard`` (see the module text for the rule)."""
    if caller.role == "admin":
        return Projection(dict(data), [], [], standard.key_of(data))
    shown: dict[str, Any] = {}
    masked: list[str] = []
    withheld: list[str] = []
    for name, value in data.items():
        rule = standard.fields.get(name)
        if rule is None or rule.share == "none":
            withheld.append(name)
        elif rule.sensitivity == "sensitive" and rule.mask:
            shown[name] = mask_value(rule.mask, value)
            masked.append(name)
        else:
            shown[name] = value
    key = standard.key_of(data)
    if any(name in masked for name in standard.business_key):
        key = "|".join(str(shown.get(name, "")) for name in standard.business_key)
    return Projection(shown, sorted(masked), sorted(withheld), key)
