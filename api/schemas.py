"""Response shapes of the API: the public contract, mapped explicitly from ``mdm`` views (not ORM rows)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field, field_validator

from mdm.access import Projection
from mdm.db import storable
from mdm.records import RecordView


class ProvenanceEntry(BaseModel):
    source: str = Field(description="Source system that supplied the surviving value.")
    batch_id: str
    recorded_at: str = Field(description="The source's time for the value (ISO 8601).")


class Withheld(BaseModel):
    field: str
    reason: str = Field(
        description="access.share_none, access.no_grant, access.purpose_not_granted or access.grant_expired"
    )
    reveals: str | None = Field(None, description="The field this one would reveal (x-reveals), when that is why.")


class Record(BaseModel):
    repository: str
    key: str | None = Field(description="Business key as shown (masked when its field is; null when withheld).")
    version: int
    status: str = Field(description="active or retired")
    recorded_at: dt.datetime = Field(description="When this version was recorded (UTC).")
    data: dict[str, Any]
    provenance: dict[str, ProvenanceEntry]
    masked: list[str] = Field(description="Fields shown masked by their x-mask rule.")
    withheld: list[Withheld] = Field(description="Fields left out for this caller, each with the reason.")

    @classmethod
    def of(cls, view: RecordView, projection: Projection) -> Record:
        shown = set(projection.data)
        return cls(
            repository=view.repository,
            key=projection.key,
            version=view.version,
            status=view.status,
            recorded_at=view.recorded_at,
            data=projection.data,
            provenance={k: v for k, v in view.provenance.items() if k in shown},
            masked=projection.masked,
            withheld=[Withheld(**w) for w in projection.withheld],
        )


class RecordList(BaseModel):
    items: list[Record]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last.")


class History(BaseModel):
    items: list[Record]


class RepositoryInfo(BaseModel):
    id: str
    title: str
    standard_version: str
    count: int = Field(description="Active golden records.")


class RepositoryList(BaseModel):
    items: list[RepositoryInfo]


class Health(BaseModel):
    status: str
    database: dict[str, Any]
    search: dict[str, Any] | None = None


class LoadSummary(BaseModel):
    model_config = {"extra": "allow"}

    batch_id: str
    status: str
    profile: str
    repository: str
    file: str
    encoding: str | None
    read: int
    inserted: int
    updated: int
    unchanged: int
    retired: int
    rejected: int = Field(description="Rows rejected.")
    warnings: int
    rejects_path: str | None = None


class SearchHitOut(Record):
    score: float = Field(description="Relevance: higher is better (the scale depends on the backend).")
    distance_m: float | None = Field(None, description="Metres from the `near` point to the representative point.")


class SearchResults(BaseModel):
    items: list[SearchHitOut]
    next_cursor: str | None
    complete: bool = Field(
        True, description="False when only the first MDM_SEARCH_MAX_CANDIDATES matches were ranked (sql backend)."
    )


class LookupRequest(BaseModel):
    keys: list[str] = Field(min_length=1, max_length=1000, description="Business keys, at most 1,000.")

    @field_validator("keys")
    @classmethod
    def _storable(cls, keys: list[str]) -> list[str]:
        if not all(storable(key) for key in keys):
            raise ValueError("a key holds a NUL character or an unpaired surrogate")
        return keys


class LookupResult(BaseModel):
    items: list[Record]
    not_found: list[str]
