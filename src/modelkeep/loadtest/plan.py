"""What a load test sends: the target, the pattern of requests per second over time, and the
requests themselves (one generated request, or the recorded ones of a replay file).

Patterns, as requests per second at time ``t`` of a test lasting ``D`` seconds at ``--rps N``:

    constant   N throughout
    ramp       from N/10 up to N, linearly, over D
    spike      N/4, then N for the middle fifth of D (40%..60%), then N/4 again
    replay     the file's requests in order: at their ``offset`` (seconds from the start)
               when the records have one, else at N per second
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from modelkeep.errors import InvalidInputError

PATTERNS = ("constant", "ramp", "spike", "replay")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
MAX_REPLAY_RECORDS = 1_000_000
MAX_REPLAY_BYTES = 256 * 2**20  # read whole and checked before anything is sent
MAX_RPS = 1_000_000.0


@dataclass(frozen=True)
class Request:
    """One request to send: method, path (with query), JSON body or None, and the offset in
    seconds from the start at which a replay sends it (None: paced by the rate)."""

    method: str = "GET"
    path: str = "/"
    body: Any = None
    offset: float | None = None


@dataclass(frozen=True)
class LoadPlan:
    """A whole load test: where, how fast, for how long, from how many processes."""

    url: str
    pattern: str
    rps: float
    duration: float
    processes: int = 1
    users: int = 0  # concurrent Locust users per process (0: enough for the rate)
    requests: tuple[Request, ...] = (Request(),)
    track_header: str = ""  # a response header whose value is recorded per response (drills)

    @property
    def host(self) -> str:
        """``scheme://host:port`` of the URL (Locust's host)."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    def rate_at(self, t: float) -> float:
        """Requests per second the pattern asks for at ``t`` seconds from the start."""
        return rate_at(self.pattern, self.rps, self.duration, t)

    def users_per_process(self) -> int:
        """Concurrent users each process runs: ``users``, else one per 20 rps of the peak
        rate (each user then waits at most ~50 ms per answer without falling behind)."""
        if self.users:
            return self.users
        return max(2, min(512, math.ceil(self.rps / self.processes / 20) + 1))

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "requests": [asdict(r) for r in self.requests]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoadPlan:
        """The inverse of ``to_dict`` (how a worker process receives its plan)."""
        return cls(**{**data, "requests": tuple(Request(**r) for r in data["requests"])})


def rate_at(pattern: str, rps: float, duration: float, t: float) -> float:
    """The requests per second of ``pattern`` at ``t`` (see the module docstring)."""
    if pattern == "ramp":
        return rps / 10 + (rps - rps / 10) * min(1.0, max(0.0, t / duration))
    if pattern == "spike":
        return rps if 0.4 * duration <= t < 0.6 * duration else rps / 4
    return rps


