"""Redacting request and response payloads before a keep stores them (docs/privacy.md).

A payload is walked as JSON: every string (object keys too) passes through the enabled
patterns, each match replaced by ``[redacted:NAME]``; integers of nine digits or more are
replaced when ``number`` is enabled (a card or phone number sent as a JSON number); floats,
booleans and null are kept, so a tabular model's features stay readable.

Built-in patterns (all enabled by default, ``[gateway] redact`` chooses):

- ``email``: e-mail addresses.
- ``key``: credentials: the rules of ``modelkeep.redact`` (URL passwords, ``NAME=VALUE`` where
  the name says secret, ``Bearer``/``Basic`` tokens), well-known key shapes (``sk-...``,
  ``ghp_...``, ``AKIA...``, ``xox?-...``, ``AIza...``, JWTs) and any run of 32-256 letters,
  digits and ``_-+/=`` that mixes letters and digits (an API key of unknown shape; a hex digest
  too, on purpose).
- ``number``: runs of nine digits or more, spaces or dashes allowed between them (card, phone,
  account and social security numbers).

``[gateway.redact_patterns]`` adds named regular expressions of the project's own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from modelkeep.errors import InvalidInputError
from modelkeep.redact import MASK, redact_text

BUILTIN = ("email", "key", "number")
_PATTERN_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
_TOKEN_CHARS = "A-Za-z0-9_+/=-"
_PATTERNS: dict[str, list[re.Pattern[str]]] = {
    "email": [re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")],
    "key": [
        re.compile(r"\b(?:sk|pk|rk)-[A-Za-z0-9_-]{16,}"),
        re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}"),
        re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
        re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
        re.compile(r"\bAIza[0-9A-Za-z_-]{35}"),
        re.compile(r"\beyJ[\w-]{4,}\.eyJ[\w-]{4,}\.[\w-]+"),
        re.compile(rf"(?<![{_TOKEN_CHARS}])(?=[{_TOKEN_CHARS}]*\d)(?=[{_TOKEN_CHARS}]*[A-Za-z])"
                   rf"[{_TOKEN_CHARS}]{{32,256}}(?![{_TOKEN_CHARS}])"),
    ],
    # not inside a word or a decimal fraction; a sentence's full stop may follow
    "number": [re.compile(r"(?<!\w)(?<!\d\.)\d(?:[ -]?\d){8,}(?!\w|\.\d)")],
}
_LONG_INTEGER = 10 ** 8  # nine digits and more


def tag(name: str) -> str:
    """What a match of pattern ``name`` is replaced with."""
    return f"[redacted:{name}]"


@dataclass(frozen=True)
class Redactor:
    """The enabled built-in patterns and the project's own (name, regular expression)."""

    builtin: tuple[str, ...] = BUILTIN
    custom: tuple[tuple[str, str], ...] = ()

    @cached_property
    def _compiled(self) -> list[tuple[str, re.Pattern[str]]]:
        compiled = [(name, pattern) for name in self.builtin for pattern in _PATTERNS[name]]
        return compiled + [(name, re.compile(regex)) for name, regex in self.custom]

    def text(self, value: str) -> str:
        """``value`` with every match of every enabled pattern replaced by its tag."""
        if "key" in self.builtin:
            value = redact_text(value).replace(MASK, tag("key"))
        for name, pattern in self._compiled:
            value = pattern.sub(tag(name), value)
        return value

    def value(self, data: Any) -> Any:
        """A JSON value with its strings (and object keys) redacted, and long integers too
        when ``number`` is on."""
        if isinstance(data, str):
            return self.text(data)
        if isinstance(data, Mapping):
            return {self.text(str(k)): self.value(v) for k, v in data.items()}
        if isinstance(data, Sequence) and not isinstance(data, bytes | bytearray):
            return [self.value(v) for v in data]
        if isinstance(data, int) and not isinstance(data, bool) and abs(data) > _LONG_INTEGER \
                and "number" in self.builtin:
            return tag("number")
        return data


def check_patterns(builtin: Sequence[Any], custom: Mapping[str, Any], where: str) -> Redactor:
    """A ``Redactor`` from configuration, or one clear error naming what is wrong: an unknown
    built-in name, a pattern name that is not ``[a-z][a-z0-9_]*``, a regex that does not
    compile or that matches the empty string (it would tag every position)."""
    def bad(message: str) -> InvalidInputError:
        return InvalidInputError(f"{where}: {message}", hint="fix [gateway] redact / "
                                 "[gateway.redact_patterns] (see docs/privacy.md)")

    unknown = [n for n in builtin if n not in BUILTIN]
    if unknown:
        raise bad(f"unknown redaction {unknown[0]!r} (built-in: {', '.join(BUILTIN)})")
    pairs = []
    for name, regex in custom.items():
        if not _PATTERN_NAME.fullmatch(str(name)):
            raise bad(f"pattern name {name!r} must be lower-case letters, digits and _")
        if not isinstance(regex, str) or not regex:
            raise bad(f"pattern {name!r} must be a non-empty string")
        try:
            compiled = re.compile(regex)
        except re.error as exc:
            raise bad(f"pattern {name!r} is not a valid regular expression: {exc}") from None
        if compiled.fullmatch(""):
            raise bad(f"pattern {name!r} matches the empty string")
        pairs.append((str(name), regex))
    return Redactor(tuple(dict.fromkeys(str(n) for n in builtin)), tuple(pairs))
