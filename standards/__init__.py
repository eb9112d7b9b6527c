"""Data standards: the versioned JSON Schemas that govern the five repositories, their code lists and formats.

Pure Python, no database. ``mdm`` supplies code lists through :class:`standards.codelists.CodeListProvider`.
"""

from standards.registry import Registry, Standard, StandardError, default_registry

__all__ = ["Registry", "Standard", "StandardError", "default_registry"]
