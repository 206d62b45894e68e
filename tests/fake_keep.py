"""An in-memory keep: a second implementation of ``KeepInterface``, for tests.

It holds models, versions, aliases, appended records and runs in dicts, with no database, no
object store and no files. The CLI runs against it unchanged (``ctx.obj["open_keep"]``), which
shows that cli/ needs nothing but the interface. Storage, remotes and run writing are not kept
in memory: those methods raise NotImplementedError.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, NoReturn

from modelkeep.db.migrate import Migration
from modelkeep.errors import ModelNotFoundError, RunNotFoundError, VersionNotFoundError
from modelkeep.interface import KeepInterface, Progress
from modelkeep.registry.ab_report import AbReport
from modelkeep.registry.ab_tally import ArmTally, SeenUser, TallyKey
from modelkeep.registry.aliases import AliasMove
from modelkeep.registry.candidates import BumpReport
from modelkeep.registry.costs import Budget, CallCost, CostReport
from modelkeep.registry.dependency_lock import ServingNeeds
from modelkeep.registry.deploy_config import DeployConfig
from modelkeep.registry.deploy_history import ServingPeriod
from modelkeep.registry.deployments import DeploymentEvent
from modelkeep.registry.diff import VersionDiff
from modelkeep.registry.documents import DocsResult
from modelkeep.registry.drills import DrillReference, DrillResult, DrillStatus
from modelkeep.registry.feedback import Feedback, FeedbackSummary
from modelkeep.registry.gates import GatePolicy, GateResult
from modelkeep.registry.integrity import KeepCheck
from modelkeep.registry.loaders import Loaded, Prediction
from modelkeep.registry.payloads import PayloadItem, PayloadPolicy, PurgeResult
from modelkeep.registry.publish import SyncResult
from modelkeep.registry.records import VersionRecord
from modelkeep.registry.rollout import Deployment
from modelkeep.registry.roots import GcResult
from modelkeep.registry.serving import VersionStats
from modelkeep.registry.shadow_report import ShadowReport
from modelkeep.registry.shadow_stats import ShadowBatch
from modelkeep.registry.validation.results import ValidationReport, ValidationStatus
from modelkeep.registry.versions import Bump, ModelSummary, VersionInfo
from modelkeep.registry.views import VersionView
from modelkeep.run import Run
from modelkeep.schema.metadata import ModelMetadata
from modelkeep.storage.checkout import CheckoutStats
from modelkeep.storage.lfs import LfsReport
from modelkeep.storage.pointer_results import AddedPath, RestoredPointers
from modelkeep.storage.remotes import RemoteInfo
from modelkeep.tracking.execute import ExecResult
from modelkeep.tracking.history import MetricHistory
from modelkeep.tracking.reproduce_plan import Layout
from modelkeep.tracking.reproduce_run import ReproduceReport
from modelkeep.tracking.runs import RunInfo
from modelkeep.tracking.views import (
    DatasetSummary,
    DatasetView,
    RunComparison,
    RunSummary,
    RunView,
)

CLOCK = "2026-12-02T00:00:{:02d}.000000Z"


def _absent(what: str) -> NoReturn:
    raise NotImplementedError(f"the in-memory keep has no {what}")


class FakeKeep:
    """Models, versions, aliases, records and runs in memory (``add_run`` seeds runs)."""

    def __init__(self, author: str = "fake") -> None:
        self.author = author
        self._versions: dict[str, list[VersionInfo]] = {}
        self._aliases: dict[str, list[AliasMove]] = {}  # model -> moves, oldest first
        self._records: dict[int, list[VersionRecord]] = {}
        self._params: dict[int, dict[str, Any]] = {}
        self._runs: list[RunSummary] = []
        self._tick = 0
        self.closed = False

    def _now(self) -> str:
        self._tick += 1
        return CLOCK.format(self._tick % 60)

    def close(self) -> None:
        self.closed = True

    # -- registry -------------------------------------------------------------------------

    def register(self, name: str, path: Path | str, *, version: str | None = None,
                 bump: Bump | None = None, metadata: ModelMetadata | None = None,
                 params: Mapping[str, Any] | None = None, metrics: Mapping[str, Any] | None = None,
                 run_id: str | None = None, lineage: Mapping[str, Any] | None = None,
                 progress: Progress | None = None, allow_same: bool = False) -> VersionInfo:
        existing = self._versions.setdefault(name, [])
        number = version or f"1.{len(existing)}.0"
        info = VersionInfo(id=sum(map(len, self._versions.values())) + 1, name=name,
                           version=number, created_at=self._now(), author=self.author,
                           tree_id="f" * 64, size=0, files=0, run_id=run_id)
        existing.append(info)
        self._params[info.id] = dict(params or {})
        self._records[info.id] = [VersionRecord("metric", k, float(v), info.created_at,
                                                self.author) for k, v in (metrics or {}).items()]
        return info

    def models(self) -> list[ModelSummary]:
        return [ModelSummary(name, vs[0].created_at, len(vs), vs[-1].version)
                for name, vs in sorted(self._versions.items())]

    def versions(self, name: str) -> list[VersionInfo]:
        if name not in self._versions:
            raise ModelNotFoundError(f"model '{name}' not found", hint="modelkeep list", name=name)
        return list(self._versions[name])

    def resolve(self, ref: str, at: str | None = None) -> VersionInfo:
        name, _, wanted = ref.partition("@")
        found = self.versions(name)
        if wanted in ("", "latest"):
            return found[-1]
        wanted = self.aliases(name).get(wanted, wanted)
        for info in found:
            if info.version == wanted:
                return info
        raise VersionNotFoundError(f"version '{ref}' not found", hint=f"modelkeep list {name}",
                                   name=name, version=wanted)

    def show(self, ref: str, at: str | None = None) -> VersionView:
        info = self.resolve(ref, at)
        records = self._records[info.id]
        return VersionView(info, sorted(a for a, v in self.aliases(info.name).items()
                                        if v == info.version),
                           self._params[info.id],
                           {r.key: r.value for r in records if r.kind == "metric"},
                           records, None, {"identity": {"name": info.name}})

    def diff(self, ref_a: str, ref_b: str) -> VersionDiff:
        return VersionDiff(self.resolve(ref_a).ref, self.resolve(ref_b).ref)

    def export(self, ref: str, fmt: str) -> bytes:
        _absent("metadata export")

    def import_metadata(self, path: Path | str, *, artifacts: Path | str | None = None,
                        name: str | None = None, progress: Progress | None = None
                        ) -> VersionInfo:
        _absent("metadata import")

    # -- aliases and records --------------------------------------------------------------

    def set_alias(self, name: str, alias: str, version: str, reason: str = "", *,
                  force: bool = False) -> AliasMove:
        target = self.resolve(f"{name}@{version}")
        move = AliasMove(alias, target.version, self._now(), self.author, reason)
        self._aliases.setdefault(name, []).append(move)
        return move

    def remove_alias(self, name: str, alias: str, reason: str = "") -> AliasMove:
        move = AliasMove(alias, None, self._now(), self.author, reason)
        self._aliases.setdefault(name, []).append(move)
        return move

    def aliases(self, name: str) -> dict[str, str]:
        now: dict[str, str | None] = {}
        for move in self._aliases.get(name, []):
            now[move.alias] = move.version
        return {alias: version for alias, version in now.items() if version is not None}

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasMove]:
        return [m for m in self._aliases.get(name, []) if alias in (None, m.alias)]

    def add_note(self, ref: str, text: str) -> VersionRecord:
        return self._append(ref, VersionRecord("note", "note", text, self._now(), self.author))

    def add_metric(self, ref: str, key: str, value: Any) -> VersionRecord:
        return self._append(ref, VersionRecord("metric", key, float(value), self._now(),
                                               self.author))

    def _append(self, ref: str, record: VersionRecord) -> VersionRecord:
        self._records[self.resolve(ref).id].append(record)
        return record

    # -- storage and remotes: not kept in memory ------------------------------------------

    def checkout(self, ref: str, dest: Path | str, *, link: str = "auto",
                 patterns: list[str] | None = None, tensor_patterns: list[str] | None = None,
                 progress: Progress | None = None, verify: bool = True) -> CheckoutStats:
        _absent("files")

    def add(self, path: Path | str, progress: Progress | None = None, *, sha256: bool = False
            ) -> AddedPath:
        _absent("files")

    def restore_pointers(self, where: Path | str = ".", *, remote: str | None = None,
                         link: str = "auto", fetch: bool = True, empty_ok: bool = True,
                         progress: Progress | None = None) -> RestoredPointers:
        _absent("files")

    def export_lfs(self, source: str, dest: Path | str, *, objects: Path | str | None = None,
                   progress: Progress | None = None) -> LfsReport:
        _absent("files")

    def import_lfs(self, source: Path | str, *, objects: Path | str | None = None,
                   name: str | None = None, version: str | None = None,
                   progress: Progress | None = None) -> LfsReport:
        _absent("files")

    def fsck(self, progress: Progress | None = None, *, repair: bool = False,
             remote: str | None = None) -> KeepCheck:
        return KeepCheck(checked=0)

    def gc(self, *, dry_run: bool = False, grace: float | None = None,
           keep_stable: int | None = None, keep_all: bool = False, force: bool = False,
           progress: Progress | None = None) -> GcResult:
        _absent("objects to collect")

    def remotes(self) -> dict[str, RemoteInfo]:
        return {}

    def add_remote(self, name: str, url: str, **options: Any) -> None:
        _absent("remotes")

    def remove_remote(self, name: str) -> None:
        _absent("remotes")

    def push(self, refs: list[str] | None = None, *, remote: str | None = None,
             all_versions: bool = False, progress: Progress | None = None) -> SyncResult:
        _absent("remotes")

    def pull(self, refs: list[str], *, remote: str | None = None,
             patterns: list[str] | None = None, tensor_patterns: list[str] | None = None,
             progress: Progress | None = None) -> SyncResult:
        _absent("remotes")

    # -- runs (read; ``add_run`` seeds them) ----------------------------------------------

    def add_run(self, run_id: str, name: str, model: str | None, *, status: str = "finished",
                params: dict[str, Any] | None = None, metrics: dict[str, float] | None = None
                ) -> RunInfo:
        """Seed a run, as if a script had logged it."""
        info = RunInfo(pk=len(self._runs) + 1, id=run_id, model=model, name=name, status=status,
                       author=self.author, started_at=self._now(), ended_at=None,
                       heartbeat_at=None, host="fake", pid=None, environment_id=None,
                       exit_code=None)
        self._runs.insert(0, RunSummary(info, params or {}, metrics or {}))
        return info

    def start_run(self, model: str | None = None, name: str | None = None, *,
                  run_id: str | None = None, tags: Mapping[str, Any] | None = None,
                  params: Mapping[str, Any] | None = None, capture: bool = True,
                  system_metrics: float | None = None, flush_interval: float | None = None,
                  owned: bool = True, handle_signals: bool = True) -> Run:
        _absent("run logging")

    def run(self, ref: str) -> RunInfo:
        found = [r.info for r in self._runs if r.info.id.startswith(ref)]
        if len(found) != 1:
            raise RunNotFoundError(f"run '{ref}' not found", hint="modelkeep runs list", run=ref)
        return found[0]

    def run_view(self, ref: str) -> RunView:
        info = self.run(ref)
        summary = next(r for r in self._runs if r.info is info)
        series = [{"name": k, "points": 1, "last_step": 0, "last_value": v}
                  for k, v in sorted(summary.metrics.items())]
        return RunView(info, summary.params, {}, series, [], [], None, None, None, {}, None, [],
                       None)

    def runs(self, *, model: str | None = None, status: str | None = None,
             params: list[str] | tuple[str, ...] = (), metrics: list[str] | tuple[str, ...] = (),
             limit: int | None = None) -> list[RunSummary]:
        if params or metrics:
            _absent("run filters")
        found = [r for r in self._runs if model in (None, r.info.model)
                 and status in (None, r.info.status)]
        return found[:limit]

    def compare_runs(self, refs: list[str] | tuple[str, ...]) -> RunComparison:
        _absent("run comparison")

    def metric_history(self, ref: str, name: str) -> MetricHistory:
        _absent("metric histories")

    def end_run(self, ref: str, status: str = "finished", *, strict: bool = False) -> bool:
        _absent("run logging")

    def exec_run(self, run_id: str, command: Sequence[str], *, stdout: IO[bytes] | None = None,
                 stderr: IO[bytes] | None = None) -> ExecResult:
        _absent("run logging")

    # -- datasets -------------------------------------------------------------------------

    def datasets(self, name: str | None = None) -> list[DatasetSummary]:
        return []

    def dataset(self, ref: str) -> DatasetView:
        _absent("datasets")

    def migrate(self) -> Migration:
        _absent("migrations")

    def docs(self, ref: str, out: Path | str | None = None, *, force: bool = False) -> DocsResult:
        _absent("documents")

    def export_as(self, ref: str, fmt: str, out: Path | str | None = None, *,
                  force: bool = False) -> bytes:
        _absent("documents")

    def load(self, ref: str) -> Loaded:
        _absent("loaders")

    def example_inputs(self, ref: str) -> list[object]:
        return []

    def predict(self, ref: str, inputs: Any) -> Prediction:
        _absent("loaders")

    def bump(self, name: str, path: Path | str, *, metadata: ModelMetadata | None = None,
             params: Mapping[str, Any] | None = None, metrics: Mapping[str, Any] | None = None,
             progress: Progress | None = None) -> BumpReport:
        _absent("files")

    def validate(self, ref: str, policy: Path | str, *, store_result: bool = True
                 ) -> ValidationReport:
        _absent("loaders")

    def validation_status(self, ref: str) -> ValidationStatus | None:
        return None

    def reproduce(self, ref: str, dest: Path | str, *, remote: str | None = None,
                  force: bool = False, strict: bool = False, run: bool = False,
                  tolerance: float | None = None, output: Path | None = None,
                  progress: Progress | None = None, stdout: IO[bytes] | None = None,
                  stderr: IO[bytes] | None = None, on_start: Callable[[str], None] | None = None,
                  on_layout: Callable[[Layout], None] | None = None) -> ReproduceReport:
        _absent("files")


    # -- deployments: not kept in memory ----------------------------------------------------

    def deployment(self, name: str) -> Deployment:
        _absent("deployments")

    def deployments(self) -> list[Deployment]:
        return []

    def deployment_revision(self) -> int:
        return 0

    def deployment_history(self, name: str) -> list[DeploymentEvent]:
        _absent("deployments")

    def deploy(self, ref: str, *, canary: bool = False, shadow: bool = False,
               shadow_percent: float | None = None, steps: tuple[int, ...] | None = None,
               by: str | None = None, window: float | None = None, gates: GatePolicy | None = None,
               reason: str = "", config: DeployConfig | None = None, blue_green: bool = False,
               shadow_window: float = 0.0, tolerance: float = 0.0, force: bool = False
               ) -> DeploymentEvent:
        _absent("deployments")

    def change_deployment(self, name: str, action: str, reason: str = "", *,
                          expect_revision: int | None = None) -> DeploymentEvent:
        _absent("deployments")

    def record_serving_stats(self, name: str, stats: Mapping[str, VersionStats],
                             gateway: str) -> None:
        _absent("deployments")

    def serving_stats(self, name: str, since: str = "") -> dict[str, VersionStats]:
        _absent("deployments")

    def deployment_gates(self, name: str) -> list[GateResult]:
        _absent("deployments")

    def record_feedback(self, name: str, items: Sequence[Feedback]) -> None:
        _absent("deployments")

    def feedback_summary(self, name: str, since: str = "") -> dict[str, FeedbackSummary]:
        _absent("deployments")

    # -- payloads: never logged by the fake ---------------------------------------------------

    def payload_policy(self) -> PayloadPolicy:
        return PayloadPolicy()

    def record_payloads(self, items: Sequence[PayloadItem]) -> int:
        _absent("payloads")

    def purge_payloads(self, *, model: str | None = None, before: str | None = None,
                       everything: bool = False) -> PurgeResult:
        _absent("payloads")

    # -- deployment configuration and history replay: not kept in memory ---------------

    def deployment_replay(self, name: str, at: str | None = None) -> list[ServingPeriod]:
        _absent("deployments")

    def serving_needs(self, ref: str) -> ServingNeeds:
        _absent("deployments")

    # -- shadow tests: not kept in memory -------------------------------------------------------

    def record_shadow_stats(self, name: str, batches: Sequence[ShadowBatch], gateway: str) -> None:
        _absent("shadow tests")

    def shadow_report(self, name: str, tolerance: float | None = None) -> ShadowReport:
        _absent("shadow tests")

    def record_drill(self, result: DrillResult, reference: list[Any] | None = None) -> DrillResult:
        _absent("drills")

    def drills(self, name: str) -> list[DrillResult]:
        return []

    def drill_reference(self, ref: str) -> DrillReference | None:
        return None

    def drill_status(self, name: str) -> DrillStatus:
        return DrillStatus(name, None, 7 * 86400.0, None)

    # -- hosted versions and costs: not kept in memory ---------------------------------------

    def register_hosted(self, name: str, spec: Path | str, *, version: str | None = None,
                        bump: Bump | None = None, metadata: Any = None,
                        allow_same: bool = False) -> VersionInfo:
        _absent("hosted versions")

    def record_costs(self, name: str, items: Sequence[CallCost], gateway: str) -> None:
        _absent("costs")

    def cost_report(self, name: str | None = None, since: str = "",
                    by: str = "version") -> CostReport:
        _absent("costs")

    def set_budget(self, ref: str, amount: Any, currency: str) -> Budget:
        _absent("budgets")

    def budgets(self, name: str | None = None) -> list[Budget]:
        _absent("budgets")

    def apply_configured_budgets(self) -> list[Budget]:
        return []  # the in-memory keep has no config.toml

    def reserve_budget(self, ref: str, micros: int) -> bool:
        _absent("budgets")

    def settle_budget(self, ref: str, reserved: int, spent: int) -> None:
        _absent("budgets")

    def start_ab_test(self, name: str, arms: str, split: str | None = None, *, by: str | None = None,
                      reason: str = "", force: bool = False) -> DeploymentEvent:
        _absent("deployments")

    def split_ab_test(self, name: str, split: str, reason: str = "") -> DeploymentEvent:
        _absent("deployments")

    def end_ab_test(self, name: str, winner: str, reason: str = "") -> DeploymentEvent:
        _absent("deployments")

    def record_ab_tallies(self, name: str, test: str, tallies: Mapping[TallyKey, ArmTally],
                          gateway: str, users: Sequence[SeenUser] = ()) -> None:
        _absent("deployments")

    def ab_report(self, name: str, alpha: float = 0.05) -> AbReport:
        _absent("deployments")

def open_fake(keep: FakeKeep) -> KeepInterface:
    """The fake as the CLI sees it (mypy checks here that it satisfies the interface)."""
    return keep
