"""The load pipeline (DESIGN §5 "Load"): read → map → normalise → validate → report; the store's unit of work
(de-duplicate → store → golden records) is :func:`mdm.store.run_batch`.

One file is one batch and one transaction: the source records, golden records, versions, outbox rows and the
batch row commit together, or nothing does. A bad row never fails the batch; it becomes a reject with a stable
code. A file that cannot be read at all (``file.*``), a bad profile (``load.profile_*``) or a refusing snapshot
guard (``load.guard_refused``) fails the whole batch, which is still recorded, with its summary, for
``GET /loads/{batch_id}``.

Before anything is read or recorded, the load is authorised (:func:`mdm.access.loading.authorise_load`): the
acting department must own the profile's source system — and, for a mixed-source file, every source system its
rows may name — or be a steward loading on its behalf; a refused load
(``load.department_mismatch``, ``load.owner_conflict``) leaves no batch, no report and no record behind.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import unicodedata
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from loaders import cells
from loaders import geometry as geo
from loaders.encoding import report_name
from loaders.normalise import NORMALISERS, Context, NormaliseError, fixed_width, timestamp
from loaders.parallel import prepared_chunks
from loaders.profiles import Profile, RowSource
from loaders.readers import open_reader
from loaders.report import LoadReport
from loaders.rows import RAW_GEOMETRY, Reader, SourceRow
from loaders.summary import LoadOptions, LoadSummary
from mdm.access.loading import LoadAuthority, authorise_load
from mdm.batches import UNINDEXED, new_batch_id, record_failed_batch, store_summary
from mdm.codelists import DatabaseCodeLists
from mdm.db import Database
from mdm.errors import FileRejected, GuardRefused, MdmError, ProfileRejected, RepositoryUnknown
from mdm.identifiers import KnownLegacyCodes
from mdm.keys import Caller
from mdm.repositories import standard_for
from mdm.search import SearchBackend
from mdm.search.base import DrainResult
from mdm.store import BatchOutcome, Duplicate, Feed, Held, StagedRow, run_batch
from mdm.store.text import storable_cells
from standards import Standard, checkdigits, default_registry
from standards.codelists import CodeListProvider
from standards.codes import CODES
from standards.registry import Registry
from standards.validation import Issue, issue

__all__ = ["LoadOptions", "LoadSummary", "RowPreparer", "load_file"]

Progress = Callable[[int, int, int], None]  # rows read, bytes read, total bytes


def _tz(offset: str) -> dt.tzinfo:
    sign = -1 if offset.startswith("-") else 1
    hours, _, minutes = offset.lstrip("+-").partition(":")
    return dt.timezone(sign * dt.timedelta(hours=int(hours), minutes=int(minutes or 0)))


def _plain(value: Any) -> Any:
    """Decimals as JSON numbers the store can write (exact integers stay integers)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


@dataclass
class Checked:
    """A row normalised and validated, not yet staged: what :meth:`RowPreparer._staged` needs, and the USCC
    problems (``uscc.checksum`` with a legacy code's structure) waiting for the chunk's legacy lookup."""

    row: SourceRow
    ctx: Context
    data: dict[str, Any]
    errors: list[Issue]
    warnings: list[Issue]
    validated: bool = False
    legacy: list[tuple[Issue, Any]] = field(default_factory=list)  # (problem, raw value)
    source_system_id: str | None = None  # a mixed-source file's row: the source system it names


