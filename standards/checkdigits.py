"""Check-digit arithmetic for the national identifiers, in one place.

Each ``check_*`` function takes an already normalised string (NFKC, trimmed, uppercase: the loaders' job) and
returns ``None`` when it is well formed or the stable code of the first rule it breaks. Where python-stdnum has
the arithmetic we call its ``calc_check_digit``; its ``validate()`` is deliberately not used, because it rejects
codes that real government data contains (DESIGN §4).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING

from stdnum.cn import ric as _ric
from stdnum.cn import uscc as _uscc
from stdnum.iso7064 import mod_37_36

if TYPE_CHECKING:
    from standards.codelists import CodeListProvider

_RESIDENT_ID = re.compile(r"^\d{17}[\dX]$")
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100-2015 table: no I, O, Z, S, V
_USCC_FIRST = "123456789ANY"  # registration-authority codes in GB 32100-2015 §4.1
_ORG_CODE = re.compile(r"^[0-9A-Z]{8}[0-9X]$")
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714-1997 §5
_DIVISION = re.compile(r"^(\d{6}|\d{9}|\d{12})$")
# GB 32100-2015 Table 1 (登记管理部门代码和机构类别代码): each registration-authority code (position 1) and the
# organisation-type codes (position 2) it assigns.
ORGANISATION_TYPES = {
    "1": "1239",  # 机构编制: 机关, 事业单位, 中央编办直接管理机构编制的群众团体, 其他
    "2": "19",  # 外交: 外国常驻新闻机构, 其他
    "3": "123459",  # 司法行政: 律师执业机构, 公证处, 基层法律服务所, 司法鉴定机构, 仲裁委员会, 其他
    "4": "19",  # 文化: 外国在华文化中心, 其他
    "5": "1239",  # 民政: 社会团体, 民办非企业单位, 基金会, 其他
    "6": "129",  # 旅游: 外国旅游部门常驻代表机构, 港澳台地区旅游部门常驻内地（大陆）代表机构, 其他
    "7": "129",  # 宗教: 宗教活动场所, 宗教院校, 其他
    "8": "19",  # 工会: 基层工会, 其他
    "9": "123",  # 工商: 企业, 个体工商户, 农民专业合作社
    "A": "19",  # 中央军委改革和编制办公室: 军队事业单位, 其他
    "N": "1239",  # 农业: 组级, 村级, 乡镇级集体经济组织, 其他
    "Y": "1",  # 其他: not divided further, always 1
}
# The provincial-level codes of GB/T 2260 (the first two digits of every county code): a stable list of 34.
PROVINCES = frozenset(
    {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42"}
    | {"43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82"}
)
NATIONAL_DIVISION = "100000"  # positions 3–8 of a code registered at national level (GB 32100-2015)
_PERMIT_AREA = "83"  # residence permits of Taiwan residents carry 830000 as their address code (GB 11643 format)


def resident_id_birth_date(value: str) -> dt.date | None:
    """The date of birth inside an 18-character citizen ID number (GB 11643-1999 §5.2), or None if impossible."""
    try:
        return dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return None


def check_resident_id(value: str) -> str | None:
    """GB 11643-1999 citizen ID number: 17 digits + ISO 7064 MOD 11-2 check character, a real birth date.

    Codes: ``id.length``, ``id.charset``, ``id.birth_date``, ``id.checksum``. Whether the address code (the first
    six digits) is in force is not checked here: that is a code-list warning.
    """
    if len(value) != 18:
        return "id.length"
    if not _RESIDENT_ID.match(value):
        return "id.charset"
    born = resident_id_birth_date(value)
    if born is None or born.year < 1850 or born > dt.date.today():
        return "id.birth_date"
    if _ric.calc_check_digit(value) != value[-1]:
        return "id.checksum"
    return None


def upgrade_resident_id(value15: str) -> str:
    """A 15-digit legacy number (GB 11643-1989) as its 18-character form: century 19 and a computed check."""
    body = value15[:6] + "19" + value15[6:]
    return body + _ric.calc_check_digit(body + "0")


def check_uscc(value: str) -> str | None:
    """GB 32100-2015 unified social credit code: 18 characters, weighted MOD 31 check character.

    Codes: ``uscc.length``, ``uscc.is_citizen_id`` (a valid GB 11643 citizen ID number: MOD 11-2 check and a
    real birth date — refused in every USCC field, whatever its source, since about one in 31 of them also
    passes the MOD 31 check), ``uscc.charset`` (a character outside the alphabet, or a bad first character),
    ``uscc.checksum``.
    """
    if len(value) != 18:
        return "uscc.length"
    if check_resident_id(value) is None:
        return "uscc.is_citizen_id"
    if value[0] not in _USCC_FIRST or any(ch not in _USCC_ALPHABET for ch in value):
        return "uscc.charset"
    if not value[2:8].isdigit():
        return "uscc.charset"
    if _uscc.calc_check_digit(value[:17]) != value[17]:
        return "uscc.checksum"
    return None


def _division_exists(code: str, code_lists: CodeListProvider | None) -> bool:
    if code == NATIONAL_DIVISION:
        return True
    if code_lists is not None and code_lists.covers("divisions", code):
        return code_lists.contains("divisions", code)  # ever in the list: a code keeps its registration's division
    return code.isdigit() and code[:2] in PROVINCES  # no division list held: the shape of a GB/T 2260 code


def uscc_structure(value: str, code_lists: CodeListProvider | None = None) -> str | None:
    """The GB 32100-2015 structure of a USCC, its check character aside; None when it has it.

    It does not read as a citizen ID number with a wrong check character (:func:`plausible_resident_id`:
    address code, birth date): ``uscc.citizen_id_like`` — those digits still name a person.
    Position 1 is a registration-authority code (1–9, A, N, Y) and position 2 one of that authority's
    organisation-type codes (:data:`ORGANISATION_TYPES`, the standard's Table 1): ``uscc.organisation_type``.
    Positions 3–8 are a division code that exists: ``100000`` (national), or a code ever in the ``divisions``
    list of ``code_lists`` when that list holds 6-digit codes; without such a list only its shape is checked —
    6 digits whose first two are a GB/T 2260 province (:data:`PROVINCES`): ``uscc.division_unknown``.
    Positions 9–17 are a GB 11714 organisation-code body, 8 digits or capitals and a digit or X as its check
    character (its arithmetic is not checked: pilot-era codes are what this is for): ``uscc.organisation_code``.
    A value that breaks :func:`check_uscc` other than by its check character returns that code.
    """
    problem = check_uscc(value)
    if problem not in (None, "uscc.checksum"):
        return problem
    if plausible_resident_id(value):
        return "uscc.citizen_id_like"
    if value[1] not in ORGANISATION_TYPES.get(value[0], ""):
        return "uscc.organisation_type"
    if not _division_exists(value[2:8], code_lists):
        return "uscc.division_unknown"
    if not _ORG_CODE.match(value[8:17]):
        return "uscc.organisation_code"
    return None


def legacy_uscc(value: str, code_lists: CodeListProvider | None = None) -> str | None:
    """What a USCC that fails only its GB 32100 check character (``uscc.checksum``) becomes where legacy codes
    are tolerated: None if ``value`` is not such a code; else ``uscc.checksum_legacy`` (the warning) when it has
    a USCC's structure (:func:`uscc_structure`), or the structure code it breaks (an error).

    Some unified social credit codes issued in pilot cities before the standard was settled fail the check and
    are still legally valid, so their issuer may load them. Length, alphabet and a value that is a citizen ID
    number are never tolerated; nor is a string that merely has the alphabet, such as a citizen ID number with
    a wrong check character (``uscc.citizen_id_like``).
    """
    if check_uscc(value) != "uscc.checksum":
        return None
    return uscc_structure(value, code_lists) or "uscc.checksum_legacy"


def plausible_resident_id(value: str) -> bool:
    """True if ``value`` looks like a GB 11643 citizen ID number whatever its check character: 17 digits and a
    digit or X, an address code of a province's shape (or 83, Taiwan residents' permits) and a real birth date."""
    if len(value) != 18 or not _RESIDENT_ID.match(value):
        return False
    born = resident_id_birth_date(value)
    if born is None or born.year < 1850 or born > dt.date.today():
        return False
    return value[:2] in PROVINCES or value[:2] == _PERMIT_AREA


def hint(code: str, value: str) -> str | None:
    """A likely cause of error ``code`` for ``value``, for a person to act on, or None.

    - an 18-digit number ending in 000 that fails the GB 11643 check: Excel keeps 15 significant digits;
    - a citizen ID number (GB 11643) where a USCC belongs;
    - a USCC where a citizen ID number belongs: only for a value that passes the GB 32100 check *and* has a
      USCC's structure (:func:`uscc_structure`, without a division list), hence never for a plausible citizen
      ID number with a wrong check character (:func:`plausible_resident_id`) — one in 31 of those passes the
      MOD 31 check by chance.
    """
    if code == "id.checksum" and value.isdigit() and value.endswith("000"):
        return "possibly truncated by Excel; re-export the column as text"
    if code.startswith("uscc.") and len(value) == 18 and check_resident_id(value) is None:
        return "this is a citizen ID number (GB 11643), not a unified social credit code"
    if code.startswith("id.") and len(value) == 18 and check_uscc(value) is None and uscc_structure(value) is None:
        return "this is a unified social credit code (GB 32100), not a citizen ID number"
    return None


def org_code_check_character(body8: str) -> str:
    """The GB 11714-1997 check character for the 8-character body of an organisation code."""
    total = sum((int(ch) if ch.isdigit() else ord(ch) - 55) * w for ch, w in zip(body8, _ORG_WEIGHTS, strict=True))
    c9 = 11 - total % 11
    return "X" if c9 == 10 else "0" if c9 == 11 else str(c9)


def check_org_code(value: str) -> str | None:
    """GB 11714-1997 organisation code: 8 characters + check character (a hyphen before it is tolerated).

    Codes: ``org_code.format``, ``org_code.checksum``.
    """
    value = value.replace("-", "")
    if not _ORG_CODE.match(value):
        return "org_code.format"
    if org_code_check_character(value[:8]) != value[8]:
        return "org_code.checksum"
    return None


def check_division_code(value: str) -> str | None:
    """Structure of a division code: 6 digits (GB/T 2260) or 9 / 12 (statistical codes). Code ``division_code.format``.

    Whether the code is in the list in force is a separate, warning-level check against the code list.
    """
    return None if _DIVISION.match(value) else "division_code.format"


def license_check_character(body: str) -> str:
    """ISO 7064 MOD 37,36 check character over an e-licence identifier without dots (see the e_license standard)."""
    return mod_37_36.calc_check_digit(body)
