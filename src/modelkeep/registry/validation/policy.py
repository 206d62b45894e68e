"""The policy file: which checks a version must pass (YAML, comments welcome).

Everything is checked when the file is read, before any check runs: an unknown key, a
malformed expression, a budget that is not a positive number, or a policy with no checks at
all is an ``InvalidPolicyError`` naming the file, the line and the problem. A policy with no
checks is refused because validation must never pass by default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelkeep.errors import InvalidPolicyError, did_you_mean
from modelkeep.registry.validation.expressions import Comparison, ExpressionError, parse_expression
from modelkeep.storage.hashing import hash_bytes

MAX_POLICY_BYTES = 1 << 20
# budget key -> what it bounds (the unit is in the name; MB are MiB, 2**20 bytes)
BUDGETS: dict[str, str] = {
    "artifact_size_mb": "size of the version's files",
    "peak_memory_mb": "peak resident memory of a process that loads and calls the version",
    "load_time_s": "time to load the version",
    "latency_p50_ms": "median time of one call on an example input",
    "latency_p95_ms": "95th percentile time of one call on an example input",
    "latency_p99_ms": "99th percentile time of one call on an example input",
}
MEASURED = frozenset(BUDGETS) - {"artifact_size_mb"}  # known only by running the version
TOP_KEYS = ("required", "metrics", "budgets", "signature_compatible_with", "replay", "measure")
REPLAY_KEYS = ("file", "against", "tolerance", "min_agreement", "max_errors")
MEASURE_KEYS = ("runs", "warmup", "timeout_s", "memory_limit_mb")


@dataclass(frozen=True)
class ReplaySpec:
    """Recorded requests (JSON lines) run through the candidate and ``against`` side by side."""

    file: Path
    against: str = "production"
    tolerance: float = 1e-6
    min_agreement: float = 1.0
    max_errors: int = 0


@dataclass(frozen=True)
class MeasureSpec:
    """How the child process measures: calls per example input, and its limits."""

    runs: int = 50
    warmup: int = 3
    timeout_s: float = 120.0
    memory_limit_mb: int = 4096


@dataclass(frozen=True)
class Policy:
    """A parsed policy; ``hash`` (BLAKE3 of the file's bytes) is stored with each result."""

    source: str
    hash: str
    required: tuple[str, ...] = ()
    metrics: tuple[Comparison, ...] = ()
    budgets: tuple[tuple[str, float], ...] = ()
    signature_compatible_with: str | None = None
    replay: ReplaySpec | None = None
    measure: MeasureSpec = field(default_factory=MeasureSpec)

    @property
    def check_count(self) -> int:
        return (len(self.required) + len(self.metrics) + len(self.budgets)
                + (self.signature_compatible_with is not None) + (self.replay is not None))

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source, "hash": self.hash, "required": list(self.required),
            "metrics": [m.text for m in self.metrics], "budgets": dict(self.budgets),
            "signature_compatible_with": self.signature_compatible_with,
            "replay": None if self.replay is None else {
                "file": str(self.replay.file), "against": self.replay.against,
                "tolerance": self.replay.tolerance, "min_agreement": self.replay.min_agreement,
                "max_errors": self.replay.max_errors},
            "measure": vars(self.measure).copy(),
        }


def load_policy(path: Path) -> Policy:
    """Read and check a policy file (relative paths in it are relative to its folder)."""
    if path.exists() and not path.is_file():  # a folder, a FIFO, /dev/zero: never read
        raise InvalidPolicyError(f"policy {path} is not a regular file", path=str(path))
    try:
        with path.open("rb") as f:
            data = f.read(MAX_POLICY_BYTES + 1)
    except OSError as exc:
        raise InvalidPolicyError(f"cannot read policy {path}: {exc.strerror or exc}",
                                 path=str(path)) from None
    if len(data) > MAX_POLICY_BYTES:
        raise InvalidPolicyError(f"policy {path} is larger than {MAX_POLICY_BYTES} bytes",
                                 path=str(path))
    return parse_policy(data, source=str(path), base=path.parent)


def parse_policy(data: bytes, *, source: str = "policy", base: Path = Path(".")) -> Policy:
    """A Policy from YAML bytes; every problem is one InvalidPolicyError line."""
    doc = _load_yaml(data, source)
    reader = _Reader(source, doc)
    if not isinstance(doc, dict):
        raise reader.error("must be a mapping of check kinds (required, metrics, budgets, ...)")
    reader.known_keys(doc, TOP_KEYS, "policy")
    required = tuple(reader.strings(doc, "required"))
    metrics = tuple(reader.expression(text, i) for i, text in
                    enumerate(reader.strings(doc, "metrics")))
    budgets = reader.mapping(doc, "budgets", BUDGETS)
    budget_values = tuple((k, reader.number(budgets, k, f"budgets.{k}")) for k in budgets)
    against = doc.get("signature_compatible_with")
    if against is not None and not (isinstance(against, str) and against.strip()):
        raise reader.error("signature_compatible_with must be an alias or @VERSION", doc,
                           "signature_compatible_with")
    policy = Policy(source=source, hash=hash_bytes(data), required=required, metrics=metrics,
                    budgets=budget_values, signature_compatible_with=against,
                    replay=_replay(reader, doc, base), measure=_measure(reader, doc))
    if policy.check_count == 0:
        raise reader.error("defines no checks, and validation never passes by default: "
                           "add required, metrics, budgets, signature_compatible_with or replay")
    return policy


