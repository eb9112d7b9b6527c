"""Request and response shapes of the sharing routes (departments, purposes, grants, sharing requests,
verification, audit): the public contract, mapped explicitly from ``mdm`` values."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field, field_validator

from mdm.db import storable


class _Text(BaseModel):
    @field_validator("*", mode="before")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(t, str) and not storable(t) for t in texts):
            raise ValueError("a value holds a NUL character or an unpaired surrogate")
        return value


class DepartmentIn(_Text):
    id: str = Field(description="A USCC (GB 32100; government bodies start with 11) or a short code.")
    name: str = Field(description="The department's name.")
    owns: list[str] = Field(default_factory=list, description="Repositories whose source this department owns.")


class OwnerIn(_Text):
    department: str | None = Field(
        max_length=200, description="The new owning department (id or name); null: no owner, stewards decide."
    )


class OwnerOut(BaseModel):
    repository: str
    owner: str | None = Field(description="The owning department's id, or null.")
    previous: list[str] = Field(description="The owning departments before the change (usually one or none).")


class PurposeIn(_Text):
    code: str = Field(description="Lower-case dotted words, at most 64 characters, e.g. tax.audit.")
    title: str
    legal_basis: str = Field(description="The rule that allows this use, as free text.")


class GrantIn(_Text):
    department: str = Field(description="Department id (or name).")
    repository: str
    fields: list[str] = Field(min_length=1, description="Field names, or * for every field its share class allows.")
    purposes: list[str] = Field(min_length=1)
    kind: str = Field("read", description="read, or verify (yes/no answers only)")
    unmasked: list[str] = Field(default_factory=list, description="Sensitive fields shown in clear (or *).")
    valid_from: dt.datetime | None = Field(None, description="Default: now. ISO 8601 with a time zone.")
    valid_until: dt.datetime | None = Field(None, description="Default: open-ended.")
    per_minute: int | None = Field(
        None,
        ge=1,
        le=100_000_000,
        description="Metered calls per UTC minute (verifications; keys looked up). Default: the service's.",
    )
    per_day: int | None = Field(
        None, ge=1, le=100_000_000, description="Metered calls per UTC day. Default: the service's."
    )


class SharingRequestIn(_Text):
    repository: str
    fields: list[str] = Field(min_length=1)
    purpose: str
    kind: str = "read"
    unmasked: list[str] = Field(default_factory=list)
    valid_from: dt.datetime | None = None
    valid_until: dt.datetime | None = None
    reason: str = Field(description="Why the department needs the fields (共享申请事由).")


class DecisionIn(_Text):
    reason: str | None = Field(None, description="Required to reject.")


class VerifyIn(_Text):
    key: str = Field(max_length=200, description="The business key.")
    claims: dict[str, Any] = Field(min_length=1, max_length=50, description="field → claimed value")

    @field_validator("claims")
    @classmethod
    def _claims_storable(cls, claims: dict[str, Any]) -> dict[str, Any]:
        if not all(storable(str(k)) and storable(str(v)) for k, v in claims.items()):
            raise ValueError("a claim holds a NUL character or an unpaired surrogate")
        return claims


class VerifyOut(BaseModel):
    results: dict[str, str] = Field(
        description="field → match or no_match: no_match whenever the claim cannot be confirmed (no such record, a "
        "retired one, a different or an empty value), so a missing key answers as a present one"
    )


class Items(BaseModel):
    items: list[dict[str, Any]]
