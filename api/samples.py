"""Synthetic sample records for the demo and the benchmarks, from a fixed seed (so reruns load nothing new).

Nothing here is a real person or company:

* persons carry the address code 990102 in their citizen ID numbers — 99 is not a province code in GB/T 2260,
  so no real county holds it and a sample number can never be a real person's; check characters are valid
  (GB 11643), so the numbers pass every format rule;
* phone numbers start with 100, which is no mobile prefix in China (those start with 13–19);
* companies get USCCs with valid GB 32100 / GB 11714 check characters, registered in Suzhou (320505), with
  made-up names; licence identifiers get the MOD 37,36 check character.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from stdnum.cn import ric, uscc

from standards import checkdigits

SYNTHETIC_ADDRESS_CODE = "990102"
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国晓岚志强文博雨萱子涵浩然思远欣怡梓轩"
WORDS = ["星河", "云帆", "汇智", "恒信", "锦程", "博远", "启明", "瑞丰", "新桥", "嘉禾", "拓维", "金鼎"]
TRADES = [
    ("科技", "I6510"),
    ("软件", "I6513"),
    ("建设工程", "E4710"),
    ("商贸", "F5199"),
    ("食品", "C1490"),
    ("物业管理", "K7020"),
    ("医疗器械", "C3581"),
    ("咨询", "L7243"),
]
DISTRICTS = [
    ("320505", "虎丘区"),
    ("320506", "吴中区"),
    ("320507", "相城区"),
    ("320508", "姑苏区"),
    ("320509", "吴江区"),
    ("320581", "常熟市"),
    ("320583", "昆山市"),
]
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
AUTHORITY_BODY = "11320500014251003"  # a made-up Suzhou government authority
AUTHORITY_USCC = AUTHORITY_BODY + uscc.calc_check_digit(AUTHORITY_BODY)
LICENCE_TYPES = [("001", "营业执照"), ("002", "食品经营许可证"), ("003", "建筑业企业资质证书")]


def _citizen_id(rng: random.Random, born: dt.date, sequence: int) -> str:
    body = f"{SYNTHETIC_ADDRESS_CODE}{born:%Y%m%d}{sequence:03d}"
    return body + ric.calc_check_digit(body + "0")


def persons(count: int, seed: int = 20231101) -> Iterator[dict[str, Any]]:
    """``count`` synthetic natural_person rows (CSV columns = standard field names)."""
    rng = random.Random(seed)
    used: set[str] = set()
    start = dt.date(1940, 1, 1).toordinal()
    span = dt.date(2005, 12, 31).toordinal() - start
    while len(used) < count:
        born = dt.date.fromordinal(start + rng.randrange(span))
        sequence = rng.randrange(1000)
        citizen_id = _citizen_id(rng, born, sequence)
        if citizen_id in used:
            continue
        used.add(citizen_id)
        _, district = rng.choice(DISTRICTS)
        yield {
            "citizen_id": citizen_id,
            "name": rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2)))),
            "gender_code": "1" if sequence % 2 else "2",
            "ethnicity_code": "01" if rng.random() < 0.9 else f"{rng.randrange(2, 57):02d}",
            "birth_date": born.isoformat(),
            "nationality_code": "CHN",
            "household_division_code": SYNTHETIC_ADDRESS_CODE,
            "household_address": f"示例省示例市{district}示例路{rng.randrange(1, 999)}号",
            "residence_address": f"江苏省苏州市{district}示例街{rng.randrange(1, 999)}号{rng.randrange(1, 30)}幢",
            "phone": f"100{rng.randrange(10**8):08d}",
            "record_status": "normal",
        }


def _uscc(rng: random.Random, division: str) -> tuple[str, str]:
    body = "".join(rng.choice(USCC_ALPHABET) for _ in range(8))
    org = body + checkdigits.org_code_check_character(body)
    if org[-1] not in USCC_ALPHABET:  # an org code ending in X is fine; other letters cannot occur
        return _uscc(rng, division)
    code = "91" + division + org
    return code + uscc.calc_check_digit(code), org


def entities(count: int, seed: int = 20231102) -> Iterator[dict[str, Any]]:
    """``count`` synthetic legal_entity rows."""
    rng = random.Random(seed)
    used: set[str] = set()
    while len(used) < count:
        district_code, district = rng.choice(DISTRICTS)
        code, org = _uscc(rng, district_code)
        if code in used:
            continue
        used.add(code)
        trade, industry = rng.choice(TRADES)
        word = rng.choice(WORDS) + rng.choice(WORDS)
        name = f"苏州{word}{trade}有限公司" if rng.random() < 0.8 else f"{word}{trade}（苏州）有限公司"
        established = dt.date.fromordinal(dt.date(1995, 1, 1).toordinal() + rng.randrange(10_000))
        yield {
            "uscc": code,
            "name": name,
            "org_code": org,
            "legal_rep_name": rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
            "registered_address": f"江苏省苏州市{district}示例大道{rng.randrange(1, 999)}号",
            "registered_division_code": district_code,
            "business_scope": f"{trade}相关业务；技术服务、技术开发",
            "registered_capital_wan": round(rng.choice((10, 50, 100, 500, 1000, 5000)) * rng.uniform(0.5, 2), 2),
            "currency_code": "CNY",
            "established_on": established.isoformat(),
            "industry_code": industry,
            "operating_status": "active" if rng.random() < 0.9 else rng.choice(("revoked", "cancelled")),
        }


# The demo's government bodies (机关法人): USCCs with registration-authority code 1 (机构编制) and kind 1 (机关),
# the address code 990000 that no real division holds, made-up organisation codes and a valid GB 32100 check
# character. The first four are the sharing departments of api/demo_sharing.py (the same ids and names); all of
# them declare the demo's projects. Industry codes after GB/T 4754-2017 section S, group 922 (政府机关).
GOVERNMENT_BODIES = [
    ("11990000MB0000010K", "苏州市公安局（示例）", "S9223"),
    ("11990000MB0000020L", "苏州市市场监督管理局（示例）", "S9226"),
    ("11990000MB0000030M", "苏州市民政局（示例）", "S9224"),
    ("11990000MB0000040N", "苏州市税务局（示例）", "S9225"),
    ("11990000MB0000050P", "苏州市政务服务管理办公室（示例）", "S9221"),
    ("11990000MB0000060Q", "苏州市水务局（示例）", "S9225"),
    ("11990000MB0000070R", "苏州市自然资源和规划局（示例）", "S9225"),
    ("11990000MB0000080T", "苏州市发展和改革委员会（示例）", "S9225"),
    ("11990000MB0000090U", "苏州市城市管理局（示例）", "S9224"),
    ("11990000MB00001008", "苏州市财政局（示例）", "S9225"),
]


def government_bodies() -> list[dict[str, Any]]:
    """The demo's government bodies as legal_entity rows (:data:`GOVERNMENT_BODIES`)."""
    return [
        {
            "uscc": code,
            "name": name,
            "registered_address": "江苏省苏州市姑苏区示例路 1 号",
            "registered_division_code": "320500",
            "industry_code": industry,
            "operating_status": "active",
        }
        for code, name, industry in GOVERNMENT_BODIES
    ]


