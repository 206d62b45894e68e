"""The checks that read what is recorded: required fields, metric expressions, budgets and
signature compatibility. Each returns a ``CheckResult``; none raises for a missing fact: a
check that cannot be answered fails and says why (validation never passes by default)."""

from __future__ import annotations

from typing import Any

from modelkeep.registry.changes import detect_changes
from modelkeep.registry.validation.expressions import Comparison, Ref
from modelkeep.registry.validation.policy import BUDGETS
from modelkeep.registry.validation.results import CheckResult
from modelkeep.registry.validation.subjects import Subjects, UnresolvedError

MIB = 1 << 20


def _field(meta: dict[str, Any], path: str) -> Any:
    """The value at dotted ``path``; identity fields are written as in a metadata file
    (``description``, ``tags``) though the snapshot keeps them under ``identity``."""
    for root in (meta, meta.get("identity")):
        node: Any = root
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                node = None
                break
            node = node[part]
        if node is not None:
            return node
    return None


def check_required(subjects: Subjects, path: str) -> CheckResult:
    """The metadata field at dotted ``path`` is present and not empty."""
    value = _field(subjects.candidate.metadata, path)
    present = value not in (None, "", [], {})
    shown = _short(value)
    return CheckResult("required", f"required {path}", present,
                       f"{path} = {shown}" if present else f"{path} is missing or empty",
                       {"field": path, "present": present})


def check_metric(subjects: Subjects, expression: Comparison) -> CheckResult:
    """A metric expression holds for the candidate (with the versions it names)."""
    values: dict[str, float] = {}

    def value_of(ref: Ref) -> float:
        values[str(ref)] = subjects.metric(ref.target, ref.metric)
        return values[str(ref)]

    try:
        holds, left, right = expression.evaluate(value_of)
    except UnresolvedError as exc:
        return CheckResult("metric", expression.text, False, str(exc), {"values": values})
    except ZeroDivisionError:
        return CheckResult("metric", expression.text, False, "division by zero",
                           {"values": values})
    named = ", ".join(f"{k} = {_number(v)}" for k, v in values.items())
    detail = f"{_number(left)} {expression.op} {_number(right)}" + (f" ({named})" if named else "")
    if not holds and any(v != v for v in (left, right)):
        detail += ": NaN never passes"
    return CheckResult("metric", expression.text, holds, detail,
                       {"left": left, "op": expression.op, "right": right, "values": values})


def check_budget(subjects: Subjects, key: str, limit: float) -> CheckResult:
    """A resource figure of the candidate stays within its budget (``value <= limit``)."""
    name = f"budget {key} <= {_number(limit)}"
    info = subjects.candidate.info
    if key == "artifact_size_mb":
        value: float | None = info.size / MIB
    else:
        measured = subjects.measured.get(info.ref)
        if measured is None or measured.error:
            why = measured.error if measured else "not run"
            return CheckResult("budget", name, False, f"could not measure: {why}",
                               {"limit": limit})
        value = measured.value(key)
    if value is None:
        why = "the version has no example input to call" if key.startswith("latency") else \
            "not measured"
        return CheckResult("budget", name, False, f"{BUDGETS[key]}: {why}", {"limit": limit})
    passed = value <= limit
    unit = {"s": " s", "ms": " ms", "mb": " MB"}[key.rsplit("_", 1)[1]]
    return CheckResult("budget", name, passed,
                       f"{value:.4g}{unit} {'<=' if passed else '>'} {_number(limit)}{unit}",
                       {"value": value, "limit": limit})


def check_signature(subjects: Subjects, target: str) -> CheckResult:
    """The candidate accepts what ``target`` accepts and returns what it returns (no change
    the SemVer rules call breaking: registry/changes.py decides, as it does for bumps)."""
    name = f"signature compatible with {target}"
    try:
        other = subjects.get(target)
    except UnresolvedError as exc:
        return CheckResult("signature", name, False, str(exc))
    mine = _signature(subjects.candidate.metadata)
    theirs = _signature(other.metadata)
    described = f"{target} ({other.info.ref})"
    if mine is None or theirs is None:
        missing = subjects.candidate.info.ref if mine is None else other.info.ref
        return CheckResult("signature", name, False,
                           f"{missing} has no signature to compare (declare "
                           "technical.signature, or let a loader infer it)")
    changes = detect_changes(other.metadata, subjects.candidate.metadata)
    breaking = changes.reasons_for("major")
    added = [r for r in changes.reasons_for("minor") if r.startswith(("input", "output"))]
    if breaking:
        return CheckResult("signature", name, False,
                           f"breaks callers of {described}: " + "; ".join(breaking),
                           {"breaking": breaking, "added": added})
    detail = f"compatible with {described}" + (f" (adds {'; '.join(added)})" if added else "")
    return CheckResult("signature", name, True, detail, {"breaking": [], "added": added})


def _signature(meta: dict[str, Any]) -> Any:
    signature = _field(meta, "technical.signature")
    if not isinstance(signature, dict) or not (signature.get("inputs") or signature.get("outputs")):
        return None
    return signature


def _number(value: float) -> str:
    return f"{value:.6g}"


def _short(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(str(k) for k, v in value.items() if v not in (None, [], {})) + "}"
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."
