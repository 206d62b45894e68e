"""What this gateway's A/B/n arms did: requests, errors, latency and feedback, per arm.

On the request path the gateway asks ``arm_of`` whether an A/B arm answers (a ``Trial``: the
model, the test's seed, the arm and whether the request carried the ``--by`` key), counts the
answer and remembers the request id, so that feedback for it later (labels judged against the
outputs, named outcome values) is added to the same arm. About once a second ``flush`` hands
the sums to the keep (``registry/ab_tally.py``), which adds up every gateway's.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.requests import Request

from modelkeep.errors import InvalidInputError, ModelkeepError, UpstreamTimeoutError
from modelkeep.registry.ab_tally import ArmTally, Moments, SeenUser, TallyKey
from modelkeep.registry.feedback import Feedback
from modelkeep.registry.rollout import Deployment
from modelkeep.registry.serving import BUCKETS, VersionStats, bucket_of

from .routing import Route, request_key

RECENT = 100_000  # answers remembered for feedback, as in feedback.py
MAX_OUTCOMES = 32
MAX_USERS = 1_000_000  # users remembered per gateway; beyond, new ones are no longer counted
_OUTCOME_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class Trial:
    """One request answered by an arm of a running A/B/n test."""

    model: str
    test: str
    arm: str
    keyed: bool
    since: str = ""  # when the split took effect (the sample-ratio check counts users since)
    user: str | None = None  # a keyed hash of the --by key (never the key itself)


def arm_of(deployment: Deployment | None, chosen: Route, request: Request,
           request_id: str) -> Trial | None:
    """The A/B arm that answers (None: no test runs, or the stable version stood in)."""
    rollout = deployment.active_rollout if deployment is not None else None
    if rollout is None or rollout.phase != "ab" or chosen.arm not in dict(rollout.arms):
        return None
    key, keyed = request_key(rollout.by, request.headers, request_id, request.query_params)
    user = None
    if rollout.by and keyed:
        user = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=12,
                               key=f"{rollout.seed}:user".encode()).hexdigest()
    return Trial(deployment.model if deployment else "", rollout.seed, chosen.arm,
                 keyed or rollout.by is None, deployment.step_started if deployment else "", user)


def check_outcome(value: Any) -> dict[str, float]:
    """A feedback ``outcome``: ``{name: finite number}``, at most ``MAX_OUTCOMES`` names."""
    if value is None:
        return {}
    hint = 'e.g. {"request_id": ID, "outcome": {"revenue": 12.5, "clicked": 1}}'
    if not isinstance(value, dict) or not 0 < len(value) <= MAX_OUTCOMES:
        raise InvalidInputError(f'"outcome" is an object of 1 to {MAX_OUTCOMES} named numbers',
                                hint=hint)
    for name, number in value.items():
        if not _OUTCOME_NAME.fullmatch(name):
            raise InvalidInputError(f"outcome name {name[:80]!r} is not a name (letters, "
                                    "digits, '_', '.', '-'; at most 64)", hint=hint)
        if isinstance(number, bool) or not isinstance(number, int | float) \
                or not math.isfinite(number):
            raise InvalidInputError(f"outcome {name!r} must be a finite number, not "
                                    f"{str(number)[:80]!r}", hint=hint)
    return {name: float(number) for name, number in value.items()}


class _Counts:
    """One arm's mutable sums (a lock is held by the caller)."""

    def __init__(self) -> None:
        self.requests = self.errors = self.timeouts = self.judged = self.correct = 0
        self.latency = [0] * BUCKETS
        self.latency_ms = Moments()
        self.outcomes: dict[str, Moments] = {}

    def frozen(self) -> ArmTally:
        return ArmTally(VersionStats(self.requests, self.errors, self.timeouts,
                                     tuple(self.latency)),
                        self.latency_ms, self.judged, self.correct, dict(self.outcomes))


class TallyKeep(Protocol):
    """What the meter needs of a keep."""

    def record_ab_tallies(self, name: str, test: str, tallies: dict[TallyKey, ArmTally],
                          gateway: str, users: Sequence[SeenUser] = ()) -> None: ...


