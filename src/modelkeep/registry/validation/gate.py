"""Validate one version against a policy, and store the verdict with the version.

The order: check the replay file (bad input stops everything, nothing is stored), run the
versions that must run (the candidate when a budget, an expression or the replay needs it; any
version an expression or the replay compares it with) in child processes side by side, then
answer every check. The report is appended to the version as a dated ``validation`` record
with the policy's hash, so ``alias set`` on a protected alias, ``show`` and every remote (push
carries records) can see it.
"""

from __future__ import annotations

import time
from pathlib import Path

from modelkeep.clock import now_iso
from modelkeep.db.database import Database
from modelkeep.registry.records import insert_record
from modelkeep.registry.validation.checks import (
    check_budget,
    check_metric,
    check_required,
    check_signature,
)
from modelkeep.registry.validation.measure import Job, measure_versions
from modelkeep.registry.validation.policy import MEASURED, Policy
from modelkeep.registry.validation.replay import check_replay, check_requests_file
from modelkeep.registry.validation.results import (
    RECORD_KIND,
    CheckResult,
    Measurement,
    ValidationReport,
    safe_text,
)
from modelkeep.registry.validation.subjects import Subjects, UnresolvedError
from modelkeep.registry.versions import VersionInfo


def validate_version(db: Database, root: Path, database_url: str, info: VersionInfo,
                     policy: Policy, *, author: str, store_result: bool = True
                     ) -> ValidationReport:
    """Run every check of ``policy`` on ``info``; store the report unless ``store_result``
    is False. Failed checks are in the report, never raised."""
    started, clock = now_iso(), time.perf_counter()
    if policy.replay is not None:
        check_requests_file(policy.replay.file)
    subjects = Subjects(db, info)
    jobs = _jobs(subjects, policy)
    subjects.measured.update(measure_versions(root, database_url, jobs, policy.measure))
    checks = [check_required(subjects, path) for path in policy.required]
    checks += [check_metric(subjects, expression) for expression in policy.metrics]
    checks += [check_budget(subjects, key, limit) for key, limit in policy.budgets]
    if policy.signature_compatible_with is not None:
        checks.append(check_signature(subjects, policy.signature_compatible_with))
    if policy.replay is not None:
        checks.append(_replay_check(subjects, policy))
    report = ValidationReport(
        ref=info.ref, policy=safe_text(policy.source), policy_hash=policy.hash,
        started_at=started, duration_s=time.perf_counter() - clock,
        checks=tuple(check.safe() for check in checks),
        measurements=tuple(subjects.measured.values()))
    if store_result:
        report = _store(db, info, report, author)
    return report


def _jobs(subjects: Subjects, policy: Policy) -> list[Job]:
    """The versions to run, each once: measured, replayed, or both."""
    measure: set[str | None] = set()
    if any(key in MEASURED for key, _ in policy.budgets):
        measure.add(None)
    for expression in policy.metrics:
        measure.update(ref.target for ref in expression.refs() if ref.metric in MEASURED)
    replay: set[str | None] = set()
    if policy.replay is not None and _resolves(subjects, policy.replay.against):
        replay = {None, policy.replay.against}  # without a baseline the check fails unrun
    jobs: dict[str, Job] = {}
    for target in sorted(measure | replay, key=lambda t: (t is not None, t or "")):
        try:
            ref = subjects.get(target).info.ref
        except UnresolvedError:
            continue  # the checks that name it fail and say why
        previous = jobs.get(ref, Job(ref, measure=False))
        jobs[ref] = Job(ref, measure=previous.measure or target in measure,
                        replay_file=policy.replay.file if target in replay and policy.replay
                        else previous.replay_file)
    return list(jobs.values())


def _resolves(subjects: Subjects, target: str) -> bool:
    try:
        subjects.get(target)
    except UnresolvedError:
        return False
    return True


def _replay_check(subjects: Subjects, policy: Policy) -> CheckResult:
    assert policy.replay is not None
    spec = policy.replay
    candidate = subjects.measured.get(subjects.candidate.info.ref, Measurement(
        subjects.candidate.info.ref, error="not run"))
    try:
        baseline = subjects.measured.get(subjects.get(spec.against).info.ref)
        name = subjects.describe(spec.against)
    except UnresolvedError as exc:
        baseline, name = None, f"{spec.against}: {exc}"
    return check_replay(spec, candidate, baseline, name)


def _store(db: Database, info: VersionInfo, report: ValidationReport, author: str
           ) -> ValidationReport:
    recorded = now_iso()
    stored = ValidationReport(**{**report.__dict__, "recorded_at": recorded})
    with db.write():
        insert_record(db, info.id, RECORD_KIND, report.policy_hash, stored.to_dict(), author,
                      recorded)
    return stored

