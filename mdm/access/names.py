"""Names people read and trust: department names and purpose titles (and a purpose's legal basis).

A name is shown in the console, in grants, in the audit and in a data subject's usage view, so what it displays
must be what it is. Three rules, in this order:

1. **Nothing invisible.** A character of Unicode category ``Cc`` (controls), ``Cf`` (format: the bidirectional
   overrides and isolates U+202A–U+202E, U+2066–U+2069, zero-width space, joiners, U+FEFF, soft hyphen …),
   ``Co`` (private use), ``Cs`` (surrogates), ``Cn`` (unassigned), ``Zl``/``Zp`` (line and paragraph separators),
   a variation selector, or a filler that renders as blank (U+115F, U+1160, U+3164, U+FFA0, U+2800) is refused:
   ``‮局务税市州苏`` (an RLO override) displays as 苏州市税务局 and is not it.
2. **NFKC.** The name is kept in Unicode NFKC (full-width letters, digits and brackets become their usual
   forms: ``（示例）`` → ``(示例)``), trimmed, with runs of spaces as one space.
3. **No look-alikes.** :func:`likeness` is what two names are compared by: NFKC, lower case, traditional
   characters as simplified (OpenCC ``t2s``, as search does: :func:`mdm.search.text.normalise`) and no spaces
   at all. Two departments (or two purposes) with the same likeness are refused, so ``苏州市 税务局`` and
   ``蘇州市稅務局`` cannot sit beside ``苏州市税务局``.

Also refused (rule 1, found by the hostile re-trial): combining marks (category ``M``: an accent stacked on a
Chinese character displays as nearly nothing), and a name mixing Latin letters with Cyrillic or Greek ones
(``ЅUZHOU`` with a Cyrillic Ѕ). The likeness folds a short table of Chinese look-alikes (巿 → 市, 兦 → 亡, …).

What this does not catch: other pairs of different Chinese characters of similar shape (``說务局`` for ``税务局``,
``示列`` for ``示例`` outside a bracket) — an edit-distance rule would refuse real neighbours such as 水务局 and
税务局 — and a name written wholly in another script; names are short and few, stewards register them, and they
see them listed.
"""

from __future__ import annotations

import re
import unicodedata

from mdm.errors import InvalidRequest
from mdm.search.text import normalise

_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})
BLANK_FILLERS = frozenset({0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800})  # render as blank
_SPACES = re.compile(r"\s+")
_BRACKETED = re.compile(r"[(\[{【〔〖「『][^)\]}】〕〗」』]*(?:[)\]}】〕〗」』]|$)")  # a note, closed or not


def _invisible(char: str) -> bool:
    point = ord(char)
    return (
        unicodedata.category(char) in _INVISIBLE_CATEGORIES
        or point in BLANK_FILLERS
        or 0xFE00 <= point <= 0xFE0F  # variation selectors
        or 0xE0100 <= point <= 0xE01EF  # variation selectors supplement
    )


# Chinese characters that display like a common one in a department's name (the likeness folds them)
_LOOKALIKES = str.maketrans(
    {"巿": "市", "兦": "亡", "冂": "门", "乆": "久", "厶": "么", "囗": "口", "丄": "上", "丅": "下"}
)


def _scripts(text: str) -> set[str]:
    """The alphabetic scripts of ``text`` among Latin, Cyrillic and Greek (by Unicode character name)."""
    found = set()
    for char in text:
        if char.isalpha() and ord(char) < 0x3000:
            name = unicodedata.name(char, "")
            for script in ("LATIN", "CYRILLIC", "GREEK"):
                if name.startswith(script):
                    found.add(script)
    return found


def invisible_characters(text: str) -> list[str]:
    """The invisible characters of ``text`` (rule 1) as ``U+XXXX`` strings, in order of first appearance."""
    seen: dict[str, None] = {}
    for char in text:
        if _invisible(char):
            seen.setdefault(f"U+{ord(char):04X}")
    return list(seen)


def clean_name(value: str, *, code: str, what: str, max_length: int = 200) -> str:
    """``value`` as a name by rules 1 and 2: NFKC, trimmed, single spaces, 1–``max_length`` characters.

    Raises :class:`InvalidRequest` with ``code`` (``department.invalid``, ``purpose.invalid``) naming the
    invisible characters found (``characters``: ``["U+202E"]``) or the length."""
    found = invisible_characters(value)
    if found:
        raise InvalidRequest(
            code,
            f"a {what} must not hold invisible, format or control characters: {', '.join(found)}",
            characters=found,
        )
    name = _SPACES.sub(" ", unicodedata.normalize("NFKC", value)).strip()
    found = invisible_characters(name)  # NFKC never makes one today; stay closed if a future table does
    if found:
        raise InvalidRequest(code, f"a {what} must not hold invisible characters: {', '.join(found)}", characters=found)
    if not name or len(name) > max_length:
        raise InvalidRequest(code, f"a {what} is 1–{max_length} characters")
    marks = sorted({f"U+{ord(c):04X}" for c in name if unicodedata.category(c).startswith("M")})
    if marks:
        raise InvalidRequest(code, f"a {what} must not hold combining marks: {', '.join(marks)}", characters=marks)
    scripts = _scripts(name)
    if "LATIN" in scripts and len(scripts) > 1:
        raise InvalidRequest(
            code, f"a {what} must not mix Latin letters with {' and '.join(sorted(scripts - {'LATIN'})).lower()} ones"
        )
    return name


def likeness(name: str, *, without_notes: bool = False) -> str:
    """What two names are compared by (rule 3): NFKC, lower case, simplified characters, no whitespace.

    ``without_notes`` (department names) also drops bracketed notes (closed or not) and punctuation:
    ``苏州市税务局(示列)``, ``苏州市税务局(示例`` and ``苏州市税务局⑴`` (NFKC ``(1)``) all read at a glance as
    ``苏州市税务局(示例)`` (the re-trial registered each beside it), so a department told apart from a registered
    one only by a bracketed note is refused. Purpose titles keep their notes (``社会救助(低保)`` and
    ``社会救助(特困)`` are two purposes)."""
    folded = _SPACES.sub("", normalise(name)).translate(_LOOKALIKES)
    if not without_notes:
        return folded
    core = "".join(c for c in _BRACKETED.sub("", folded) if not unicodedata.category(c).startswith("P"))
    return core or folded
