"""Cell text cleaned before any normaliser runs: control characters, invisible characters, odd spaces, names.

Applied to every cell of every format, so no field can be forgotten:

- control characters — every C0 control (U+0000–U+001F) but TAB and LF, and DEL (U+007F) — are removed
  (warning ``row.control_characters``); TAB and LF are kept for free text, and normalisers treat them as
  whitespace;
- zero-width characters (U+200B–U+200D, U+2060, U+FEFF) are removed, and odd spaces (every Unicode space
  separator but U+0020: no-break, ideographic U+3000, en/em and thin spaces, …) become U+0020, then the cell is
  trimmed of Unicode whitespace at its ends (warning ``row.invisible_characters``; a plain ASCII space trimmed
  at an end is ordinary and not reported).

:func:`name_spacing` is the rule for fields the standard marks as names (``x-pinyin``): spaces between two Chinese
characters are removed (张 三 → 张三), runs of spaces between Latin-script words collapse to one.
The raw cell is always kept as supplied; these rules only shape the normalised value.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")
_ZERO_WIDTH = re.compile("[\u200b-\u200d\u2060\ufeff]")
_ODD_SPACE = re.compile("[^\\S\t\n ]")  # whitespace but TAB, LF and U+0020: no-break, ideographic, …
_PLAIN_ENDS = " \t\n"
# Han ideographs (URO, extensions A–G, compatibility), CJK punctuation and full-width forms, middle dots.
_CJK = "\u2e80-\u2fdf\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\u00b7\u30fb"
_CJK_WIDE = "\U00020000-\U0003134f"
_SPACE_IN_CJK = re.compile(f"(?<=[{_CJK}{_CJK_WIDE}])\\s+(?=[{_CJK}{_CJK_WIDE}])")


def _points(chars: str) -> str:
    return ", ".join(sorted({f"U+{ord(c):04X}" for c in chars}))


@dataclass
class CleanCell:
    """A cleaned cell's ``text`` and the (code, message) notes of what was removed or changed."""

    text: str
    notes: list[tuple[str, str]] = field(default_factory=list)


def clean(text: str) -> CleanCell:
    """Remove control and zero-width characters, make odd spaces plain and trim the ends (see the module)."""
    result = CleanCell(text)
    controls = _CONTROL.findall(text)
    if controls:
        text = _CONTROL.sub("", text)
        result.notes.append(("row.control_characters", f"control character(s) {_points(''.join(controls))} removed"))
    invisible = _ZERO_WIDTH.findall(text) + _ODD_SPACE.findall(text)
    if invisible:
        text = _ODD_SPACE.sub(" ", _ZERO_WIDTH.sub("", text))
    stripped = text.strip()
    odd_ends = set(text) - set(stripped) - set(_PLAIN_ENDS) if stripped != text else set()
    if invisible or odd_ends:
        what = _points("".join(invisible) + "".join(odd_ends))
        message = f"invisible character(s) or odd space(s) {what} removed or made plain spaces"
        result.notes.append(("row.invisible_characters", message))
    result.text = stripped
    return result


def name_spacing(value: str) -> str:
    """A name as stored: whitespace between two Chinese characters removed, other whitespace runs made one space.

    ``'张 三'`` → ``'张三'``; ``'John   Smith'`` → ``'John Smith'``; ``'阿沛 · 阿旺晋美'`` → ``'阿沛·阿旺晋美'``.
    Unicode NFC first, so a decomposed accent in a Latin name compares equal to its composed form.
    """
    text = unicodedata.normalize("NFC", value)
    return re.sub(r"\s+", " ", _SPACE_IN_CJK.sub("", text)).strip()
