"""The problem+json responses the routes document in OpenAPI (RFC 9457 documents with a stable ``code``)."""

from __future__ import annotations

from typing import Any

PROBLEM = {"content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "request.* — a parameter is missing, malformed or too long", **PROBLEM},
    401: {"description": "auth.missing_key, auth.invalid_key", **PROBLEM},
    403: {"description": "auth.forbidden, access.no_grant, access.field_not_granted", **PROBLEM},
    404: {"description": "repository.unknown, record.not_found, load.not_found", **PROBLEM},
    503: {"description": "database.unavailable, search.unavailable — try again later", **PROBLEM},
}
LOAD_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {
        "description": "auth.forbidden; load.department_mismatch — the profile's source system is not the caller's "
        "department's (its owner loads it, or a steward on its behalf); nothing is stored",
        **PROBLEM,
    },
    409: {
        "description": "load.guard_refused (with the load summary under `load`); load.owner_conflict — the profile "
        "names another owner than the source system's registered one",
        **PROBLEM,
    },
    413: {"description": "file.too_large", **PROBLEM},
    422: {"description": "file.* — the file was rejected whole (with the load summary under `load`)", **PROBLEM},
}
