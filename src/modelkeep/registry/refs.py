"""Names and references: ``NAME``, ``NAME@1.2.0``, ``NAME@production``, ``NAME@latest``."""

from __future__ import annotations

from dataclasses import dataclass

from modelkeep._lazy import lazy_pattern
from modelkeep._names import check_model_name
from modelkeep.errors import InvalidNameError

LATEST = "latest"


# fullmatch, never ``$``: ``$`` also matches before a final newline ("bert\n" would pass);
# compiled on first use: most commands name no alias
_alias_name_re = lazy_pattern(r"[A-Za-z][A-Za-z0-9_-]{0,99}")


def check_alias_name(alias: str) -> str:
    """Return ``alias`` if it can name an alias (not 'latest', not a version), else raise."""
    if not isinstance(alias, str) or alias == LATEST or not _alias_name_re().fullmatch(alias):
        raise InvalidNameError(
            f"invalid alias {alias!r}: use a letter then letters, digits, '_' or '-'"
            + (" ('latest' is reserved)" if alias == LATEST else ""),
            hint="e.g. modelkeep alias set NAME production 1.2.0",
            alias=alias,
        )
    return alias


@dataclass(frozen=True)
class Ref:
    """A parsed reference. ``selector`` is a version string, an alias name, or 'latest'."""

    name: str
    selector: str

    @property
    def is_version(self) -> bool:
        return self.selector[:1].isdigit()

    def __str__(self) -> str:
        return f"{self.name}@{self.selector}"


def parse_ref(text: str) -> Ref:
    """Parse ``NAME[@SELECTOR]``; a bare NAME means NAME@latest."""
    name, sep, selector = text.partition("@")
    check_model_name(name)
    if not sep:
        return Ref(name, LATEST)
    if not selector:
        raise InvalidNameError(
            f"invalid reference '{text}': nothing after '@'",
            hint=f"use {name}@1.0.0, {name}@latest or {name}@ALIAS",
            ref=text,
        )
    if not selector[:1].isdigit() and selector != LATEST:
        check_alias_name(selector)
    return Ref(name, selector)