class RowPreparer:
    """Turns one :class:`SourceRow` into a :class:`StagedRow`, or into errors and warnings."""

    def __init__(
        self,
        profile: Profile,
        standard: Standard,
        reader: Reader,
        code_lists: CodeListProvider | None = None,
        known_legacy: Callable[[Collection[str]], set[str]] | None = None,
    ) -> None:
        self.profile = profile
        self.standard = standard
        self.code_lists = code_lists
        self.known_legacy = known_legacy  # the store's held legacy USCCs (mdm.identifiers.KnownLegacyCodes)
        self.null_tokens = set(profile.null_tokens)
        self._field_tokens = {
            name: set(spec.null_tokens) for name, spec in profile.fields.items() if spec.null_tokens is not None
        }
        self.names = {name for name, rule in standard.fields.items() if rule.pinyin}  # x-pinyin: a name
        self.serial_epoch = reader.serial_epoch
        self.timezone = _tz(profile.timezone)
        rfc7946 = profile.format in ("geojson", "topojson")  # lon/lat WGS 84 unless declared
        self.crs = reader.crs or profile.crs or ("EPSG:4326" if rfc7946 else None)
        self._field_columns = {name: spec.column for name, spec in profile.fields.items() if spec.column}
        self._widths = widths(profile, standard)
        self._systems = profile.sources.systems if profile.sources else {}

    def row_source(self, row: SourceRow) -> tuple[RowSource | None, str]:
        """A mixed-source file's row: the source system its ``sources.column`` names (None when the value is not
        declared or the cell is empty) and the value as read (NFKC, trimmed)."""
        assert self.profile.sources is not None
        cell = cells.clean(row.cells.get(self.profile.sources.column) or "").text
        value = unicodedata.normalize("NFKC", cell).strip()
        return self._systems.get(value), value

    def held(self, row: SourceRow, source_key: str) -> Held | None:
        """What a rejected row holds: its source key, under its own source system in a mixed-source file (None
        when the row names no declared system: it belongs to none)."""
        if self.profile.sources is None:
            return Held(source_key)
        system, _ = self.row_source(row)
        return Held(source_key, system.id) if system else None

    def context(self) -> Context:
        """A fresh normalisation context of the profile (date formats, time zone, workbook epoch)."""
        return Context(
            date_formats=self.profile.date_formats,
            timezone=self.timezone,
            serial_epoch=self.serial_epoch,
            date_serials=self.profile.date_serials,
        )

    def _cell(
        self, row: SourceRow, column: str, field: str, warnings: list[Issue], blanked: dict[str, str] | None = None
    ) -> str | None:
        """The cell cleaned (:func:`loaders.cells.clean`, with its warnings), or None for an empty cell or a
        null token of the column (warning ``row.null_token`` naming it; ``blanked`` records it by field)."""
        raw = row.cells.get(column)
        if raw is None:
            return None
        cleaned = cells.clean(raw)
        warnings.extend(issue(code, field, f"{message} in column {column}", raw) for code, message in cleaned.notes)
        if not cleaned.text:
            return None
        if cleaned.text in self._field_tokens.get(field, self.null_tokens):
            message = f"{cleaned.text!r} in column {column} read as no value (a null token of the profile)"
            warnings.append(issue("row.null_token", field, message, raw))
            if blanked is not None:
                blanked[field] = cleaned.text
            return None
        return cleaned.text

    def source_key(self, row: SourceRow, data: dict[str, Any]) -> str | None:
        """The row's source key: the profile's ``source_key`` column (NFKC, whitespace removed), else the
        business key (for a rejected row, its key cells normalised, or as supplied where the normaliser refuses
        them); None when neither can be told (a reject that then protects nothing)."""
        if self.profile.source_key:
            cell = cells.clean(row.cells.get(self.profile.source_key) or "").text
            return "".join(unicodedata.normalize("NFKC", cell).split()) or None
        if self.standard.key_of(data) is not None:
            return self.standard.key_of(data)
        parts: dict[str, Any] = {}
        ctx = self.context()
        for name in self.standard.business_key:
            spec = self.profile.fields.get(name)
            value: Any = spec.value if spec and spec.value is not None else None
            if spec and spec.column:
                value = cells.clean(row.cells.get(spec.column) or "").text or None
                try:
                    for step in spec.normalise if value else ():
                        value = NORMALISERS[step](value, ctx)
                except NormaliseError:  # a key the normaliser refuses (id.lossy_numeric): named as supplied
                    value = "".join(unicodedata.normalize("NFKC", str(value)).split()) or None
            parts[name] = value
        return self.standard.key_of(parts)

    def prepare(self, row: SourceRow) -> tuple[StagedRow | None, list[Issue], list[Issue]]:
        """The staged row (None if rejected), its errors and its warnings."""
        return self.prepare_chunk([row])[0]

    def prepare_chunk(self, rows: list[SourceRow]) -> list[tuple[StagedRow | None, list[Issue], list[Issue]]]:
        """:meth:`prepare` for each of ``rows``, in order, asking the store once for the chunk whether the
        issuing authority holds the USCCs that fail only their check character (``uscc.legacy_known``)."""
        return self.settle([self.check(row) for row in rows])

    def settle(self, checked: list[Checked]) -> list[tuple[StagedRow | None, list[Issue], list[Issue]]]:
        """Finish a chunk of :meth:`check` results in this process: one lookup of the held legacy USCCs the chunk
        needs (the store), then each row staged or rejected."""
        wanted = {str(problem.value) for c in checked for problem, _ in c.legacy}
        held = self.known_legacy(wanted) if wanted and self.known_legacy is not None else set()
        return [self._staged(c, held) for c in checked]

    def restore(
        self,
        row: SourceRow,
        data: dict[str, Any],
        errors: list[Issue],
        warnings: list[Issue],
        validated: bool,
        legacy: list[tuple[Issue, Any]],
        source_system_id: str | None,
    ) -> Checked:
        """A :meth:`check` result a worker process sent back without its row and context (:mod:`loaders.parallel`)."""
        return Checked(row, self.context(), data, errors, warnings, validated, legacy, source_system_id)

    def check(self, row: SourceRow) -> Checked:
        """Normalise and validate one row; a USCC failing only its check character waits in ``legacy``."""
        errors = [issue(code, column, message) for code, column, message in row.problems]
        warnings: list[Issue] = []
        authoritative: bool = self.profile.authoritative
        source_system_id: str | None = None
        if self.profile.sources is not None:  # a mixed-source file: the row's system, its authority
            system, named = self.row_source(row)
            where = self.profile.sources.column
            if system is None:
                declared = ", ".join(sorted(self._systems))
                message = f"{named!r} in column {where} names no source system the profile declares ({declared})"
                errors.append(issue("row.source_undeclared", where, message, row.cells.get(where)))
            else:
                authoritative, source_system_id = system.authoritative, system.id
        ctx = self.context()
        data: dict[str, Any] = {}
        blanked: dict[str, str] = {}  # field → the null token that blanked it
        for name, spec in self.profile.fields.items():
            if spec.column is None:  # a constant (a profile field has exactly one of column and value)
                data[name] = spec.value
                continue
            cell_column = spec.column
            value: Any = self._cell(row, cell_column, name, warnings, blanked)
            if value is None:
                continue
            before = len(ctx.warnings)
            ctx.numeric = cell_column in row.numeric
            ctx.exact = cell_column in row.exact
            try:
                for step in spec.normalise:
                    value = NORMALISERS[step](value, ctx)
                if name in self._widths and isinstance(value, str):
                    width, declared = self._widths[name]
                    value = fixed_width(value, ctx, width=width, pad=spec.pad is not None, declared=declared)
            except NormaliseError as exc:
                errors.append(issue(exc.code, name, str(exc), row.cells.get(cell_column)))
                continue
            raw = row.cells.get(cell_column)
            warnings.extend(issue(code, name, message, raw) for code, message in ctx.warnings[before:])
            if name in self.names and isinstance(value, str) and cells.name_spacing(value) != value:
                value = cells.name_spacing(value)
                message = f"spaces in the name in column {cell_column} removed or collapsed"
                warnings.append(issue("row.invisible_characters", name, message, row.cells.get(cell_column)))
            data[name] = _plain(value)
        self._geometry(row, data, errors, warnings)
        checked = Checked(row, ctx, data, errors, warnings, source_system_id=source_system_id)
        if errors:
            return checked
        checked.validated = True
        for problem in self.standard.validate(data):
            column = self._field_columns.get(problem.field.split(".")[0])
            raw = row.cells.get(column) if column else problem.value
            legacy = None
            if problem.code == "uscc.checksum" and isinstance(problem.value, str):
                legacy = checkdigits.legacy_uscc(problem.value, self.code_lists)
            if legacy and authoritative and problem.field in self.standard.business_key:
                if legacy == "uscc.checksum_legacy":
                    message = f"{problem.message}: loaded as a legacy code, this source being its issuing authority"
                    warnings.append(issue(legacy, problem.field, message, raw))
                else:
                    message = f"{problem.message}, and it is no legacy code either: {CODES[legacy].meaning}"
                    errors.append(issue(legacy, problem.field, message, raw))
            elif legacy == "uscc.checksum_legacy":
                checked.legacy.append((problem, raw))  # only a code its issuer holds can save it
            elif problem.code == "schema.required" and problem.field in blanked:
                token = blanked[problem.field]
                message = f"{problem.message}; its cell held {token!r}, a null token of the profile"
                errors.append(Issue(problem.code, problem.field, message, token))
            else:
                errors.append(Issue(problem.code, problem.field, problem.message, raw))
        return checked

    def _staged(self, checked: Checked, held: set[str]) -> tuple[StagedRow | None, list[Issue], list[Issue]]:
        """Settle the row's waiting legacy codes against ``held``, then stage it (or reject it)."""
        row, ctx, data, errors, warnings = checked.row, checked.ctx, checked.data, checked.errors, checked.warnings
        for problem, raw in checked.legacy:
            if problem.value in held:
                message = f"{problem.message}: accepted, its issuing authority holds it as a legacy code"
                warnings.append(issue("uscc.legacy_known", problem.field, message, raw))
            else:
                errors.append(Issue(problem.code, problem.field, problem.message, raw))
        if not checked.validated:  # refused before validation (a normaliser, the geometry)
            return None, errors, warnings
        key = self.standard.key_of(data)
        if key is None and not any(e.code == "schema.required" for e in errors):
            errors.append(issue("row.key_missing", ",".join(self.standard.business_key), "no business key"))
        if errors or key is None:  # no key is always an error above
            return None, errors, warnings
        warnings.extend(self.standard.warnings(data, code_lists=self.code_lists))
        source_key = self.source_key(row, data)
        if source_key is None:
            # only a blank cell in the profile's source_key column gets here (with a business key, the key
            # stands in): that row is rejected, the rest of the file loads
            column = self.profile.source_key or ""
            return None, [issue("row.source_key_missing", column, f"the source key column {column} is blank")], warnings
        source_time = None
        if self.profile.timestamp:
            cell = self._cell(row, self.profile.timestamp, "timestamp", warnings)
            if cell:
                ctx.numeric = self.profile.timestamp in row.numeric
                try:
                    source_time = timestamp(cell, ctx)
                except NormaliseError as exc:
                    warnings.append(issue(exc.code, "timestamp", f"{exc}; the batch time is used", cell))
        staged = StagedRow(
            row_no=row.row_no,
            source_key=source_key,
            business_key=key,
            raw=storable_cells(row.cells),
            data=data,
            source_time=source_time,
            source_system_id=checked.source_system_id,
        )
        return staged, [], warnings

    def _geometry(self, row: SourceRow, data: dict[str, Any], errors: list[Issue], warnings: list[Issue]) -> None:
        spec = self.profile.geometry
        if spec is None:
            return
        if spec.source == "feature":
            value = row.geometry
        else:
            x = self._cell(row, spec.x or "", spec.field, warnings) or ""
            y = self._cell(row, spec.y or "", spec.field, warnings) or ""
            if not x and not y:
                return
            try:
                value = {"type": "Point", "coordinates": [float(x), float(y)]}
            except ValueError:
                errors.append(issue("geo.bad_coordinates", spec.field, f"coordinates {x!r}, {y!r}", f"{x},{y}"))
                return
        if value is None:
            return
        try:
            prepared = geo.prepare(
                value,
                crs=self.crs,
                latlon=self.profile.axis_order == "latlon",
                repair=spec.repair,
                extent=self.profile.extent,
            )
        except geo.GeometryProblem as exc:
            errors.append(issue(exc.code, spec.field, str(exc)))
            return
        data[spec.field] = prepared.geojson
        if prepared.converted_from:
            if spec.source == "feature":  # the raw cells do not hold it: keep the geometry as supplied
                row.cells[RAW_GEOMETRY] = json.dumps(value, ensure_ascii=False)
            message = f"coordinates converted from {prepared.converted_from} to CGCS2000 (EPSG:4490)"
            warnings.append(issue("geo.crs_converted", spec.field, message))
        if prepared.axes_swapped:
            message = "latitude came first (axis_order: latlon): axes swapped to longitude, latitude"
            point = value.get("coordinates") if value.get("type") == "Point" else None  # a polygon is too long
            warnings.append(issue("geo.axes_swapped", spec.field, message, point))
        if prepared.repaired_reason:
            label = data.get("name") or self.standard.key_of(data) or f"row {row.row_no}"
            warnings.append(
                issue("geo.repaired", spec.field, f"repaired invalid geometry of {label}: {prepared.repaired_reason}")
            )


