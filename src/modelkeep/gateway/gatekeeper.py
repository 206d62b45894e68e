"""Reporting this gateway's counts and feedback to the keep, and moving canaries by their gates.

About once a second a gateway appends what its requests to each version did since the last
time (so the keep sums every gateway's traffic), then asks the keep for each running canary
step's gate verdicts: a failed gate aborts the rollout (all traffic back to the stable version,
by itself), a step whose gates held for its whole window is promoted. Every gateway judges;
the change is made only if the deployment is still at the revision judged, so a step moves
once however many gateways see it at the same moment.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol

from modelkeep.errors import ModelkeepError, RolloutStateError
from modelkeep.registry.feedback import Feedback
from modelkeep.registry.gates import GateResult, decide
from modelkeep.registry.rollout import Deployment
from modelkeep.registry.serving import VersionStats
from modelkeep.registry.shadow_stats import ShadowBatch

from .feedback import FeedbackInbox
from .meter import Meter
from .shadow import ShadowMeter


class GateKeep(Protocol):
    """What the gate keeper needs of a keep."""

    def record_serving_stats(self, name: str, stats: dict[str, VersionStats], gateway: str) -> None: ...

    def deployment_gates(self, name: str) -> list[GateResult]: ...

    def record_feedback(self, name: str, items: Sequence[Feedback]) -> None: ...

    def change_deployment(self, name: str, action: str, reason: str = "", *,
                          expect_revision: int | None = None) -> object: ...

    def record_shadow_stats(self, name: str, batches: Sequence[ShadowBatch], gateway: str) -> None: ...


class GateKeeper:
    """Flushes ``meter`` to ``keep`` and applies the gates' verdicts."""

    def __init__(self, keep: GateKeep, meter: Meter, inbox: FeedbackInbox,
                 shadow: ShadowMeter | None = None) -> None:
        self.keep = keep
        self.shadow = shadow
        self.meter = meter
        self.inbox = inbox
        self.gateway = uuid.uuid4().hex[:16]  # this process, in the stats rows
        self.last_error = ""
        self.flushers: list[Callable[[], None]] = []  # more to report each time (costs)

    def flush(self) -> None:
        """Append the counts since the last flush, by model (a failed append is reported in
        ``last_error`` and its counts are lost: gates judge on what reached the keep)."""
        by_model: dict[str, dict[str, VersionStats]] = {}
        for ref, stats in self.meter.take().items():
            name, _, version = ref.partition("@")
            by_model.setdefault(name, {})[version] = stats
        for name, versions in by_model.items():
            self._try(self.keep.record_serving_stats, name, versions, self.gateway)
        for name, items in self.inbox.take().items():
            self._try(self.keep.record_feedback, name, items)
        for name, batches in (self.shadow.take() if self.shadow else {}).items():
            self._try(self.keep.record_shadow_stats, name, batches, self.gateway)
        for flush in self.flushers:
            self._try(flush)

    def _try(self, write: Callable[..., None], *args: object) -> None:
        try:
            write(*args)
        except ModelkeepError as exc:
            self.last_error = exc.message
        except Exception as exc:  # the database unreachable
            self.last_error = f"{type(exc).__name__}: {exc}".splitlines()[0]

    def judge(self, deployments: dict[str, Deployment]) -> list[tuple[str, str, str]]:
        """Abort or promote the canary steps whose gates say so; (model, action, why) done."""
        done = []
        now = datetime.now(UTC)
        for name, d in deployments.items():
            rollout = d.active_rollout
            if rollout is None or rollout.phase not in ("canary", "shadow") or rollout.paused:
                continue
            try:
                move = decide(rollout, self.keep.deployment_gates(name), d.step_started, now)
                if move is not None:
                    self.keep.change_deployment(name, move[0], move[1], expect_revision=d.revision)
                    done.append((name, *move))
            except RolloutStateError:
                continue  # another gateway or a person moved it first
            except Exception as exc:  # the database unreachable: judged again next time
                self.last_error = f"{type(exc).__name__}: {exc}".splitlines()[0]
        return done
