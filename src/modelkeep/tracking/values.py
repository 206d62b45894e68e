"""What a run accepts: names, parameter values, metric values and steps, filter conditions.

Checks here are cheap on purpose: ``check_name`` sits on the logging path (metric values: _metric.py).
A metric is a float; NaN and +/-infinity are legal values (a diverging loss is a fact worth
keeping). Parameters are JSON scalars, as the metadata schema wants for hyperparameters;
lists, dicts and None are kept as their JSON text.
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from modelkeep.errors import InvalidInputError, InvalidMetricError, InvalidNameError
from modelkeep.limits import has_surrogate

MAX_NAME = 250  # metric, param and tag names (the database columns are this wide)
MAX_STEP = 2**63 - 1  # steps are int64


def check_name(name: Any, what: str = "metric") -> str:
    """``name`` if it can name a metric, param or tag: 1-250 printable characters."""
    if not isinstance(name, str) or not name or len(name) > MAX_NAME or not name.isprintable():
        shown = repr(name) if not isinstance(name, str) else repr(name[:40] + "…" * (len(name) > 40))
        raise InvalidNameError(
            f"invalid {what} name {shown}: use 1 to {MAX_NAME} printable characters",
            hint=f"e.g. log_{what}('val_loss', ...)" if what == "metric" else None,
            name=str(name)[:MAX_NAME],
        )
    return name


def check_step(name: str, step: Any) -> int:
    """A step as an int (numpy integers are fine, floats and bools are not)."""
    if isinstance(step, bool):
        raise InvalidMetricError(f"step of metric '{name}' must be an integer, got {step!r}", key=name)
    try:
        value = operator.index(step)
    except TypeError as exc:
        raise InvalidMetricError(
            f"step of metric '{name}' must be an integer, got {type(step).__name__} {step!r}",
            hint="pass step=int(...)",
            key=name,
        ) from exc
    if not -MAX_STEP <= value <= MAX_STEP:
        raise InvalidMetricError(f"step of metric '{name}' is out of the int64 range: {value}",
                                 key=name)
    return value


def param_scalar(key: str, value: Any) -> str | int | float | bool:
    """A parameter as a JSON scalar: scalars stay typed, containers become their JSON text.

    A string holding a lone surrogate (an undecodable command-line byte) is refused: no UTF-8
    can encode it, so no export of the run or of a version registered from it could.
    """
    if isinstance(value, str) and has_surrogate(value):
        raise InvalidInputError(
            f"param '{key}' holds a lone surrogate {ascii(value)[:60]}: it is not valid Unicode text",
            hint="pass text that is valid UTF-8 (check the shell's locale and the bytes given)",
            key=key,
        )
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInputError(
                f"param '{key}' is {value}: parameters must be finite numbers",
                hint="log it as a string if it is meant, e.g. str(value)",
                key=key,
            )
        return value
    if hasattr(value, "item") and callable(value.item):  # numpy / tensor scalars
        try:
            return param_scalar(key, value.item())
        except (TypeError, ValueError):
            pass
    try:
        return json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return str(value)


def param_number(value: Any) -> float | None:
    """The numeric form of a stored parameter (for range filters), None for text and bools."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "<=": operator.le, ">=": operator.ge, "!=": operator.ne,
    "<": operator.lt, ">": operator.gt, "==": operator.eq, "=": operator.eq,
}
_CONDITION = re.compile(r"^\s*(?P<key>[^<>=!]+?)\s*(?P<op><=|>=|!=|==|<|>|=)\s*(?P<value>.*?)\s*$")


@dataclass(frozen=True)
class Condition:
    """One filter term such as ``accuracy>0.9`` or ``optimizer=adam``."""

    key: str
    op: str
    value: str

    @property
    def sql_op(self) -> str:
        """The SQL spelling of the operator."""
        return "=" if self.op == "==" else ("<>" if self.op == "!=" else self.op)

    @property
    def number(self) -> float | None:
        """The value as a float, None when it is not a number."""
        try:
            return float(self.value)
        except ValueError:
            return None


def parse_condition(text: str, what: str = "metric") -> Condition:
    """Parse ``NAME OP VALUE`` (OP one of < <= > >= = == !=); a bad term is a clear error."""
    match = _CONDITION.match(text)
    if not match or not match["value"]:
        raise InvalidInputError(
            f"invalid {what} filter '{text}': expected NAME OP VALUE",
            hint=f"e.g. --{what} 'accuracy>0.9' or --{what} lr=0.001 (OP: < <= > >= = !=)",
            value=text,
        )
    cond = Condition(check_name(match["key"], what), match["op"], match["value"])
    if what == "metric" and cond.number is None:
        raise InvalidMetricError(
            f"invalid metric filter '{text}': '{cond.value}' is not a number",
            hint="e.g. --metric 'accuracy>=0.9'",
            value=text,
        )
    return cond