def check_target(url: str) -> str:
    """``url`` if it is an http(s) URL with a host, else a one-line error."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInputError(f"'{url}' is not an http(s) URL",
                                hint="e.g. modelkeep loadtest http://127.0.0.1:8080/healthz",
                                url=url)
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise InvalidInputError(f"'{url}' has a port that is not a number",
                                hint="e.g. http://127.0.0.1:8080/", url=url) from None
    return url


def check_rate(rps: float, duration: float, processes: int) -> None:
    """Rate, duration and process count that make sense, else a one-line error."""
    if not (math.isfinite(rps) and 0 < rps <= MAX_RPS):
        raise InvalidInputError(f"--rps {rps:g} is not a rate above 0 (at most {MAX_RPS:g})",
                                hint="e.g. --rps 100")
    if not (math.isfinite(duration) and duration > 0):
        raise InvalidInputError(f"--duration {duration:g} s is not a time above 0",
                                hint="e.g. --duration 30s")
    if not 1 <= processes <= 64:
        raise InvalidInputError(f"--processes {processes} is not in 1..64", hint="e.g. --processes 2")


def _record(line: str, number: int, where: str) -> Request:
    def bad(why: str) -> InvalidInputError:
        return InvalidInputError(f"{where} line {number}: {why}",
                                 hint='each line: {"method": "POST", "path": "/p", "body": {...}, '
                                      '"offset": 0.5} (docs/loadtest.md)', line=number)

    try:
        data = json.loads(line)
    except ValueError as exc:
        raise bad(f"not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise bad("not a JSON object")
    unknown = set(data) - {"method", "path", "body", "offset"}
    if unknown:
        raise bad(f"unknown field(s) {', '.join(sorted(unknown))}")
    method = data.get("method", "GET")
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise bad(f"method {method!r} is not one of {', '.join(METHODS)}")
    path = data.get("path", "/")
    # a path only: a record may never send the load to another host
    if not isinstance(path, str) or not path.startswith("/") or path.startswith("//") \
            or any(c in path for c in "\r\n\t ") or len(path) > 8192:
        raise bad(f"path {str(path)[:80]!r} is not an absolute path such as /v1/models")
    offset = data.get("offset")
    if offset is not None and (isinstance(offset, bool) or not isinstance(offset, int | float)
                               or not math.isfinite(offset) or offset < 0):
        raise bad(f"offset {offset!r} is not a number of seconds >= 0")
    return Request(method.upper(), path, data.get("body"),
                   None if offset is None else float(offset))


def read_replay(path: Path) -> tuple[Request, ...]:
    """The requests of a JSONL replay file, checked whole before anything is sent."""
    where = str(path)
    try:
        if path.stat().st_size > MAX_REPLAY_BYTES:
            raise InvalidInputError(f"replay file {where} is over {MAX_REPLAY_BYTES >> 20} MiB",
                                    hint="split it", path=where)
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInputError(f"replay file {where} does not exist",
                                hint="record one request per line (docs/loadtest.md)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read replay file {where}: {exc}",
                                hint="a UTF-8 JSONL file, one request per line") from None
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    if not lines:
        raise InvalidInputError(f"replay file {where} holds no requests",
                                hint="record one request per line (docs/loadtest.md)")
    if len(lines) > MAX_REPLAY_RECORDS:
        raise InvalidInputError(f"replay file {where} holds {len(lines)} requests, over "
                                f"{MAX_REPLAY_RECORDS}", hint="split it")
    records = tuple(_record(line, n, where) for n, line in lines)
    timed = [r.offset is not None for r in records]
    if any(timed) and not all(timed):
        raise InvalidInputError(f"replay file {where}: some records have an offset and some "
                                "do not", hint="give every record an offset, or none")
    return records


def replay_duration(requests: tuple[Request, ...], rps: float) -> float:
    """How long a replay lasts: to its last offset, or its length at ``rps``."""
    offsets = [r.offset for r in requests if r.offset is not None]
    return (max(offsets) if offsets else len(requests) / rps) + 0.5


@dataclass(frozen=True)
class TargetUrl:
    """The URL split as the generated load uses it: the path (with query) every request asks."""

    host: str
    path: str = field(default="/")

    @classmethod
    def of(cls, url: str) -> TargetUrl:
        parts = urlsplit(check_target(url))
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return cls(f"{parts.scheme}://{parts.netloc}", path)


def build_plan(url: str, pattern: str, *, rps: float, duration: float | None = None,
               processes: int = 1, users: int = 0, replay: Path | None = None,
               method: str = "GET", body: Any = None, track_header: str = "") -> LoadPlan:
    """A checked ``LoadPlan`` from command-line values; nothing is sent by a bad one."""
    from modelkeep.errors import did_you_mean

    target = TargetUrl.of(url)
    if pattern not in PATTERNS:
        near = did_you_mean(pattern, PATTERNS)
        raise InvalidInputError(f"unknown pattern '{pattern}'" + (f"; {near}" if near else ""),
                                hint=f"--pattern {'|'.join(PATTERNS)}", pattern=pattern)
    if (pattern == "replay") != (replay is not None):
        raise InvalidInputError("a replay file goes with --pattern replay, and only with it",
                                hint="modelkeep loadtest URL --pattern replay FILE.jsonl")
    check_rate(rps, 1.0 if duration is None else duration, processes)
    if pattern == "replay":
        assert replay is not None
        requests = read_replay(replay)
        duration = duration if duration is not None else replay_duration(requests, rps)
    else:
        if method.upper() not in METHODS:
            raise InvalidInputError(f"--method {method!r} is not one of {', '.join(METHODS)}",
                                    hint="e.g. --method POST")
        requests = (Request(method.upper(), target.path, body),)
        duration = 10.0 if duration is None else duration
    check_rate(rps, duration, processes)
    return LoadPlan(url=url, pattern=pattern, rps=rps, duration=duration, processes=processes,
                    users=users, requests=requests, track_header=track_header)
