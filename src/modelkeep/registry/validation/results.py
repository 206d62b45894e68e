"""What a validation found: one result per check, and the report stored with the version."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Final

RECORD_KIND: Final = "validation"  # the version record kind (registry/records.py) of a stored report
# terminal controls, bidirectional overrides and lone surrogates: a model's error message may
# hold them, and a stored report is shown in terminals and carried to remotes, which refuse them
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def safe_text(value: Any) -> Any:
    """``value`` with every string in it (keys too) free of unsafe characters (shown as U+FFFD)."""
    if isinstance(value, str):
        return _UNSAFE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {safe_text(k): safe_text(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [safe_text(v) for v in value]
    return value


@dataclass(frozen=True)
class CheckResult:
    """One check: its kind, what it checked, pass or fail, and the numbers in words.

    ``values`` holds the same numbers for scripts (JSON report, stored record). A check that
    could not run (a metric missing, a loader that crashed) has ``passed`` False and says why.
    """

    kind: str  # required | metric | budget | signature | replay
    name: str
    passed: bool
    detail: str
    values: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "passed": self.passed,
                "detail": self.detail, "values": dict(self.values)}

    def safe(self) -> CheckResult:
        """This result with its texts made safe to show and to carry (``safe_text``)."""
        return replace(self, name=safe_text(self.name), detail=safe_text(self.detail),
                       values=safe_text(self.values))


@dataclass(frozen=True)
class Measurement:
    """What a child process measured for one version (``error`` set when it could not)."""

    ref: str
    error: str | None = None
    load_time_s: float | None = None
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    latency_p99_ms: float | None = None
    peak_memory_mb: float | None = None
    calls: int = 0
    replay: tuple[dict[str, Any], ...] = ()

    def value(self, name: str) -> float | None:
        """A measured figure by its budget/metric name (load_time_s, latency_p95_ms, ...)."""
        found = getattr(self, name, None)
        return found if isinstance(found, float) else None

    def to_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "error": self.error, "load_time_s": self.load_time_s,
                "latency_p50_ms": self.latency_p50_ms, "latency_p95_ms": self.latency_p95_ms,
                "latency_p99_ms": self.latency_p99_ms, "peak_memory_mb": self.peak_memory_mb,
                "calls": self.calls}


@dataclass(frozen=True)
class ValidationReport:
    """A whole validation: the version, the policy (by hash), every check, and the verdict.

    ``passed`` is True only when there was at least one check and every check passed.
    """

    ref: str
    policy: str
    policy_hash: str
    started_at: str
    duration_s: float
    checks: tuple[CheckResult, ...]
    measurements: tuple[Measurement, ...] = ()
    recorded_at: str | None = None  # when it was stored with the version

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    @property
    def failures(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.passed]

    def to_junit(self) -> bytes:
        """The report as JUnit XML (junit.py), the form CI systems read."""
        from modelkeep.registry.validation.junit import junit_xml

        return junit_xml(self)

    def to_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "passed": self.passed, "policy": self.policy,
                "policy_hash": self.policy_hash, "started_at": self.started_at,
                "duration_s": self.duration_s, "recorded_at": self.recorded_at,
                "checks": [c.to_dict() for c in self.checks],
                "measurements": [m.to_dict() for m in self.measurements]}


@dataclass(frozen=True)
class ValidationStatus:
    """The latest stored validation of a version, as the alias protection reads it."""

    ref: str
    passed: bool
    validated_at: str | None
    policy_hash: str | None
    failures: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "passed": self.passed, "validated_at": self.validated_at,
                "policy_hash": self.policy_hash, "failures": list(self.failures)}
