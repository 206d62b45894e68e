"""Staging replay: recorded requests run through the candidate and another version (usually
``production``) side by side; the check compares errors, latency and the share of requests
whose outputs agree (exactly, or within the tolerance for numbers).

The requests file has one JSON object per line with the request under ``"input"`` (other keys,
such as a recorded ``"output"`` or an ``"id"``, are ignored). It is read and checked here, in
the parent, before any child runs: a bad line is an error naming the file and the line.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from modelkeep.errors import InvalidPolicyError
from modelkeep.registry.validation.policy import ReplaySpec
from modelkeep.registry.validation.results import CheckResult, Measurement
from modelkeep.registry.validation.runner import percentile

MAX_REQUESTS = 1_000_000
MAX_BYTES = 512 << 20  # both versions' answers to every request are held in memory


def check_requests_file(path: Path) -> int:
    """The number of requests in ``path``; InvalidPolicyError for a missing file or bad line."""
    count = 0
    if path.exists() and (not path.is_file() or path.stat().st_size > MAX_BYTES):
        raise InvalidPolicyError(f"replay file {path} is not a regular file of at most "
                                 f"{MAX_BYTES >> 20} MiB", path=str(path))
    try:
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise _bad(path, number, f"not JSON ({exc.msg})") from None
                if not isinstance(record, dict) or "input" not in record:
                    raise _bad(path, number, 'each line must be an object with an "input"')
                count += 1
                if count > MAX_REQUESTS:
                    raise _bad(path, number, f"more than {MAX_REQUESTS} requests")
    except OSError as exc:
        raise InvalidPolicyError(f"cannot read replay file {path}: {exc.strerror or exc}",
                                 path=str(path)) from None
    except UnicodeDecodeError:
        raise InvalidPolicyError(f"replay file {path} is not UTF-8 text", path=str(path)) from None
    if count == 0:
        raise InvalidPolicyError(f"replay file {path} holds no requests", path=str(path))
    return count


def _bad(path: Path, line: int, problem: str) -> InvalidPolicyError:
    return InvalidPolicyError(f"replay file {path} line {line}: {problem}", path=str(path))


def agree(a: Any, b: Any, tolerance: float) -> bool:
    """Outputs agree: equal, with numbers compared within ``tolerance`` (relative or absolute),
    element by element in lists and key by key in objects."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=tolerance, abs_tol=tolerance)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(agree(x, y, tolerance) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(agree(a[k], b[k], tolerance) for k in a)
    return bool(a == b)


def check_replay(spec: ReplaySpec, candidate: Measurement, baseline: Measurement | None,
                 baseline_name: str) -> CheckResult:
    """The replay check: the candidate made at most ``max_errors`` errors, and at least
    ``min_agreement`` of the requests got the same answer from both versions."""
    name = f"replay {spec.file.name} against {spec.against}"
    if baseline is None:
        return CheckResult("replay", name, False, f"cannot replay against {baseline_name}")
    for side in (candidate, baseline):
        if side.error:
            return CheckResult("replay", name, False, f"{side.ref} could not run: {side.error}")
    mine, theirs = candidate.replay, baseline.replay
    total = len(mine)
    errors = sum(1 for a in mine if "error" in a)
    their_errors = sum(1 for b in theirs if "error" in b)
    agreed = sum(1 for a, b in zip(mine, theirs, strict=False)
                 if "error" not in a and "error" not in b
                 and agree(a["output"], b["output"], spec.tolerance))
    share = agreed / total if total else 0.0
    values = {"requests": total, "errors": errors, "baseline_errors": their_errors,
              "agreement": share, "latency_p95_ms": _p95(mine), "baseline_latency_p95_ms":
              _p95(theirs), "min_agreement": spec.min_agreement, "max_errors": spec.max_errors}
    passed = total > 0 and total == len(theirs) and errors <= spec.max_errors \
        and share >= spec.min_agreement
    first_error = next((a["error"] for a in mine if "error" in a), None)
    detail = (f"{total} requests: {share:.2%} agree (min {spec.min_agreement:.2%}), "
              f"{errors} errors (max {spec.max_errors}; {baseline_name}: {their_errors}), "
              f"p95 {values['latency_p95_ms']:.3g} ms vs {values['baseline_latency_p95_ms']:.3g} ms")
    if first_error and errors > spec.max_errors:
        detail += f"; first error: {first_error}"
    return CheckResult("replay", name, passed, detail, values)


def _p95(answers: tuple[dict[str, Any], ...]) -> float:
    timings = sorted(float(a.get("ms", 0.0)) for a in answers)
    return percentile(timings, 0.95) if timings else math.nan
