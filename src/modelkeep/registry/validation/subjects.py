"""The versions a validation reads: the candidate and those its policy compares it with.

A reference in a policy is ``None`` (the candidate), an alias of the same model
(``production``, ``latest``) or ``@VERSION``. Each is resolved once, and its metrics are the
registered snapshot's overlaid with metrics appended later (latest wins), overlaid in turn with
what this validation measured by running it (fresher, and on this machine).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modelkeep.db.database import Database
from modelkeep.errors import ModelkeepError
from modelkeep.registry.records import list_records
from modelkeep.registry.refs import Ref, parse_ref
from modelkeep.registry.snapshot import metrics_of
from modelkeep.registry.validation.policy import MEASURED
from modelkeep.registry.validation.results import Measurement
from modelkeep.registry.versions import VersionInfo, resolve, version_metadata


class UnresolvedError(Exception):
    """A policy reference that cannot be answered; the check that needed it fails with this."""


@dataclass(frozen=True)
class Subject:
    """One version as a check sees it."""

    info: VersionInfo
    metadata: dict[str, Any]
    stored_metrics: dict[str, float]


class Subjects:
    """Resolves policy references against one candidate, caching what it reads."""

    def __init__(self, db: Database, candidate: VersionInfo) -> None:
        self.db = db
        self.candidate = self._subject(candidate)
        self._by_target: dict[str | None, Subject | UnresolvedError] = {None: self.candidate}
        self.measured: dict[str, Measurement] = {}  # ref -> what its child process measured

    def _subject(self, info: VersionInfo) -> Subject:
        meta = version_metadata(self.db, info.id)
        appended = {r.key: float(r.value) for r in list_records(self.db, info.id)
                    if r.kind == "metric"}
        return Subject(info, meta, {**metrics_of(meta), **appended})

    def get(self, target: str | None) -> Subject:
        """The version ``target`` names; UnresolvedError (with the reason) when there is none."""
        if target not in self._by_target:
            try:
                self._by_target[target] = self._subject(resolve(self.db, self.ref(target)))
            except ModelkeepError as exc:
                self._by_target[target] = UnresolvedError(exc.message)
        found = self._by_target[target]
        if isinstance(found, UnresolvedError):
            raise found
        return found

    def ref(self, target: str | None) -> Ref:
        """``target`` as a reference to a version of the candidate's model."""
        name = self.candidate.info.name
        if target is None:
            return Ref(name, self.candidate.info.version)
        return parse_ref(f"{name}@{target.removeprefix('@')}")

    def describe(self, target: str | None) -> str:
        """``production (m@1.0.0)`` when resolvable, else the target as written."""
        try:
            subject = self.get(target)
        except UnresolvedError:
            return str(target)
        return subject.info.ref if target is None else f"{target} ({subject.info.ref})"

    def metric(self, target: str | None, name: str) -> float:
        """A metric of the version ``target`` names: measured now, else stored."""
        subject = self.get(target)
        measured = self.measured.get(subject.info.ref)
        if measured is not None and measured.value(name) is not None:
            return measured.value(name)  # type: ignore[return-value]
        if name in subject.stored_metrics:
            return subject.stored_metrics[name]
        if measured is not None and measured.error and name in MEASURED:
            raise UnresolvedError(f"{subject.info.ref} could not be measured: {measured.error}")
        known = ", ".join(sorted(subject.stored_metrics)) or "none"
        raise UnresolvedError(f"{subject.info.ref} has no metric '{name}' (its metrics: {known})")

