"""What the store knows about identifiers that the standards alone cannot tell: the legacy USCCs an issuing
authority holds.

Some unified social credit codes issued in pilot cities before GB 32100 was settled fail its check character
and are still legally valid. Their issuing authority loads them (``authoritative: true``, warning
``uscc.checksum_legacy``), which makes a ``legal_entity`` golden record keyed by such a code; from then on
every other source may reference that code (warning ``uscc.legacy_known``), while an unknown one stays
rejected (``uscc.checksum``). :class:`KnownLegacyCodes` answers which codes are held, set-based: one query
per call, so a load asks once per chunk of rows, never once per row.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select

from mdm.db import Database
from mdm.models import GoldenRecord  # not mdm.records: `mdm check` stays free of the standards registry
from standards import checkdigits

HOLDER = "legal_entity"  # the repository whose business key is the USCC


class KnownLegacyCodes:
    """The provider of held legacy USCCs for one load or one ``mdm check`` run; ``queries`` counts its
    lookups (one per call that has anything to ask)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.queries = 0

    def __call__(self, codes: Collection[str]) -> set[str]:
        """The codes among ``codes`` that fail only the GB 32100 check character and key a ``legal_entity``
        golden record (any status: a deregistered entity keeps its records). Others are never returned."""
        wanted = {c for c in codes if checkdigits.check_uscc(c) == "uscc.checksum"}
        if not wanted:
            return set()
        self.queries += 1
        ordered = sorted(wanted)  # at most one chunk of a load (MDM_CHUNK_ROWS values)
        with self.db.read() as session:
            return set(
                session.execute(
                    select(GoldenRecord.business_key).where(
                        GoldenRecord.repository == HOLDER, GoldenRecord.business_key.in_(ordered)
                    )
                ).scalars()
            )
