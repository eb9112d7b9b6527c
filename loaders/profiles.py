"""Source profiles: YAML files that describe one source system's file (DESIGN §5).

A profile names the repository, the source system and its priority, the file format and encoding, how columns
map to fields (with normalisers), null tokens, date formats, the CRS of coordinates, the mode (``snapshot``
retires what is absent from the feed, ``delta`` does not) and, optionally, the source's own timestamp column.
See ``docs/profiles.md`` for every key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from loaders.dates import DEFAULT_DATE_FORMATS, check_date_format
from mdm.access.departments import check_department_id
from mdm.errors import InvalidRequest, ProfileRejected

CHINA_EXTENT = (73.4, 3.8, 135.1, 53.6)
"""China's bounding box in degrees (min lon, min lat, max lon, max lat): Pamirs to the Heilong–Ussuri confluence,
Zengmu Ansha to Mohe, rounded outwards; the default extent of every profile."""

FORMATS = ("csv", "geojson", "topojson", "jsonl", "xlsx")


class FieldSpec(BaseModel):
    """How one field of the standard is filled: from a ``column`` (through ``normalise`` steps) or a ``value``."""

    model_config = ConfigDict(extra="forbid")

    column: str | None = None
    value: Any = None
    normalise: list[str] = Field(default_factory=list)
    null_tokens: list[str] | None = Field(
        None, description="Cells of this column that mean 'no value'; replaces the profile's list for the column."
    )
    pad: int | None = Field(
        None,
        ge=1,
        le=64,
        description="A fixed-width digit code: left-pad a shorter all-digit value with zeros to this width "
        "(warning code.zero_padded); a longer one is code.length.",
    )

    @model_validator(mode="after")
    def _one_source(self) -> FieldSpec:
        if (self.column is None) == (self.value is None):
            raise ValueError("a field needs exactly one of 'column' or 'value'")
        return self


class GeometrySpec(BaseModel):
    """Where a record's geometry comes from and how it is treated.

    ``source``: ``feature`` (the GeoJSON feature's geometry) or ``columns`` (a point from ``x``/``y`` columns).
    ``repair``: make invalid polygons valid (with a ``geo.repaired`` warning) instead of rejecting them.
    """

    model_config = ConfigDict(extra="forbid")

    field: str = "geometry"
    source: Literal["feature", "columns"] = "feature"
    x: str | None = None
    y: str | None = None
    repair: bool = False


class SourceSystemSpec(BaseModel):
    """The source system a profile's file comes from, and the registered department that owns it: only that
    department loads under it, or a steward on its behalf (:mod:`mdm.access.loading`). Without ``department``
    only stewards load it."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{1,63}$")
    name: str
    department: str | None = Field(None, description="Id of the department that owns the source system.")

    @field_validator("department")
    @classmethod
    def _department_id(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return check_department_id(value)
        except InvalidRequest as exc:
            raise ValueError(exc.detail) from None


class RowSource(SourceSystemSpec):
    """A source system a mixed-source file's rows may name, with what follows the row: its survivorship
    ``priority`` and whether it is the issuing ``authoritative`` authority of its identifiers."""

    priority: int = Field(50, ge=0, le=1000, description="Survivorship: the higher wins.")
    authoritative: bool = Field(False, description="The source is the issuing authority of its identifiers.")


class SourcesSpec(BaseModel):
    """A mixed-source file: ``column`` names each row's source system by one of the values declared in
    ``systems`` (value → source system). A row whose value is not declared (or is empty) is rejected
    ``row.source_undeclared``."""

    model_config = ConfigDict(extra="forbid")

    column: str
    systems: dict[str, RowSource] = Field(min_length=1)

    @model_validator(mode="after")
    def _distinct(self) -> SourcesSpec:
        ids = [spec.id for spec in self.systems.values()]
        if len(set(ids)) != len(ids):
            raise ValueError("each declared value names a source system of its own")
        return self


class Profile(BaseModel):
    """A parsed, checked source profile."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    repository: str
    source_system: SourceSystemSpec
    priority: int = Field(50, ge=0, le=1000, description="Survivorship: the higher wins.")
    format: Literal["csv", "geojson", "topojson", "jsonl", "xlsx"]
    encoding: str = "auto"
    delimiter: str = ","
    sheet: str | None = Field(None, description="XLSX: the sheet; TopoJSON: the object (default: the first).")
    header_row: int = Field(
        1, ge=1, le=1000, description="CSV and XLSX: the row (1-based) holding the header, below any title rows."
    )
    mode: Literal["snapshot", "delta"] = "delta"
    source_key: str | None = Field(None, description="Column holding the source's own key; default: business key.")
    timestamp: str | None = Field(None, description="Column holding the source's own change time.")
    timezone: str = "+08:00"
    null_tokens: list[str] = Field(
        default_factory=list, description="Cells that mean 'no value' besides the empty cell, for every column."
    )
    date_formats: list[str] = Field(default_factory=lambda: list(DEFAULT_DATE_FORMATS))
    date_serials: bool = Field(False, description="Text files: accept a bare Excel serial number in a date field.")
    authoritative: bool = Field(False, description="The source is the issuing authority of its identifiers.")
    crs: str | None = Field(None, pattern=r"^(EPSG:\d{4,6}|GCJ-02|BD-09)$")
    axis_order: Literal["lonlat", "latlon"] = "lonlat"
    extent: tuple[float, float, float, float] = Field(
        CHINA_EXTENT, description="min lon, min lat, max lon, max lat (CGCS2000 degrees) a geometry must lie in."
    )
    geometry: GeometrySpec | None = None
    sources: SourcesSpec | None = Field(
        None, description="A mixed-source file: the column naming each row's source system (docs/profiles.md)."
    )
    fields: dict[str, FieldSpec]

    @field_validator("date_formats")
    @classmethod
    def _explicit_formats(cls, formats: list[str]) -> list[str]:
        for fmt in formats:
            problem = check_date_format(fmt)
            if problem:
                raise ValueError(f"date format {fmt!r}: {problem}")
        return formats

    @model_validator(mode="after")
    def _header_row_tabular(self) -> Profile:
        if self.header_row != 1 and self.format not in ("csv", "xlsx"):
            raise ValueError("header_row applies to csv and xlsx files only")
        return self

    @model_validator(mode="after")
    def _mixed_sources(self) -> Profile:
        if self.sources is None:
            return self
        if self.mode != "delta":
            raise ValueError(
                "a mixed-source file (sources) is a delta: a snapshot cannot tell which system's absent "
                "records to retire"
            )
        if self.authoritative:
            raise ValueError("with sources, authority follows the row: set authoritative per declared system")
        if self.source_system.id in {spec.id for spec in self.sources.systems.values()}:
            raise ValueError("source_system (the system the file comes from) must not be one the rows name")
        return self

    def row_systems(self) -> list[RowSource]:
        """The source systems a mixed-source file's rows may name (none for an ordinary profile)."""
        return list(self.sources.systems.values()) if self.sources else []

    @field_validator("extent")
    @classmethod
    def _extent(cls, extent: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        min_lon, min_lat, max_lon, max_lat = extent
        if not (-180 <= min_lon < max_lon <= 180 and -90 <= min_lat < max_lat <= 90):
            raise ValueError("extent is [min lon, min lat, max lon, max lat] in degrees, each min below its max")
        return extent

    @property
    def columns(self) -> set[str]:
        """Every file column the profile reads."""
        used = {spec.column for spec in self.fields.values() if spec.column}
        for extra in (self.source_key, self.timestamp, self.sources.column if self.sources else None):
            if extra:
                used.add(extra)
        if self.geometry and self.geometry.source == "columns":
            used |= {c for c in (self.geometry.x, self.geometry.y) if c}
        return used


def parse_profile(document: dict[str, Any], *, default_name: str) -> Profile:
    """A :class:`Profile` from its YAML document. Raises :class:`ProfileRejected` (``load.profile_invalid``)."""
    if not isinstance(document, dict):
        raise ProfileRejected("load.profile_invalid", "a profile must be a YAML mapping")
    document = {"name": default_name, **document}
    try:
        return Profile.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ProfileRejected("load.profile_invalid", f"profile {default_name}: {problems}") from exc


def find_profile(name_or_path: str, search_dirs: list[Path], *, names_only: bool = False) -> Path:
    """The profile file for a path, or for a name looked up as ``<dir>/<name>.yaml`` in ``search_dirs``;
    ``names_only`` (the API) takes a name only, never a path (``x.yaml`` is then a name too, and not found).

    Raises :class:`ProfileRejected` (``load.profile_unknown``) naming the profiles there are (``profiles``) — their
    names only, never a directory of the server.
    """
    candidate = Path(name_or_path)
    if not names_only and (candidate.suffix in (".yaml", ".yml") or "/" in name_or_path):
        if candidate.is_file():
            return candidate
    elif names_only or "/" not in name_or_path:
        for directory in search_dirs:
            for suffix in (".yaml", ".yml"):
                path = directory / f"{name_or_path}{suffix}"
                if path.is_file():
                    return path
    known = available_profiles(search_dirs)[:100]
    raise ProfileRejected(
        "load.profile_unknown",
        f"no profile {name_or_path!r}; the profiles there are: {', '.join(known) or 'none'}",
        profiles=known,
    )


def load_profile(name_or_path: str, search_dirs: list[Path], *, names_only: bool = False) -> Profile:
    """Find, read and check a profile (see :func:`find_profile` and :func:`parse_profile`)."""
    path = find_profile(name_or_path, search_dirs, names_only=names_only)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else exc  # an OSError's text holds the server's path
        raise ProfileRejected("load.profile_invalid", f"cannot read profile {path.name}: {reason}") from exc
    return parse_profile(document, default_name=path.stem)


def available_profiles(search_dirs: list[Path]) -> list[str]:
    """Names of the profiles found in ``search_dirs`` (first one wins on a clash)."""
    names: list[str] = []
    for directory in search_dirs:
        if directory.is_dir():
            for path in sorted(directory.glob("*.y*ml")):
                if path.stem not in names:
                    names.append(path.stem)
    return names