def credit_records(
    count: int, companies: list[dict[str, Any]], people: list[dict[str, Any]], seed: int = 20231103
) -> Iterator[dict[str, Any]]:
    """``count`` synthetic credit_record rows about the given companies and people (JSON-ready dicts)."""
    rng = random.Random(seed)
    for number in range(1, count + 1):
        decided = dt.date(2022, 1, 1) + dt.timedelta(days=rng.randrange(900))
        if rng.random() < 0.8:
            company = rng.choice(companies)
            subject = {"subject_type": "legal_entity", "subject_uscc": company["uscc"], "subject_name": company["name"]}
        else:
            person = rng.choice(people)
            subject = {
                "subject_type": "natural_person",
                "subject_citizen_id": person["citizen_id"],
                "subject_name": person["name"],
            }
        kind = "administrative_penalty" if rng.random() < 0.8 else "red_list"
        record = {
            "record_id": f"SZ-CR-{decided:%Y}-{number:05d}",
            "record_type": kind,
            **subject,
            "decision_date": decided.isoformat(),
            "authority_name": "苏州市示例监督管理局",
            "authority_uscc": AUTHORITY_USCC,
            "status": "active",
        }
        if kind == "administrative_penalty":
            record.update(
                decision_doc_no=f"苏示罚〔{decided:%Y}〕{number}号",
                content="未按规定履行示例义务",
                penalty_category=rng.choice(("warning_criticism", "fine_confiscation")),
                publicity_until=(decided + dt.timedelta(days=365 * 3)).isoformat(),
            )
            if record["penalty_category"] == "fine_confiscation":
                record["fine_wan"] = round(rng.uniform(0.05, 20), 4)
        yield record