class ArmMeter:
    """Per (model, test) and (arm, keyed): counts since the last ``flush``."""

    def __init__(self, limit: int = RECENT) -> None:
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str], dict[TallyKey, _Counts]] = {}
        self._recent: OrderedDict[str, Trial] = OrderedDict()
        self._limit = limit
        self._seen: set[tuple[str, str, str]] = set()  # (test, since, user)
        self._new_users: dict[tuple[str, str], list[SeenUser]] = {}

    def _counts(self, trial: Trial) -> _Counts:
        arms = self._pending.setdefault((trial.model, trial.test), {})
        return arms.get((trial.arm, trial.keyed)) or arms.setdefault((trial.arm, trial.keyed), _Counts())

    def record(self, trial: Trial, seconds: float, *, error: bool = False,
               timeout: bool = False) -> None:
        """One answer of ``trial``'s arm that took ``seconds``."""
        ms = seconds * 1000
        with self._lock:
            counts = self._counts(trial)
            counts.requests += 1
            counts.errors += error or timeout
            counts.timeouts += timeout
            counts.latency[bucket_of(ms)] += 1
            counts.latency_ms = counts.latency_ms.plus(ms)
            seen = (trial.test, trial.since, trial.user or "")
            if trial.user and seen not in self._seen and len(self._seen) < MAX_USERS:
                self._seen.add(seen)
                self._new_users.setdefault((trial.model, trial.test), []).append(
                    (trial.since, trial.user, trial.arm))

    def remember(self, request_id: str, trial: Trial) -> None:
        """Remember which arm answered ``request_id``, for its feedback."""
        with self._lock:
            self._recent[request_id] = trial
            self._recent.move_to_end(request_id)
            while len(self._recent) > self._limit:
                self._recent.popitem(last=False)

    def feedback(self, model: str, item: Feedback, outcome: Mapping[str, float],
                 deployment: Deployment | None) -> str | None:
        """Add ``item`` (and its ``outcome`` values) to the arm that answered it; the arm, or
        None when no test's arm did. An answer this gateway does not remember is given to the
        arm serving the version it names, as keyed."""
        with self._lock:
            trial = self._recent.get(item.request_id)
        rollout = deployment.active_rollout if deployment is not None else None
        if trial is None and rollout is not None and rollout.phase == "ab":
            by_version = {version: label for label, version in rollout.arms}
            if item.version in by_version:
                trial = Trial(model, rollout.seed, by_version[item.version], True)
        if trial is None or trial.model != model:
            return None
        values = dict(outcome)
        if item.value is not None:
            values.setdefault("value", item.value)
        with self._lock:
            counts = self._counts(trial)
            if item.correct is not None:
                counts.judged += 1
                counts.correct += item.correct
            for name, number in values.items():
                counts.outcomes[name] = counts.outcomes.get(name, Moments()).plus(number)
        return trial.arm

    def take(self) -> dict[tuple[str, str], tuple[dict[TallyKey, ArmTally], list[SeenUser]]]:
        """The sums and the users first seen since the last call, by (model, test); the
        counters start again."""
        with self._lock:
            pending, self._pending = self._pending, {}
            users, self._new_users = self._new_users, {}
        return {key: ({arm: c.frozen() for arm, c in pending.get(key, {}).items()},
                      users.get(key, [])) for key in {*pending, *users}}

    def flush(self, keep: TallyKeep, gateway: str) -> None:
        """Hand the sums since the last flush to ``keep`` (lost if the write fails, as the
        serving counts are)."""
        for (model, test), (tallies, users) in self.take().items():
            keep.record_ab_tallies(model, test, tallies, gateway, users)


@contextlib.contextmanager
def counted(arms: ArmMeter, trial: Trial | None) -> Iterator[None]:
    """Count a hosted call for ``trial``'s arm (nothing without a trial): its time, and a
    failure of the version (a 5xx: the upstream failed or timed out) as an error; a refused
    request (a 4xx, a spent budget) is not the arm's."""
    started = time.perf_counter()
    try:
        yield
    except ModelkeepError as exc:
        if trial is not None and exc.http_status >= 500:
            arms.record(trial, time.perf_counter() - started, error=True,
                        timeout=isinstance(exc, UpstreamTimeoutError))
        raise
    if trial is not None:
        arms.record(trial, time.perf_counter() - started)
