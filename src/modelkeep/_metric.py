"""One metric value: a float, where NaN and +/-infinity are legal (a diverging loss is a fact).

Shared by registration (``--metric accuracy=0.91``, text from the command line) and run logging
(numbers from a training script), so both accept and refuse the same values. Small and free of
heavy imports: it sits on the logging path.
"""

from __future__ import annotations

from typing import Any

from modelkeep.errors import InvalidMetricError


def metric_float(name: str, value: Any, *, from_text: bool = False) -> float:
    """``value`` as a float. Bools, None and non-numbers are refused; strings only when
    ``from_text`` (a command-line value such as ``"0.91"`` or ``"nan"``)."""
    if isinstance(value, bool) or value is None or (isinstance(value, str | bytes) and not from_text):
        raise InvalidMetricError(
            f"metric '{name}' must be a number, got {type(value).__name__} {value!r}",
            hint="log numbers (int, float, numpy or tensor scalars); NaN and inf are allowed",
            key=name,
        )
    try:
        return float(value)
    except OverflowError as exc:
        raise InvalidMetricError(f"metric '{name}' is too large for a float: {str(value)[:40]}",
                                 key=name) from exc
    except (TypeError, ValueError) as exc:
        raise InvalidMetricError(
            f"metric '{name}' must be a number, got {type(value).__name__} {str(value)[:40]!r}",
            hint=("use --metric NAME=NUMBER, e.g. --metric accuracy=0.93" if from_text
                  else "log one number per call (call .item() on a one-element tensor)"),
            key=name,
        ) from exc