def licence_id(type_code: str, issuer: str, number: str, version: str = "001") -> str:
    """A licence identifier ``1.2.156.3005.2.<type>.<issuer>.<number>.<version>.<check>`` (MOD 37,36)."""
    body = f"1.2.156.3005.2.{type_code}.{issuer}.{number}.{version}"
    return f"{body}.{checkdigits.license_check_character(body.replace('.', ''))}"


def licences(
    count: int, companies: list[dict[str, Any]], people: list[dict[str, Any]], seed: int = 20231104
) -> Iterator[dict[str, Any]]:
    """``count`` synthetic e_license rows held by the given companies and people."""
    rng = random.Random(seed)
    for number in range(1, count + 1):
        suffix, type_name = rng.choice(LICENCE_TYPES) if rng.random() < 0.8 else ("004", "导游证")
        if suffix == "004":
            person = rng.choice(people)
            holder = {"holder_name": person["name"], "holder_id_type": "111", "holder_id": person["citizen_id"]}
        else:
            company = rng.choice(companies)
            holder = {"holder_name": company["name"], "holder_id_type": "001", "holder_id": company["uscc"]}
        issued = dt.date(2019, 1, 1) + dt.timedelta(days=rng.randrange(1500))
        licence_no = f"3205{number:08d}"
        record = {
            "license_id": licence_id(AUTHORITY_USCC + suffix, AUTHORITY_USCC, licence_no),
            "license_type_code": AUTHORITY_USCC + suffix,
            "license_type_name": type_name,
            "license_no": licence_no,
            **holder,
            "issuer_name": "苏州市示例审批局",
            "issuer_uscc": AUTHORITY_USCC,
            "issued_on": issued.isoformat(),
            "valid_from": issued.isoformat(),
            "jurisdiction_division_code": "320500",
            "status": "valid",
        }
        if suffix == "001":
            record["long_term"] = "true"
        else:
            record["valid_to"] = (issued + dt.timedelta(days=365 * 5)).isoformat()
        yield record


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Rows as a UTF-8 CSV with the union of their keys as the header."""
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def corrections(people: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A department's correction file: five rows the persons standard rejects — a wrong check character
    (``id.checksum``), an impossible birth date, an unknown gender code, a missing name, an ID number of the wrong
    length — and two it takes unchanged, so a load shows what rejects look like and changes nothing."""
    first, second, third, fourth, fifth, sixth, seventh = (dict(p) for p in people[:7])
    last = first["citizen_id"][-1]
    first["citizen_id"] = first["citizen_id"][:-1] + ("0" if last != "0" else "1")
    second["birth_date"] = "1990-02-30"
    third["gender_code"] = "7"
    fourth["name"] = ""
    fifth["citizen_id"] = fifth["citizen_id"][:-2]
    return [first, second, third, fourth, fifth, sixth, seventh]