def _replay(reader: _Reader, doc: dict[str, Any], base: Path) -> ReplaySpec | None:
    spec = reader.mapping(doc, "replay", REPLAY_KEYS)
    if "replay" not in doc:
        return None
    file = spec.get("file")
    if not isinstance(file, str) or not file:
        raise reader.error("replay.file must name a JSON-lines file of recorded requests",
                           doc, "replay")
    against = spec.get("against", "production")
    if not isinstance(against, str) or not against:
        raise reader.error("replay.against must be an alias or @VERSION", spec, "against")
    share = reader.number(spec, "min_agreement", "replay.min_agreement", default=1.0, zero=True)
    if share > 1:
        raise reader.error("replay.min_agreement is a share of requests, from 0 to 1", spec,
                           "min_agreement")
    return ReplaySpec(file=base / file, against=against,
                      tolerance=reader.number(spec, "tolerance", "replay.tolerance",
                                              default=1e-6, zero=True),
                      min_agreement=share,
                      max_errors=int(reader.number(spec, "max_errors", "replay.max_errors",
                                                   default=0, zero=True, integer=True)))


def _measure(reader: _Reader, doc: dict[str, Any]) -> MeasureSpec:
    spec = reader.mapping(doc, "measure", MEASURE_KEYS)
    default = MeasureSpec()
    return MeasureSpec(
        runs=int(reader.number(spec, "runs", "measure.runs", default=default.runs, integer=True)),
        warmup=int(reader.number(spec, "warmup", "measure.warmup", default=default.warmup,
                                 zero=True, integer=True)),
        timeout_s=reader.number(spec, "timeout_s", "measure.timeout_s", default=default.timeout_s),
        memory_limit_mb=int(reader.number(spec, "memory_limit_mb", "measure.memory_limit_mb",
                                          default=default.memory_limit_mb, integer=True)))


def _load_yaml(data: bytes, source: str) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    from modelkeep.schema.yamllimits import LimitedComposer

    yaml = YAML(typ="rt", pure=True)
    yaml.Composer = LimitedComposer
    try:
        return yaml.load(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise InvalidPolicyError(f"{source}: the policy is not UTF-8 text", path=source) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = " ".join(", ".join(str(p) for p in (exc.context, exc.problem) if p).split())
        raise InvalidPolicyError(f"{source}: not valid YAML: {problem}{where}",
                                 path=source) from None
    except (YAMLError, RecursionError, ValueError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        raise InvalidPolicyError(f"{source}: not valid YAML: {message}", path=source) from None


class _Reader:
    """Typed access to the YAML document, with errors that name the file and the line."""

    def __init__(self, source: str, doc: Any) -> None:
        self.source = source
        self.doc = doc

    def error(self, problem: str, node: Any = None, key: Any = None) -> InvalidPolicyError:
        line = _line(node, key)
        where = f" line {line}" if line else ""
        return InvalidPolicyError(f"{self.source}{where}: {problem}", path=self.source)

    def known_keys(self, node: dict[str, Any], allowed: tuple[str, ...], what: str) -> None:
        for key in node:
            if key not in allowed:
                near = did_you_mean(str(key), allowed)
                raise self.error(f"unknown {what} key {key!r}" + (f"; {near}" if near else
                                 f" (known: {', '.join(allowed)})"), node, key)

    def strings(self, node: dict[str, Any], key: str) -> list[str]:
        value = node.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.error(f"{key} must be a list of strings", node, key)
        return [str(v) for v in value]

    def mapping(self, node: dict[str, Any], key: str, allowed: Any) -> dict[str, Any]:
        value = node.get(key, {})
        if not isinstance(value, dict):
            raise self.error(f"{key} must be a mapping", node, key)
        self.known_keys(value, tuple(allowed), key)
        return value

    def number(self, node: dict[str, Any], key: str, what: str, *, default: float | None = None,
               zero: bool = False, integer: bool = False) -> float:
        value: Any = node.get(key, default)
        ok = isinstance(value, int | float) and not isinstance(value, bool) and value == value
        if not ok or value < 0 or (value == 0 and not zero) or (integer and value != int(value)):
            kind = "a whole number" if integer else "a number"
            raise self.error(f"{what} must be {kind} {'>= 0' if zero else '> 0'}, got {value!r}",
                             node, key)
        return float(value)

    def expression(self, text: str, index: int) -> Comparison:
        try:
            return parse_expression(text)
        except ExpressionError as exc:
            raise self.error(f"metrics[{index}] {text!r}: {exc}", self.doc.get("metrics"),
                             index) from None


def _line(node: Any, key: Any) -> int | None:
    """The 1-based line of ``key`` in a ruamel round-trip ``node``, when ruamel knows it."""
    try:
        if isinstance(key, int):
            return int(node.lc.item(key)[0]) + 1
        if key is not None:
            return int(node.lc.key(key)[0]) + 1
        return int(node.lc.line) + 1
    except (AttributeError, KeyError, IndexError, TypeError):
        return None
