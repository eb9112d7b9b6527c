"""The software part of a control price, computed from a function-point count per GB/T 36964-2018 (软件开发成本
度量规范; NESMA estimated or indicative counting, ISO/IEC 24570) with every coefficient from a versioned cost
standard pack (``cost_standards/<version>.yaml``, each coefficient with its source).

Packs: the Suzhou pack ``suzhou-csbmk2025-v1`` is the default (CSBMK 2025 P50 productivity, 苏州 person-month
rate, 174 h a month); ``beijing-db11t1010-v1`` applies DB11/T 1010 (176 h a month, 北京 rate). A steward adds a
pack as a YAML file in ``cost_standards/``; :func:`check_cost_standards` (run by ``api.app.create_app`` at
start-up) checks every pack against ``cost_standard.schema.json`` (JSON Schema 2020-12) and refuses a pack that
misses a coefficient with ``project.cost_standard_invalid`` naming the pack and the coefficient.

:func:`software_cost` returns every step so an evaluator can check it by hand: the unadjusted count, the
scale-change factor, the adjusted size, the software and development factors, person-hours, person-months,
labour cost, direct non-labour cost and the total in 万元 (rounded half up, as reviewers re-check in Excel).
"""

from __future__ import annotations

import functools
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from mdm.errors import CostStandardInvalid, InvalidRequest
from mdm.projects.rules import bounded_count, round_wan, wan_to_fen

STANDARDS_DIR = Path(__file__).parent / "cost_standards"
SCHEMA_PATH = Path(__file__).parent / "cost_standard.schema.json"
DEFAULT_COST_STANDARD = "suzhou-csbmk2025-v1"


@functools.cache
def _validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def check_pack(document: Any, *, pack: str) -> dict[str, Any]:
    """``document`` if it is a valid pack named ``pack`` (its ``version`` is the file name). Raises
    :class:`CostStandardInvalid` for the first issue in path order, naming the coefficient
    (``person_month_rate_yuan``, ``scale_change_factor.values.late``, …)."""
    issues = sorted(_validator().iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path])
    if issues:
        first = issues[0]
        path = [str(p) for p in first.absolute_path]
        if first.validator == "required":
            missing = [name for name in first.validator_value if name not in first.instance]
            coefficient = ".".join([*path, missing[0]])
            raise CostStandardInvalid(pack, coefficient, "missing")
        raise CostStandardInvalid(pack, ".".join(path) or "(pack)", first.message)
    if document["version"] != pack:
        raise CostStandardInvalid(pack, "version", f"is {document['version']!r}, not the file name {pack!r}")
    return dict(document)


def load_packs(directory: Path = STANDARDS_DIR) -> dict[str, dict[str, Any]]:
    """Every pack of ``directory`` (``*.yaml``), checked: ``{version: pack}``. Raises
    :class:`CostStandardInvalid` for the first bad pack (file names in order)."""
    packs = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise CostStandardInvalid(path.stem, "(pack)", f"not YAML: {exc}") from exc
        packs[path.stem] = check_pack(document, pack=path.stem)
    return packs


@functools.cache
def _packs() -> dict[str, dict[str, Any]]:
    return load_packs(STANDARDS_DIR)


def check_cost_standards() -> list[str]:
    """The start-up check: every shipped or steward-added pack is valid and the default is among them. Returns
    the versions. Raises :class:`CostStandardInvalid` (``project.cost_standard_invalid``)."""
    packs = _packs()
    if DEFAULT_COST_STANDARD not in packs:
        raise CostStandardInvalid(DEFAULT_COST_STANDARD, "(pack)", "the default pack is missing")
    return sorted(packs)


def cost_standard_versions() -> list[str]:
    """The versions available (file names without ``.yaml``)."""
    return sorted(_packs())


def cost_standards() -> dict[str, Any]:
    """The packs in short: ``{"default", "packs": [{"version", "title", "region", "standard"}]}``."""
    return {
        "default": DEFAULT_COST_STANDARD,
        "packs": [
            {k: pack[k] for k in ("version", "title", "region", "standard")} for _, pack in sorted(_packs().items())
        ],
    }


def cost_standard(version: str = DEFAULT_COST_STANDARD) -> dict[str, Any]:
    """The cost standard ``version`` as a dict. Raises ``project.cost_standard_unknown`` (400)."""
    packs = _packs()
    if version not in packs:
        raise InvalidRequest(
            "project.cost_standard_unknown",
            f"no cost standard {version!r}; known: {', '.join(sorted(packs))}",
        )
    return packs[version]


def _pick(table: dict[str, Any], key: str, what: str) -> Decimal:
    values = table["values"]
    if not isinstance(key, str) or key not in values:
        raise InvalidRequest("project.invalid", f"{what} must be one of {', '.join(values)}, got {key!r}")
    return Decimal(str(values[key]["value"]))


def _count(value: Any, name: str) -> int:
    return bounded_count(value, field=f"the count of {name}")


