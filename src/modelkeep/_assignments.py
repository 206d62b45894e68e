"""``KEY=VALUE`` assignments from the command line (``--param lr=0.1``, ``--option region=eu``).

The registry (``register --param``), tracking (``runs --where``) and the CLI all read them, so
the parsing sits below all three.
"""

from __future__ import annotations

from typing import Any

from modelkeep.errors import InvalidInputError
from modelkeep.limits import load_json


def parse_assignments(items: list[str], what: str) -> dict[str, str]:
    """``["lr=0.1", "epochs=3"]`` -> {"lr": "0.1", "epochs": "3"}; a missing '=' is an error."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidInputError(
                f"invalid {what} '{item}': expected KEY=VALUE",
                hint=f"e.g. --{what} learning_rate=0.001",
            )
        out[key.strip()] = value
    return out


def param_value(raw: Any) -> Any:
    """A hyperparameter from the command line: JSON scalars keep their type, else a string
    (also text over the input limits, such as 100,000 nested brackets or 5000 digits)."""
    if not isinstance(raw, str):
        return raw
    try:
        value = load_json(raw, max_bytes=None)
    except ValueError:
        return raw
    return value if isinstance(value, str | int | float | bool) else raw