def widths(profile: Profile, standard: Standard) -> dict[str, tuple[int, str]]:
    """Fixed-width digit fields: field → (width, where it is declared): the profile's ``pad``, else the
    standard's ``x-width`` (or a pattern of exactly N digits)."""
    found: dict[str, tuple[int, str]] = {}
    for name, spec in profile.fields.items():
        rule = standard.fields.get(name)
        if spec.pad is not None:
            found[name] = (spec.pad, f"the width the profile pads {name} to")
        elif rule is not None and rule.width is not None:
            found[name] = (rule.width, f"the width the standard declares for {name}")
    return found


def _standard_for(profile: Profile, registry: Registry) -> Standard:
    try:
        standard = standard_for(registry, profile.repository)
    except RepositoryUnknown as exc:
        raise ProfileRejected("load.profile_invalid", f"profile {profile.name}: {exc.detail}") from None
    unknown = sorted(set(profile.fields) - set(standard.fields))
    if unknown:
        raise ProfileRejected(
            "load.profile_invalid", f"profile {profile.name} maps unknown field(s) {', '.join(unknown)}"
        )
    for name, spec in profile.fields.items():
        for step in spec.normalise:
            if step not in NORMALISERS:
                raise ProfileRejected("load.profile_invalid", f"profile {profile.name}: unknown normaliser {step!r}")
        width = standard.fields[name].width
        if spec.pad is not None and width is not None and spec.pad != width:
            raise ProfileRejected(
                "load.profile_invalid",
                f"profile {profile.name}: {name} pads to {spec.pad} digits where the standard declares {width}",
            )
    return standard


