"""Protected aliases: ``production`` (by default) may only point at a validated version.

The latest stored validation of the target must have passed; a later failing validation
overrides an earlier pass. ``--force`` skips the check, but only with a reason, and the move
says so in the alias history (its reason starts with ``[forced]``), so the exception is on
record wherever the history goes (push, pull).
"""

from __future__ import annotations

from typing import Any

from modelkeep.db.database import Database
from modelkeep.errors import InvalidInputError, ValidationRequiredError
from modelkeep.registry.records import list_records
from modelkeep.registry.validation.results import RECORD_KIND, ValidationStatus
from modelkeep.registry.versions import VersionInfo

FORCED_PREFIX = "[forced] "


def latest_validation(db: Database, info: VersionInfo) -> ValidationStatus | None:
    """The newest stored validation of a version (None: never validated)."""
    found = [r for r in list_records(db, info.id) if r.kind == RECORD_KIND]
    if not found:
        return None
    value = found[-1].value if isinstance(found[-1].value, dict) else {}
    checks: list[Any] = value["checks"] if isinstance(value.get("checks"), list) else []
    failures = tuple(str(c.get("name")) for c in checks
                     if not (isinstance(c, dict) and c.get("passed") is True))
    passed = value.get("passed") is True and bool(checks) and not failures
    return ValidationStatus(info.ref, passed, found[-1].created_at,
                            str(value.get("policy_hash") or "") or None, failures)


def guarded_reason(db: Database, target: VersionInfo, alias: str, *, protected: bool,
                   force: bool, reason: str) -> str:
    """The reason to record for moving ``alias`` to ``target``; ValidationRequiredError when
    the alias is protected and the target's latest validation did not pass (unless forced,
    which needs a reason)."""
    if force and not reason.strip():
        raise InvalidInputError(
            f"--force on {target.name}@{alias} needs a --reason (it is kept in the history)",
            hint=f"modelkeep alias set {target.name} {alias} {target.version} --force "
            "--reason 'why it cannot wait for a validation'", alias=alias)
    if reason.lstrip().startswith(FORCED_PREFIX.strip()):
        raise InvalidInputError(
            f"a reason may not start with {FORCED_PREFIX.strip()!r}: modelkeep writes it for "
            "--force moves", hint="write the reason without it", alias=alias)
    if not protected:
        return reason
    if force:
        return FORCED_PREFIX + reason.strip()
    why = unvalidated_because(db, target)
    if why is None:
        return reason
    raise ValidationRequiredError(
        f"{target.name}@{alias} is protected: {target.ref} {why}",
        hint=f"modelkeep validate {target.ref} --policy POLICY, or move it anyway with "
        "--force --reason TEXT", name=target.name, alias=alias, version=target.version)


def unvalidated_because(db: Database, info: VersionInfo) -> str | None:
    """Why ``info`` does not count as validated ("has never been validated", "failed its latest
    validation (...)"); None when its latest validation passed. Protected aliases and deploys
    both ask it."""
    status = latest_validation(db, info)
    if status is not None and status.passed:
        return None
    return ("has never been validated" if status is None else
            f"failed its latest validation ({status.validated_at}: "
            f"{', '.join(status.failures) or 'no checks'})")
