"""Strict decoding of department files (DESIGN §5): UTF-8 (with or without BOM), then GB18030, never lossy.

The detection decodes the whole file incrementally without keeping it, so memory stays constant; the chosen
encoding is recorded in the load report.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from mdm.errors import FileRejected, ProfileRejected

CANDIDATES = ("utf-8-sig", "gb18030")
_CHUNK = 1 << 20


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def has_bom(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(3) == codecs.BOM_UTF8


def detect_encoding(path: Path, declared: str = "auto") -> str:
    """The encoding to read ``path`` with: ``declared`` if not ``auto`` (checked), else the first candidate
    that decodes the whole file strictly. Returns ``utf-8-sig`` for UTF-8 (a BOM is stripped either way).

    Raises :class:`FileRejected` with ``file.encoding_unknown`` when nothing decodes it.
    """
    candidates = CANDIDATES if declared == "auto" else (declared,)
    for encoding in candidates:
        try:
            codecs.lookup(encoding)
        except LookupError as exc:
            raise ProfileRejected("load.profile_invalid", f"unknown encoding {encoding!r} in the profile") from exc
        if _decodes(path, "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding):
            return "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    tried = " or ".join(candidates)
    raise FileRejected("file.encoding_unknown", f"{path.name} does not decode as {tried}")


def report_name(encoding: str, path: Path) -> str:
    """The encoding as the load report names it: ``utf-8``, ``utf-8-bom`` or ``gb18030``."""
    if encoding == "utf-8-sig":
        return "utf-8-bom" if has_bom(path) else "utf-8"
    return encoding