class _ReportListener:
    """Findings the store makes about rows (duplicates, unknown references), written to the load report."""

    def __init__(self, report: LoadReport) -> None:
        self.report = report

    def duplicate(self, duplicate: Duplicate, issues: list[Issue]) -> None:
        row = duplicate.row
        self.report.reject(row.row_no, issues, source_key=row.source_key, raw=row.raw)

    def warn(self, row_no: int, issues: list[Issue], *, source_key: str | None) -> None:
        self.report.warn(row_no, issues, source_key=source_key)


def _rows(
    reader: Reader,
    preparer: RowPreparer,
    report: LoadReport,
    summary: LoadSummary,
    progress: Progress | None,
    every: int,
    workers: int = 1,
) -> Iterator[StagedRow | Held]:
    """Read, prepare and report each row, ``every`` rows at a time (one legacy-code lookup per chunk; prepared by
    ``workers`` processes, :mod:`loaders.parallel`); yield what the store needs: staged rows and held source
    keys."""
    for chunk, results in prepared_chunks(preparer, _chunks(reader, summary, every), workers=workers):
        yield from _prepared(chunk, results, preparer, report)
        if progress:
            progress(summary.read, reader.position, reader.size)
    if progress:
        progress(summary.read, reader.size, reader.size)


def _chunks(reader: Reader, summary: LoadSummary, every: int) -> Iterator[list[SourceRow]]:
    chunk: list[SourceRow] = []
    for row in reader.rows():
        summary.read += 1
        chunk.append(row)
        if len(chunk) >= every:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _prepared(
    chunk: list[SourceRow], results: list[Any], preparer: RowPreparer, report: LoadReport
) -> Iterator[StagedRow | Held]:
    for row, (staged, errors, warnings) in zip(chunk, results, strict=True):
        # a rejected row's warnings and its reject name the same source key (best effort: as supplied)
        source_key = staged.source_key if staged else preparer.source_key(row, {})
        report.warn(row.row_no, warnings, source_key=source_key)
        if staged is None:
            report.reject(row.row_no, errors, source_key=source_key, raw=row.cells)
            held = preparer.held(row, source_key) if source_key else None
            if held:
                yield held
        else:
            yield staged


