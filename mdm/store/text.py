"""The one rule for text the store can keep: no NUL (PostgreSQL refuses it in text and JSONB) and no unpaired
surrogate (not encodable as UTF-8, so neither database can store or compare it)."""

from __future__ import annotations

import re

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
NUL_MARK = "\u2400"  # ␀ SYMBOL FOR NULL: how a raw cell shows a NUL it could not keep


def storable(text: str) -> bool:
    """True if the store can keep and compare ``text`` as it is."""
    return _UNSTORABLE.search(text) is None


def make_storable(text: str, *, mark: str = "") -> str:
    """``text`` with every character the store cannot keep replaced by ``mark`` (removed by default; raw cells
    use :data:`NUL_MARK` so the report still shows where it was)."""
    return text if storable(text) else _UNSTORABLE.sub(mark, text)


def storable_cells(cells: dict[str, str | None]) -> dict[str, str | None]:
    """Raw cells as the store keeps them: unstorable characters shown as :data:`NUL_MARK`."""
    return {k: make_storable(v, mark=NUL_MARK) if v else v for k, v in cells.items()}