def _mapping(value: Any, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidRequest("project.invalid", f"{name} must be an object")
    return value


COUNT_KEYS = (
    "method",
    "functions",
    "stage",
    "application_type",
    "quality",
    "language",
    "team",
    "direct_non_labour_wan",
)
"""The keys of a function-point count; any other is refused, never ignored (a misspelt ``methd`` would otherwise
fall back to the default and cost something else than was counted)."""
PREVIEW_KEYS = ("function_points", "cost_standard")
"""The keys of a ``POST /projects/software-cost`` body."""


def refuse_unknown(body: dict[str, Any], known: tuple[str, ...], *, where: str = "") -> None:
    """400 ``project.invalid`` naming in ``fields`` every key of ``body`` not in ``known`` (prefixed
    ``where.``): a body's unknown key is refused, never silently ignored."""
    unknown = sorted(str(k)[:64] for k in body if k not in known)
    if unknown:
        named = [f"{where}.{k}" if where else k for k in unknown]
        raise InvalidRequest(
            "project.invalid",
            f"unknown field(s) {', '.join(named)}; {where or 'the body'} takes {', '.join(known)}",
            fields=named,
        )


def preview(body: dict[str, Any]) -> dict[str, Any]:
    """``POST /projects/software-cost``: :func:`software_cost` of ``body["function_points"]`` under
    ``body["cost_standard"]`` (default :data:`DEFAULT_COST_STANDARD`); another key is ``project.invalid``."""
    refuse_unknown(body, PREVIEW_KEYS)
    return software_cost(body.get("function_points") or {}, version=body.get("cost_standard") or DEFAULT_COST_STANDARD)


def software_cost(count: dict[str, Any], *, version: str = DEFAULT_COST_STANDARD) -> dict[str, Any]:
    """The software development cost of a function-point count.

    ``count``: ``{"method": "estimated"|"indicative", "functions": {"ILF": n, "EIF": n, "EI": n, "EO": n,
    "EQ": n}`` (indicative: ILF and EIF only), ``"stage"`` (a scale-change key: early, middle, late, delivered),
    ``"application_type"``, ``"quality": {"distributed": -1|0|1, "performance", "reliability", "multi_site"}``,
    ``"language"``, ``"team"``, ``"direct_non_labour_wan"`` (万元, default 0)}``.
    Returns ``{"cost_standard", "steps": [{"step", "formula", "value"}], "amount_wan"}`` with Decimal values as
    strings. Raises ``project.invalid`` for an unknown key (named in ``fields``: ``function_points.methd``) or a
    bad count, ``project.cost_standard_unknown``.
    """
    count = _mapping(count, "function_points")
    refuse_unknown(count, COUNT_KEYS, where="function_points")
    if not isinstance(version, str):
        raise InvalidRequest("project.cost_standard_unknown", "cost_standard must be a version name")
    std = cost_standard(version)
    method = count.get("method", "estimated")
    if not isinstance(method, str) or method not in std["counting"]:
        raise InvalidRequest("project.invalid", f"method must be one of {', '.join(std['counting'])}")
    weights = std["counting"][method]["weights"]
    functions = _mapping(count.get("functions"), "functions")
    extra = sorted(str(k)[:64] for k in set(functions) - set(weights))
    if extra:
        raise InvalidRequest(
            "project.invalid",
            f"{method} counting has no {', '.join(extra)}",
            fields=[f"function_points.functions.{k}" for k in extra],
        )
    steps: list[dict[str, str]] = []

    def step(name: str, formula: str, value: Decimal) -> Decimal:
        steps.append({"step": name, "formula": formula, "value": str(value)})
        return value

    terms = [(f, _count(functions.get(f, 0), f), int(w)) for f, w in weights.items()]
    ufp = step(
        "unadjusted_function_points",
        " + ".join(f"{n}×{w} ({f})" for f, n, w in terms),
        Decimal(sum(n * w for _, n, w in terms)),
    )
    cf = _pick(std["scale_change_factor"], count.get("stage", "early"), "stage")
    size = step("adjusted_size", f"{ufp} × {cf} (CF)", ufp * cf)
    a = _pick(std["application_type"], count.get("application_type", "business"), "application_type")
    answers = _mapping(count.get("quality"), "quality")
    unknown = sorted(set(answers) - set(std["quality"]["characteristics"]))
    if unknown or any(v not in (-1, 0, 1) or isinstance(v, bool) for v in answers.values()):
        raise InvalidRequest("project.invalid", "quality answers are -1, 0 or 1 for distributed, performance, …")
    base, unit = Decimal(std["quality"]["base"]), Decimal(std["quality"]["step"])
    total_answers = sum(answers.values())
    q = step("quality_factor", f"{base} + {unit} × {total_answers}", base + unit * total_answers)
    swf = step("software_factor", f"{a} (A) × {q} (Q)", a * q)
    lang = _pick(std["language"], count.get("language", "java"), "language")
    team = _pick(std["team"], count.get("team", "related"), "team")
    rdf = step("development_factor", f"{lang} (L) × {team} (T)", lang * team)
    pdr = Decimal(str(std["productivity_hours_per_fp"]["value"]))
    hours = step("effort_person_hours", f"{size} × {pdr} (PDR) × {swf} × {rdf}", size * pdr * swf * rdf)
    hm = Decimal(str(std["hours_per_person_month"]["value"]))
    months = step("effort_person_months", f"{hours} / {hm} (HM)", hours / hm)
    rate = Decimal(str(std["person_month_rate_yuan"]["value"]))
    labour = step("labour_cost_yuan", f"{months} × {rate} (F)", months * rate)
    non_labour = count.get("direct_non_labour_wan", 0)
    wan_to_fen(non_labour, field="direct_non_labour_wan")  # bounded: an amount in 万元, two decimals
    dnc = Decimal(str(non_labour)) * 10_000
    total = step("total_yuan", f"{labour} + {dnc} (DNC)", labour + dnc)
    amount = step("amount_wan", f"round({total} / 10000, 2)", round_wan(total / 10_000))
    return {"cost_standard": std["version"], "steps": steps, "amount_wan": str(amount)}
