"""Domain errors. Each carries a stable code from :mod:`standards.codes`, and its class carries what the
interfaces answer for it: ``status`` (the HTTP status of its problem+json document, RFC 9457) and ``exit_code``
(the ``mdm`` command's exit code, README "Exit codes"). ``api/errors.py`` and ``api/cli.py`` read them; neither
keeps a table of its own."""

from __future__ import annotations

from typing import Any, ClassVar

from standards.codes import check


class MdmError(Exception):
    """Base of every domain error: ``code`` (stable slug), a human ``detail`` and optional ``extra`` members.
    Unclassified, it is a server fault: HTTP 500, exit 1."""

    status: ClassVar[int] = 500
    exit_code: ClassVar[int] = 1

    def __init__(self, code: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.code = check(code)
        self.detail = detail
        self.extra = extra


class InvalidRequest(MdmError):
    """The caller's input is malformed (``request.*``): HTTP 400, exit 2 (a usage error)."""

    status = 400
    exit_code = 2


class NotFound(MdmError):
    """The thing asked for does not exist (``record.not_found``, ``load.not_found``): HTTP 404, exit 2."""

    status = 404
    exit_code = 2


class RepositoryUnknown(NotFound):
    """No repository of that id (``repository.unknown``): HTTP 404, exit 2. Raised only by
    :func:`mdm.repositories.standard_for`."""

    def __init__(self, repository: str, known: list[str]) -> None:
        super().__init__("repository.unknown", f"no repository {repository!r}; known: {', '.join(known)}")


class Unauthorised(MdmError):
    """No or a bad API key (``auth.missing_key``, ``auth.invalid_key``): HTTP 401."""

    status = 401


class Forbidden(MdmError):
    """A valid key whose role may not do this (``auth.forbidden``): HTTP 403."""

    status = 403


class FileRejected(MdmError):
    """A whole file that cannot be loaded (``file.*``): HTTP 422, exit 3."""

    status = 422
    exit_code = 3


class FileTooLarge(FileRejected):
    """An upload above ``MDM_MAX_UPLOAD_BYTES`` (``file.too_large``, with ``limit`` in bytes): HTTP 413, exit 3."""

    status = 413

    def __init__(self, limit: int) -> None:
        super().__init__("file.too_large", f"the upload exceeds {limit} bytes", limit=limit)


class ProfileRejected(FileRejected):
    """The source profile, not the file, is wrong (``load.profile_unknown``, ``load.profile_invalid``):
    HTTP 400, exit 2 (a usage error). A :class:`FileRejected`, so a load reports it like one."""

    status = 400
    exit_code = 2


class GuardRefused(MdmError):
    """A snapshot that would retire too much of a repository (``load.guard_refused``): HTTP 409, exit 4."""

    status = 409
    exit_code = 4


class LoadRefused(Forbidden):
    """A load outside the remit of the department that runs it (``load.department_mismatch``): HTTP 403, exit 2
    (for ``mdm load --department``, a usage error). Nothing of the batch is read or stored."""

    exit_code = 2


class Unavailable(MdmError):
    """A service the request needs cannot be reached or is not set up (``database.unavailable``,
    ``database.extension_missing``, ``search.unavailable``, ``audit.unavailable``: a read whose audit event could
    not be made durable in time): HTTP 503, exit 1."""

    status = 503


class RateLimited(MdmError):
    """A metered call past its per-minute rate or daily quota (``access.rate_limited``): HTTP 429 with
    ``Retry-After`` (RFC 6585 §4; ``extra["retry_after"]`` seconds), exit 1."""

    status = 429


class Conflict(MdmError):
    """The request is well-formed but the state of the thing refuses it (``project.transition_invalid``, …):
    HTTP 409, exit 1."""

    status = 409


class NameTaken(Conflict):
    """A name that is registered already or reads like a registered one (``department.exists`` by name,
    ``department.name_confusable``, ``purpose.name_confusable``), with ``existing`` naming the registered one's id:
    HTTP 409, exit 2 — a usage error of the command line (use the registered one), like an unknown option."""

    exit_code = 2


class OwnerConflict(Conflict):
    """A profile that names another owner for a source system than its registered one (``load.owner_conflict``):
    HTTP 409, exit 2 (the profile is wrong). Nothing of the batch is read or stored."""

    exit_code = 2


class CostStandardInvalid(MdmError):
    """A cost standard pack (:mod:`mdm.projects.costing`) that does not satisfy its schema
    (``project.cost_standard_invalid``, with ``pack`` and ``coefficient``): a fault of the deployment, not of a
    caller — HTTP 500, and the app does not start."""

    def __init__(self, pack: str, coefficient: str, reason: str) -> None:
        super().__init__(
            "project.cost_standard_invalid",
            f"cost standard pack {pack!r} is refused: {coefficient}: {reason}",
            pack=pack,
            coefficient=coefficient,
        )
