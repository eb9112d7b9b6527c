"""What search sees of a record, built from the standard's ``x-search`` and ``x-pinyin`` annotations.

Fields marked ``sensitive`` are left out: were they searchable in part, a caller shown ``100****7234`` could
find the hidden digits by trying prefixes. A sensitive business key (a citizen ID number) is found only when
the whole key is given, which discloses nothing a key lookup would not.

Text is NFKC-normalised, lower-cased and written in simplified characters (OpenCC's ``t2s`` conversion, from
the official ``opencc`` package) before indexing and before querying, so full-width and half-width brackets,
digits and letters meet (``（苏州）`` = ``(苏州)``), and so do traditional and simplified characters
(``華信雲數科技`` = ``华信云数科技``). Only the search keys change: records keep their values as supplied.
Names marked ``x-pinyin`` also get their full pinyin and pinyin initials (pypinyin's default reading; Chinese
characters only), so ``zhouxiaolan`` and ``zxl`` find 周晓岚. Shared by both search backends.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mdm import spatial

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry
from standards import Standard

_SPACE = re.compile(r"\s+")


@functools.lru_cache(maxsize=65_536)
def normalise(text: str) -> str:
    """Search form of a text: NFKC, lower case, whitespace runs as one space, trimmed, traditional characters
    as simplified ones (OpenCC ``t2s``: 華信雲數 → 华信云数; text in simplified characters is left as it is).
    Pure, so cached per distinct value (names and places repeat across a load's rows)."""
    folded = _SPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip().lower()
    return _simplified().convert(folded) if folded and not folded.isascii() else folded


@functools.cache
def _simplified() -> Any:
    """OpenCC's traditional-to-simplified converter (built once: it loads its dictionaries)."""
    import opencc

    return opencc.OpenCC("t2s.json")


@functools.lru_cache(maxsize=65_536)
def pinyin(text: str) -> tuple[str, str]:
    """(full pinyin, initials) of the Chinese characters of ``text``, e.g. 周晓岚 → ('zhouxiaolan', 'zxl').
    Pure, so cached per distinct value: pypinyin costs about 0.1 ms a name, and names repeat."""
    from pypinyin import lazy_pinyin  # here: its dictionaries take a quarter second to load, and most commands
    # that import this module (a department's name check) never ask for pinyin

    syllables = lazy_pinyin(text, errors="ignore")
    return "".join(syllables).lower(), "".join(s[0] for s in syllables if s).lower()


def _values(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value if v not in (None, "")]
    if value in (None, "") or isinstance(value, dict):
        return []
    return [str(value)]


@dataclass(frozen=True)
class SearchDocument:
    """A record as search needs it: per-field normalised texts and keywords, pinyin keys, point and envelope."""

    texts: dict[str, list[str]]
    keywords: dict[str, list[str]]
    pinyin: dict[str, list[str]]
    initials: dict[str, list[str]]
    point: tuple[float, float] | None
    envelope: tuple[float, float, float, float] | None

    def lines(self) -> list[str]:
        """Every searchable string, one per line: the SQL backend's ``search_text``."""
        out: list[str] = []
        for group in (self.texts, self.keywords, self.pinyin, self.initials):
            for values in group.values():
                out.extend(values)
        return out


def document(standard: Standard, data: dict[str, Any]) -> SearchDocument:
    """The search document of one record under ``standard``."""
    texts: dict[str, list[str]] = {}
    keywords: dict[str, list[str]] = {}
    full: dict[str, list[str]] = {}
    initials: dict[str, list[str]] = {}
    for rule in standard.fields.values():
        values = _values(data.get(rule.name))
        if not values or rule.search == "none" or rule.sensitivity == "sensitive":
            continue  # sensitive values are never matched in part: a reader could rebuild what masking hides
        if rule.search == "text":
            texts[rule.name] = [normalise(v) for v in values]
        else:
            keywords[rule.name] = [normalise(v) for v in values]
        if rule.pinyin:
            keys = [pinyin(v) for v in values]
            full[rule.name] = [k[0] for k in keys if k[0]]
            initials[rule.name] = [k[1] for k in keys if k[1]]
    point = envelope = None
    if standard.geometry_field and data.get(standard.geometry_field):
        import shapely
        from shapely.geometry import Point

        geometry: BaseGeometry = spatial.geometry_from_geojson(data[standard.geometry_field])
        representative = geometry if isinstance(geometry, Point) else geometry.point_on_surface()
        point = (representative.x, representative.y)
        envelope = tuple(shapely.bounds(geometry).tolist())
    return SearchDocument(texts, keywords, full, initials, point, envelope)


def search_text(standard: Standard, data: dict[str, Any]) -> str:
    """The SQL backend's search column: every searchable string, newline-separated."""
    return "\n".join(document(standard, data).lines())