def load_file(
    db: Database,
    profile: Profile,
    path: Path,
    *,
    options: LoadOptions,
    registry: Registry | None = None,
    progress: Progress | None = None,
    file_name: str | None = None,
    search: SearchBackend | None = None,
    actor: Caller | None = None,
) -> LoadSummary:
    """Load one file as one batch and return its :class:`LoadSummary` (also written to
    ``<report_root>/<batch_id>/summary.json``; :meth:`LoadSummary.as_dict` is the published shape).

    The summary holds ``batch_id, status, read, inserted, updated, unchanged, retired, rejected`` (rows),
    ``warnings``, counts by code, ``golden`` (created/changed/retired/versions), ``encoding``, ``rejects_path``.
    With an index-backed ``search`` backend (Elasticsearch), the batch's changes are indexed before this
    returns, with the outcome under ``index``.

    ``actor`` is the key that loads (None: the local operator, a steward — ``mdm load``, ``mdm demo``); the batch
    records the department it loads for and ``actor``'s department (:class:`mdm.access.loading.LoadAuthority`).
    Raises 403 ``load.department_mismatch`` or 409 ``load.owner_conflict`` (stewards) before anything
    is stored, :class:`FileRejected` or :class:`GuardRefused` (the summary, as a dict, is in
    ``exc.extra["summary"]``).
    """
    registry = registry or default_registry()
    with db.read() as session:
        authority = authorise_load(
            session,
            source_system_id=profile.source_system.id,
            declared=profile.source_system.department,
            actor=actor,
        )
        # a mixed-source file: the actor must be allowed every source system its rows may name, before anything
        # is read — the whole file is refused, never the rows of one system (see docs/profiles.md)
        row_feeds = {
            system.id: Feed(
                source_system_id=system.id,
                source_system_name=system.name,
                department_id=authorise_load(
                    session, source_system_id=system.id, declared=system.department, actor=actor
                ).department,
                feed=profile.name,
                priority=system.priority,
            )
            for system in profile.row_systems()
        }
    batch_id = new_batch_id()
    started = dt.datetime.now(dt.UTC)
    clock = time.monotonic()
    report = LoadReport(options.report_root / batch_id)
    summary = LoadSummary(
        batch_id=batch_id,
        profile=profile.name,
        repository=profile.repository,
        source_system=profile.source_system.id,
        mode=profile.mode,
        file=file_name or path.name,
        started_at=started.isoformat(),
        rejects_path=str(report.rejects_path),
        warnings_path=str(report.warnings_path),
    )
    try:
        standard = _standard_for(profile, registry)
        reader = open_reader(
            path,
            format=profile.format,
            encoding=profile.encoding,
            delimiter=profile.delimiter,
            sheet=profile.sheet,
            header_row=profile.header_row,
        )
        summary.encoding = report_name(reader.encoding, path)
        reader.check_columns(profile.columns)
        preparer = RowPreparer(profile, standard, reader, DatabaseCodeLists(db), KnownLegacyCodes(db))

        def finish(outcome: BatchOutcome) -> dict[str, Any]:
            if summary.read == 0:
                raise FileRejected("file.empty", f"{path.name} holds no data rows")
            summary.took(outcome)
            if report.rejected == summary.read:
                summary.notice = {"code": "load.all_rejected", "detail": "every row was rejected; nothing changed"}
            _finish(summary, report, clock, "committed")
            return {**_batch_row(summary, profile, started, authority), "key_prefix": authority.key_prefix}

        run_batch(
            db,
            standard=standard,
            feed=Feed(
                source_system_id=profile.source_system.id,
                source_system_name=profile.source_system.name,
                department_id=authority.department,
                feed=profile.name,
                priority=profile.priority,
            ),
            rows=_rows(reader, preparer, report, summary, progress, options.chunk_rows, options.workers),
            mode=profile.mode,
            guard=options.guard,
            force=options.force,
            batch_id=batch_id,
            started_at=started,
            listener=_ReportListener(report),
            finish=finish,
            chunk_rows=options.chunk_rows,
            row_feeds=row_feeds,
        )
        synced = search.sync(db, registry, batch_id=batch_id) if search is not None else None
        if synced is not None:
            # the batch's changes reached the index before the load returns; a failure is reported, never fatal:
            # the load has committed and the background indexer (or `mdm indexer run`) catches up
            _indexed(summary, synced)
            store_summary(db, batch_id, summary.as_dict())
        report.write_summary(summary.as_dict())
        return summary
    except MdmError as exc:
        status = "refused" if isinstance(exc, GuardRefused) else "rejected" if exc.status < 500 else "failed"
        summary.error = {"code": exc.code, "detail": exc.detail}
        _fail(db, summary, report, clock, status, profile, started, authority)
        exc.extra["summary"] = summary.as_dict()
        raise
    except BaseException as exc:
        summary.error = {"code": "server.error", "detail": str(exc)[:500]}
        _fail(db, summary, report, clock, "failed", profile, started, authority)
        raise
    finally:
        report.close()


