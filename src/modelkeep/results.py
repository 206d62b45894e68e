"""What every result type shares: its JSON form, and dict-style reading for older scripts.

Keep's methods return frozen dataclasses whose ``to_dict()`` gives their JSON form, defined
beside each type, so the CLI, a server and a client serialise a result alike. ``json_ready``
turns any result (or a list or mapping of them) into plain JSON values; JSON has no NaN or
infinities, so those are written as the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``.
This module imports nothing of modelkeep, so every layer may use it.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import PurePath
from typing import Any


def format_float(value: float) -> str:
    """A number for text output: ``NaN``, ``Infinity``, ``-Infinity`` or repr of the float."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(value)


def json_ready(value: Any) -> Any:
    """``value`` as plain JSON values: result types by their ``to_dict()``, other dataclasses
    field by field, paths and unknown objects as strings, non-finite floats spelled out."""
    if isinstance(value, float):
        return value if math.isfinite(value) else format_float(value)
    if value is None or isinstance(value, str | int | bool):
        return value
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if hasattr(value, "to_dict"):
        return json_ready(value.to_dict())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return json_ready(dataclasses.asdict(value))
    if isinstance(value, PurePath):
        return str(value)
    return str(value)


class Result:
    """A result type's JSON form (by default its fields), and dict-style reading of it
    (``view["metrics"]``) through that form.

    Keep's reads returned plain dicts before they returned result types; scripts written then
    keep working. New code reads the typed attributes, which mypy checks.
    """

    def to_dict(self) -> dict[str, Any]:
        """JSON form: the dataclass's fields in order (types with another form override it)."""
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]

    def get(self, key: str, default: Any = None) -> Any:
        """The JSON form's ``key``, or ``default``."""
        return self.to_dict().get(key, default)
