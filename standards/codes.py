"""The stable error and warning codes.

Every code the service emits — in a load report, a reject, a problem+json document or a check — is listed
here and in the published table ``docs/codes.md`` (the tests keep the two equal). A code is a dotted slug
``area.reason``; once published it never changes meaning.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Code:
    """One published code: its slug, severity (``error`` rejects, ``warning`` only reports) and meaning."""

    slug: str
    severity: str
    meaning: str


_TABLE: tuple[Code, ...] = (
    # files, whole
    Code("file.encoding_unknown", "error", "The file is neither UTF-8 (with or without BOM) nor GB18030."),
    Code("file.unreadable", "error", "The file cannot be opened or parsed in the profile's format."),
    Code("file.missing_columns", "error", "A column the profile maps is not in the file's header."),
    Code("file.empty", "error", "The file holds no data rows."),
    Code("file.too_large", "error", "The upload is larger than the configured limit."),
    # rows
    Code("batch.duplicate_key", "error", "The row's business key already appeared earlier in the same batch."),
    Code("row.key_missing", "error", "The row has no value for the business key."),
    Code("row.source_key_missing", "error", "The row has no value in the profile's source_key column."),
    Code(
        "row.source_undeclared",
        "error",
        "A mixed-source file's row names no source system the profile declares (sources.systems), or none.",
    ),
    Code("row.control_characters", "warning", "Control characters (C0 but TAB and LF, and DEL) were removed."),
    Code("row.invisible_characters", "warning", "Zero-width characters or odd spaces removed; spaces in a name fixed."),
    Code("row.null_token", "warning", "A cell held a null token of the profile and was read as no value."),
    Code("row.bad_value", "error", "A normaliser could not interpret a cell."),
    # schema validation (from the JSON Schema keyword that failed)
    Code("schema.required", "error", "A required field is missing."),
    Code("schema.type", "error", "A value has the wrong JSON type."),
    Code("schema.enum", "error", "A value is not one of the allowed values."),
    Code("schema.pattern", "error", "A value does not match the field's pattern."),
    Code("schema.length", "error", "A value is too long or too short."),
    Code("schema.range", "error", "A number is out of the allowed range."),
    Code("schema.additional_property", "error", "A field the standard does not define."),
    Code("schema.invalid", "error", "The value violates another rule of the standard."),
    Code("date.invalid", "error", "Not a valid calendar date (ISO 8601, format: date)."),
    Code("datetime.invalid", "error", "Not a valid RFC 3339 date-time."),
    Code("date.unparseable", "error", "A date in none of the profile's accepted formats."),
    Code("date.incomplete", "error", "A date lacking its day, month or year (2023年5月, 5月1日, 2023)."),
    Code("date.time_dropped", "warning", "A date-only field was given a time of day; the date was kept."),
    Code("date.serial_out_of_range", "error", "An Excel date serial outside 1900–2100."),
    Code("date.serial_in_text", "error", "A bare Excel serial in a text file whose profile does not accept them."),
    # identifiers
    Code("division_code.format", "error", "Not a division code: 6, 9 or 12 digits (GB/T 2260, statistical codes)."),
    Code("division_code.unknown", "warning", "A well-formed division code absent from the code list in force."),
    Code("id.length", "error", "A citizen ID number that is not 18 characters (15-digit numbers are upgraded first)."),
    Code("id.charset", "error", "A citizen ID number with characters other than 17 digits and a digit or X."),
    Code("id.birth_date", "error", "The date inside a citizen ID number is not a possible birth date."),
    Code("id.checksum", "error", "The ISO 7064 MOD 11-2 check character of a citizen ID number is wrong (GB 11643)."),
    Code("id.upgraded", "warning", "A 15-digit legacy citizen ID number was upgraded to 18 characters."),
    Code("uscc.length", "error", "A unified social credit code that is not 18 characters."),
    Code("uscc.charset", "error", "A character outside the GB 32100 alphabet (no I, O, Z, S, V) or a bad first one."),
    Code("uscc.checksum", "error", "The weighted MOD 31 check character of a USCC is wrong (GB 32100)."),
    Code("uscc.is_citizen_id", "error", "A valid citizen ID number (GB 11643) in a USCC field, from any source."),
    Code("uscc.citizen_id_like", "error", "A legacy USCC that reads as a citizen ID number with a wrong check."),
    Code("uscc.organisation_type", "error", "A legacy USCC whose position 2 is no organisation type of position 1's."),
    Code("uscc.division_unknown", "error", "A legacy USCC whose positions 3–8 are no division code that exists."),
    Code("uscc.organisation_code", "error", "A legacy USCC whose positions 9–17 are no GB 11714 organisation code."),
    Code("org_code.format", "error", "Not an organisation code: 8 characters and a check character (GB 11714)."),
    Code("org_code.checksum", "error", "The check character of an organisation code is wrong (GB 11714)."),
    Code("id.address_unknown", "warning", "The address code of a citizen ID number is not in the division list."),
    Code("identifier.text_wrapper", "warning", 'A spreadsheet text marker (a leading \' or ="…") was stripped.'),
    Code("identifier.from_number", "warning", "An identifier arrived as a number whose digits are exact; taken."),
    Code("code.zero_padded", "warning", "A fixed-width code was left-padded with zeros, as the profile's pad asks."),
    Code("code.length", "error", "A fixed-width digit code of another width, with no padding declared for it."),
    Code("id.lossy_numeric", "error", "An identifier that went through a numeric type (1.10105E+17): lossy."),
    Code("identifier.full_width", "warning", "Full-width characters in an identifier were made ASCII (NFKC)."),
    Code("identifier.lower_case", "warning", "Lower-case letters in an identifier (a check character x) upper-cased."),
    Code("uscc.checksum_legacy", "warning", "A USCC failing the GB 32100 check, loaded from its issuing authority."),
    Code("uscc.legacy_known", "warning", "A USCC failing the GB 32100 check that its issuing authority holds."),
    # cross-field rules (x-rules) and references
    Code("person.birth_date_mismatch", "error", "birth_date differs from the date inside the citizen ID number."),
    Code("person.death_before_birth", "error", "death_date is before birth_date."),
    Code("amount.negative", "error", "An amount in 万元 is negative."),
    Code("amount.precision", "error", "An amount in 万元 has more than 6 decimals."),
    Code("credit.subject_id_missing", "error", "A credit record's subject lacks the identifier its type needs."),
    Code("license.holder_id_invalid", "error", "holder_id fails the format of its holder_id_type (111, 001)."),
    Code("license.validity_conflict", "error", "valid_to with long_term, or valid_to before valid_from."),
    Code("license_id.checksum", "warning", "A licence identifier's check character does not match MOD 37,36."),
    Code("ref.unknown", "warning", "An x-ref value that points to no record (yet) in the referenced repository."),
    Code("code_list.unknown", "warning", "A value absent from its code list in force."),
    # geometry
    Code("geo.invalid_geometry", "error", "The geometry is not valid (self-intersection, unclosed ring, …)."),
    Code("geo.repaired", "warning", "An invalid geometry was repaired because the profile asks for repair."),
    Code("geo.crs_missing", "error", "Coordinates arrived without a declared CRS."),
    Code("geo.crs_unsupported", "error", "The declared CRS cannot be transformed to CGCS2000 (EPSG:4490)."),
    Code("geo.bad_coordinates", "error", "Coordinates that are not numbers or are out of range."),
    Code("geo.outside_extent", "error", "A geometry outside the profile's extent (default: China's bounding box)."),
    Code("geo.axes_swapped", "warning", "Latitude came first (axis_order: latlon); the axes were swapped."),
    Code("geo.crs_converted", "warning", "GCJ-02 or BD-09 coordinates were converted to CGCS2000; raw geometry kept."),
    # load guard
    Code("load.guard_refused", "error", "A snapshot would retire more of the repository than the guard allows."),
    Code(
        "load.worker_failed",
        "error",
        "A row-preparation worker process died during the load; nothing was stored (rerun the load).",
    ),
    Code("load.profile_unknown", "error", "No such source profile (path or name in MDM_PROFILE_PATH)."),
    Code("load.profile_invalid", "error", "The source profile is malformed."),
    Code("load.all_rejected", "error", "Every row of the file was rejected."),
    Code(
        "load.unindexed",
        "warning",
        "The batch is stored but the search index refused some of its records (status committed_unindexed).",
    ),
    # e-government projects (mdm/projects)
    Code("project.not_found", "error", "No project (or no document of it) with this id."),
    Code(
        "project.invalid",
        "error",
        "A project field is missing or malformed (amount, year, kind, category, document type).",
    ),
    Code("project.entity_unknown", "error", "A USCC (department, vendor, supervisor) that is no legal_entity record."),
    Code(
        "project.department_mismatch",
        "error",
        "A declarer declares only for its key's own department: the body named another department_uscc.",
    ),
    Code(
        "project.department_unregistered",
        "error",
        "A declaring department must be a registered department whose id is its USCC.",
    ),
    Code(
        "project.transition_invalid",
        "error",
        "The transition is not allowed from this stage, by this role, or a condition is missing.",
    ),
    Code("project.over_control_price", "error", "The approved amount exceeds the control price."),
    Code("project.over_requested", "error", "The approved amount exceeds the amount requested."),
    Code(
        "project.duplicate_suspected",
        "error",
        "Similar projects exist; the declaration needs a not-a-duplicate statement.",
    ),
    Code(
        "project.vendor_refused",
        "error",
        "The vendor has an active serious credit record; only a finance override with a reason admits it.",
    ),
    Code(
        "project.vendor_conflict",
        "error",
        "Contractor and supervisor are different legal entities, and neither is the declaring department.",
    ),
    Code("project.cost_standard_unknown", "error", "No cost standard with this version."),
    Code(
        "project.cost_standard_invalid",
        "error",
        "A cost standard pack misses a coefficient or breaks its schema (named); the service does not start.",
    ),
    Code(
        "project.payment_invalid",
        "error",
        "A payment row that cannot be imported (unknown project, bad date or amount).",
    ),
    Code("project.payment_stage", "error", "A payment row of a project that is not approved or later."),
    Code(
        "project.payment_date",
        "error",
        "A payment row dated outside the project's years (its budget year to five years on, not after today).",
    ),
    Code(
        "project.payment_over_approved",
        "error",
        "A payment row that would bring the project's payments above the approved amount, without an override reason.",
    ),
    Code(
        "project.payment_over_ceiling",
        "error",
        "A payment row that would bring the project's payments above 110% of the approved amount: no override passes.",
    ),
    Code(
        "project.om_above_standard",
        "warning",
        "An O&M declaration whose cost ratio is above its category's proposed standard.",
    ),
    Code("project.not_om", "error", "An O&M review or decision asked of a project that is not an O&M project."),
    Code(
        "project.om_system_invalid",
        "error",
        "The system an O&M project maintains must be a filed construction project of the declaring department.",
    ),
    Code(
        "project.om_justification_required",
        "error",
        "An O&M project above its category's expenditure standard (or with none) needs a written justification.",
    ),
    Code(
        "project.om_review_state",
        "error",
        "The O&M review is not in a state for this: no review yet, within the standard, or already decided.",
    ),
    # standards
    Code("standard.invalid", "error", "A schema under standards/ fails its meta-schema or an x- annotation."),
    Code("standard.format_unknown", "error", "A schema names a format that no checker implements."),
    Code("standard.format_unchecked", "error", "The start-up self-test found a format checker missing or lax."),
    # API
    Code("auth.missing_key", "error", "No API key: send Authorization: Bearer <key>."),
    Code("auth.invalid_key", "error", "The API key is unknown or revoked."),
    Code("auth.forbidden", "error", "The key's role may not do this."),
    Code("console.csrf_invalid", "error", "The console form's CSRF token is missing or does not match the session."),
    Code("console.signed_out", "error", "The console session is missing, expired or its key was revoked: sign in."),
    Code("repository.unknown", "error", "No such repository."),
    Code("record.not_found", "error", "No record with this business key (or none as of that time)."),
    Code("load.not_found", "error", "No load batch with this id (or none the caller's department may see)."),
    Code(
        "load.department_mismatch",
        "error",
        "The profile's source system is not the loading department's; its owner loads it, or a steward.",
    ),
    Code("load.owner_conflict", "error", "The profile names another owner than the source system's registered one."),
    Code("request.invalid", "error", "A parameter is missing or malformed."),
    Code("request.not_found", "error", "No such endpoint."),
    Code("request.method_not_allowed", "error", "The endpoint does not accept this HTTP method."),
    Code("request.filter_unknown", "error", "A filter on a field the standard does not mark filterable."),
    Code("request.cursor_invalid", "error", "The pagination cursor is malformed or belongs to another query."),
    Code("request.too_long", "error", "A query or path parameter is longer than the service accepts."),
    Code("request.parameter_repeated", "error", "A query parameter came more than once; each takes one value."),
    Code("request.too_large", "error", "A request body (not a file upload) is larger than the service accepts."),
    Code("request.header_repeated", "error", "A header that must be given once (Authorization, X-Purpose) came twice."),
    Code("server.error", "error", "An unexpected error; the server log has the details."),
    Code("database.unavailable", "error", "The database cannot be reached."),
    Code(
        "database.extension_missing", "error", "PostGIS (or pg_trgm) is not in the database; a superuser must add it."
    ),
    Code("search.unavailable", "error", "The search index (Elasticsearch) cannot be reached; try again later."),
    # sharing: purposes, grants, requests, audit
    Code("access.purpose_required", "error", "A read without the X-Purpose header naming its purpose."),
    Code("access.purpose_unknown", "error", "The X-Purpose code is not a registered purpose."),
    Code("access.purpose_invalid", "error", "A purpose over 64 characters, with control characters or malformed."),
    Code("access.no_grant", "error", "No grant covers the field (or nothing of the repository) for this department."),
    Code("access.purpose_not_granted", "error", "Grants cover the field, but not for the request's purpose."),
    Code("access.grant_expired", "error", "The grant covering field and purpose is outside its validity."),
    Code("access.share_none", "error", "The field is never shared (x-share: none, 不予共享)."),
    Code(
        "access.field_not_granted",
        "error",
        "Addressing records by key, filtering, searching or verifying on a field not granted unmasked.",
    ),
    Code(
        "access.claim_derivable",
        "error",
        "A verification claim on a field that can be read off the key itself; it would only confirm the key exists.",
    ),
    Code(
        "access.rate_limited",
        "error",
        "A verification or key lookup past the per-minute rate or the daily quota; retry after Retry-After seconds.",
    ),
    Code(
        "department.invalid",
        "error",
        "A department id that is neither a USCC nor a short code, or a bad name (invisible or control characters).",
    ),
    Code("department.not_found", "error", "No such department."),
    Code("department.exists", "error", "A department with this id or name is registered."),
    Code("department.name_confusable", "error", "The name reads like a registered department's name."),
    Code("department.owner_exists", "error", "The repository has an owning department; a change of owner is explicit."),
    Code(
        "purpose.invalid",
        "error",
        "A purpose without a title or a legal basis, or one holding invisible or control characters.",
    ),
    Code("purpose.exists", "error", "A purpose with this code is registered."),
    Code("purpose.name_confusable", "error", "The title reads like a registered purpose's title."),
    Code("grant.invalid", "error", "A malformed grant: kind, fields, purposes or validity."),
    Code("grant.field_unknown", "error", "A grant names a field the repository's standard does not have."),
    Code("grant.share_none", "error", "A grant names a field whose share class is none: it can never be granted."),
    Code("grant.not_found", "error", "No such grant."),
    Code("grant.revoked", "error", "The grant is already revoked."),
    Code("sharing_request.not_found", "error", "No such sharing request."),
    Code("request.already_decided", "error", "The sharing request was already approved or rejected."),
    Code("audit.chain_broken", "error", "An audit event was edited, deleted or moved: the hash chain breaks there."),
    Code(
        "audit.unavailable",
        "error",
        "The read's audit event could not be made durable in time; the read is refused (try again later).",
    ),
)

CODES: dict[str, Code] = {c.slug: c for c in _TABLE}


def check(slug: str) -> str:
    """Return ``slug`` if it is a published code; raise ``KeyError`` otherwise (a programming error)."""
    if slug not in CODES:
        raise KeyError(f"unpublished code {slug!r}: add it to standards/codes.py and docs/codes.md")
    return slug
