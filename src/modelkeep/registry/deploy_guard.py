"""Only validated versions are deployed: the latest stored validation of the version must have
passed (``modelkeep validate``), as for a protected alias. ``--force`` deploys anyway, but only
with a reason, which the deployment history keeps with the ``[forced]`` prefix, so the
exception is on record where ``deploy history`` replays what served when.
"""

from __future__ import annotations

from modelkeep.db.database import Database
from modelkeep.errors import InvalidInputError, ValidationRequiredError
from modelkeep.registry.validation.protection import FORCED_PREFIX, unvalidated_because
from modelkeep.registry.versions import VersionInfo


def deploy_reason(db: Database, info: VersionInfo, *, force: bool, reason: str) -> str:
    """The reason to record for deploying ``info``; ``ValidationRequiredError`` when its latest
    validation is missing or failed and ``force`` is not given (``force`` needs a reason)."""
    if reason.lstrip().startswith(FORCED_PREFIX.strip()):
        raise InvalidInputError(f"a reason may not start with {FORCED_PREFIX.strip()!r}: "
                                "modelkeep writes it for --force deploys",
                                hint="write the reason without it", name=info.name)
    if force:
        if not reason.strip():
            raise InvalidInputError(
                f"--force on deploy {info.ref} needs a --reason (it is kept in the history)",
                hint=f"modelkeep deploy {info.ref} --force --reason 'why it cannot wait for a "
                "validation'", name=info.name)
        return FORCED_PREFIX + reason.strip()
    why = unvalidated_because(db, info)
    if why is None:
        return reason
    raise ValidationRequiredError(
        f"cannot deploy {info.ref}: it {why}",
        hint=f"modelkeep validate {info.ref} --policy POLICY, or deploy it anyway with "
        "--force --reason TEXT", name=info.name, version=info.version)
