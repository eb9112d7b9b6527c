"""Data standards: the versioned JSON Schemas that govern the five repositories, their code lists and formats.

Pure Python, no database. ``mdm`` supplies code lists through :class:`standards.codelists.CodeListProvider`.

The registry (and with it jsonschema) is imported on first use of one of its names, so importing a light
module such as :mod:`standards.codes` or :mod:`standards.checkdigits` stays cheap (``mdm --help``, ``mdm check``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from standards.registry import Registry, Standard, StandardError, default_registry

__all__ = ["Registry", "Standard", "StandardError", "default_registry"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from standards import registry

        return getattr(registry, name)
    raise AttributeError(f"module 'standards' has no attribute {name!r}")
