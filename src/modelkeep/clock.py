"""UTC timestamps in one fixed ISO 8601 form, so stored strings sort in time order."""

from __future__ import annotations

from datetime import UTC, datetime

from modelkeep.errors import InvalidInputError

_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def now_iso() -> str:
    """The current UTC time as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``."""
    return datetime.now(UTC).strftime(_FORMAT)


def to_iso(moment: datetime) -> str:
    """A datetime in the stored form; naive datetimes are taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime(_FORMAT)


def parse_timestamp(text: str) -> str:
    """Parse a user-given time (``2026-03-18``, ``2026-03-18T14:30Z``, with any offset) to the
    stored form; a bare date means the end of that day is not implied: it is 00:00 UTC."""
    raw = text.strip()
    candidate = raw[:-1] + "+00:00" if raw.endswith(("Z", "z")) else raw
    try:
        moment = datetime.fromisoformat(candidate)
    except ValueError as exc:
        raise InvalidInputError(
            f"invalid time '{text}': expected ISO 8601 such as 2026-03-18T14:30Z",
            hint="write the time in UTC, e.g. --at 2026-03-18T14:30Z",
            value=text,
        ) from exc
    return to_iso(moment)


_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


def parse_duration(text: str, what: str = "duration") -> float:
    """Seconds in ``30``, ``30s``, ``1.5m``, ``2h``, ``7d``, ``1w`` (or ``500ms``); a one-line
    error for anything else, negative or not finite."""
    raw = str(text).strip().lower()
    number, unit = raw, "s"
    for suffix in sorted(_UNITS, key=len, reverse=True):
        if raw.endswith(suffix):
            number, unit = raw[: -len(suffix)], suffix
            break
    try:
        value = float(number) * _UNITS[unit]
    except ValueError:
        value = float("nan")
    if not (value == value and 0 <= value < float("inf")) or number.strip() != number:
        raise InvalidInputError(f"{what} {text!r} is not a time such as 30s, 5m, 2h or 7d",
                                hint="a number with s, m, h, d or w", value=str(text))
    return value
