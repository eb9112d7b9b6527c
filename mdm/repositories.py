"""The repositories a registry knows: the one place that turns a repository id into its standard."""

from __future__ import annotations

from mdm.errors import RepositoryUnknown
from standards import Standard
from standards.registry import Registry


def standard_for(registry: Registry, repository: str) -> Standard:
    """The current standard of ``repository`` (one of ``registry.repositories``, e.g. ``legal_entity``).

    Raises :class:`RepositoryUnknown` (``repository.unknown``, HTTP 404) naming the known repositories."""
    try:
        return registry.get(repository)
    except KeyError:
        raise RepositoryUnknown(repository, list(registry.repositories)) from None