def _indexed(summary: LoadSummary, synced: DrainResult) -> None:
    """Take the load's own drain into the summary: a batch whose records the index refused is stored but not all
    searchable — status ``committed_unindexed``, ``unindexed`` the count, notice ``load.unindexed`` (the drain
    has marked the batch row so, :func:`mdm.batches.settle_indexing`). An index that cannot be reached leaves
    the status ``committed``: the rows are pending, not refused, and the background indexer catches up (and marks
    the batch if it then finds refusals)."""
    summary.index = synced.as_dict()
    if synced.refused:
        summary.status = UNINDEXED
        summary.unindexed = synced.refused
        summary.notice = summary.notice or {
            "code": "load.unindexed",
            "detail": f"{synced.refused} stored records were refused by the search index and cannot be found by "
            "search (see index.errors); fix the index (mdm reindex) — the indexer retries them",
        }


def _finish(summary: LoadSummary, report: LoadReport, clock: float, status: str) -> None:
    summary.status = status
    summary.rejected = report.rejected
    summary.warnings = report.warned
    summary.reject_codes = dict(sorted(report.reject_codes.items()))
    summary.warning_codes = dict(sorted(report.warning_codes.items()))
    summary.finished_at = dt.datetime.now(dt.UTC).isoformat()
    summary.seconds = round(time.monotonic() - clock, 3)


def _batch_row(
    summary: LoadSummary, profile: Profile, started: dt.datetime, authority: LoadAuthority
) -> dict[str, Any]:
    return {
        "id": summary.batch_id,
        "repository": profile.repository,
        "source_system_id": profile.source_system.id,
        "profile": profile.name,
        "file_name": summary.file[:500],
        "mode": profile.mode,
        "status": summary.status,
        "encoding": summary.encoding,
        "started_at": started,
        "finished_at": summary.finished(),
        "summary": summary.as_dict(),
        "department_id": authority.department,
        "loaded_by": authority.loaded_by,
    }


def _fail(
    db: Database,
    summary: LoadSummary,
    report: LoadReport,
    clock: float,
    status: str,
    profile: Profile,
    started: dt.datetime,
    authority: LoadAuthority,
) -> None:
    summary.rolled_back()  # nothing of the batch is stored
    _finish(summary, report, clock, status)
    report.write_summary(summary.as_dict())
    try:
        record_failed_batch(db, **_batch_row(summary, profile, started, authority))
    except Exception:  # the database itself may be what failed; the summary file still tells the story
        summary.notes = [*(summary.notes or []), "the batch row could not be recorded"]
