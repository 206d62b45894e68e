"""Lazily loaded package names (PEP 562): a package lists name -> defining module, and the
module is imported on first use, so importing the package costs nothing for names not used.
Also regular expressions compiled on first use (``lazy_pattern``), for the same reason."""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Callable
from typing import Any


def lazy_pattern(source: str) -> Callable[[], re.Pattern[str]]:
    """A getter for ``re.compile(source)`` that compiles on its first call: a module's
    patterns cost its importers' start-up nothing until one is used."""
    return functools.cache(lambda: re.compile(source))


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
