"""Domain errors. Each carries a stable code from :mod:`standards.codes`; ``api/errors.py`` maps them to HTTP."""

from __future__ import annotations

from typing import Any

from standards.codes import check


class MdmError(Exception):
    """Base of every domain error: ``code`` (stable slug), a human ``detail`` and optional ``extra`` members."""

    def __init__(self, code: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.code = check(code)
        self.detail = detail
        self.extra = extra


class NotFound(MdmError):
    """The thing asked for does not exist (``record.not_found``, ``repository.unknown``, ``load.not_found``)."""


class InvalidRequest(MdmError):
    """The caller's input is malformed (``request.*``)."""


class Unauthorised(MdmError):
    """No or a bad API key (``auth.missing_key``, ``auth.invalid_key``)."""


class Forbidden(MdmError):
    """A valid key whose role may not do this (``auth.forbidden``)."""


class FileRejected(MdmError):
    """A whole file that cannot be loaded (``file.*``, ``load.profile_*``)."""


class GuardRefused(MdmError):
    """A snapshot that would retire too much of a repository (``load.guard_refused``)."""


class Conflict(MdmError):
    """The request is well-formed but the state of the thing refuses it (``project.transition_invalid``, …)."""
