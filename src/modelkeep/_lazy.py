"""Lazily loaded package names (PEP 562): a package lists name -> defining module, and the
module is imported on first use, so importing the package costs nothing for names not used."""

from __future__ import annotations

import importlib
from typing import Any


def load(package: dict[str, Any], exports: dict[str, str], name: str) -> Any:
    """The value of ``name`` for the package whose globals are ``package`` (cached there)."""
    module = exports.get(name)
    if module is None:
        raise AttributeError(f"module {package['__name__']!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    package[name] = value
    return value


def names(package: dict[str, Any], public: list[str]) -> list[str]:
    """What ``dir()`` shows for a lazy package: its globals and its public names."""
    return sorted(set(package) | set(public))
