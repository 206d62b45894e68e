"""The keep interface: everything a keep does, as one typed protocol.

``Keep`` (keep.py: a database plus an object store) is the local implementation; an HTTP client
for a team server will be the second, and tests/fake_keep.py is an in-memory one. ``cli/`` (and
later ``server/`` and ``gateway/``) see only this protocol, never a keep's database, store or
settings. Every method returns a frozen result type (or a list or mapping of them) whose
``to_dict()`` is its JSON form, defined beside the type below ``cli/``, so each
implementation and each presentation serialises a result alike (``results.json_ready``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol, runtime_checkable

# The value rules every implementation applies (names of metrics, params and tags; filter
# terms such as 'acc>0.9'), part of the contract: a caller checks its input with them before
# it writes anything, as ``run log`` checks every metric name before the first is logged.
from modelkeep.tracking.values import Condition, check_name, parse_condition

if TYPE_CHECKING:  # the result types, for annotations only: importing this module stays cheap
    from modelkeep.db.migrate import Migration
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

__all__ = ["Condition", "KeepInterface", "Progress", "check_name", "parse_condition"]

Progress = Callable[[int, int], None]  # (done, total): long operations report through it


@runtime_checkable
class KeepInterface(Protocol):
    """What a keep does: registry, aliases, records, storage, remotes, runs and datasets."""

    def migrate(self) -> Migration:
        """Bring the keep's database to this modelkeep's schema."""
        ...

    def close(self) -> None:
        """Release what the keep holds open (connections)."""

    # -- registry -------------------------------------------------------------------------

    def register(self, name: str, path: Path | str, *, version: str | None = None,
                 bump: Bump | None = None, metadata: ModelMetadata | None = None,
                 params: Mapping[str, Any] | None = None, metrics: Mapping[str, Any] | None = None,
                 run_id: str | None = None, lineage: Mapping[str, Any] | None = None,
                 progress: Progress | None = None, allow_same: bool = False) -> VersionInfo:
        """Store ``path`` as a new immutable version of model ``name``."""
        ...

    def models(self) -> list[ModelSummary]:
        """Every registered model."""
        ...

    def versions(self, name: str) -> list[VersionInfo]:
        """Every version of ``name``, lowest first."""
        ...

    def resolve(self, ref: str, at: str | None = None) -> VersionInfo:
        """``NAME@VERSION``, ``NAME@ALIAS`` or ``NAME@latest`` (as of ``at``) to a version."""
        ...

    def show(self, ref: str, at: str | None = None) -> VersionView:
        """A version with its metadata snapshot, aliases and appended records."""
        ...

    def diff(self, ref_a: str, ref_b: str) -> VersionDiff:
        """What changed from version ``ref_a`` to ``ref_b``."""
        ...

    def export(self, ref: str, fmt: str) -> bytes:
        """A version's metadata as json, yaml or proto bytes."""
        ...

    def import_metadata(self, path: Path | str, *, artifacts: Path | str | None = None,
                        name: str | None = None, progress: Progress | None = None
                        ) -> VersionInfo:
        """Register a version from an exported metadata file."""
        ...

    # -- aliases and appended records -----------------------------------------------------

    def set_alias(self, name: str, alias: str, version: str, reason: str = "", *,
                  force: bool = False) -> AliasMove:
        """Point ``alias`` at ``version``; the previous target stays in the history. A
        protected alias needs a passing validation of ``version`` unless ``force`` (with a
        ``reason``)."""
        ...

    def remove_alias(self, name: str, alias: str, reason: str = "") -> AliasMove:
        """Unset ``alias`` (recorded in its history)."""
        ...

    def aliases(self, name: str) -> dict[str, str]:
        """alias -> version for every alias of ``name`` set now."""
        ...

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasMove]:
        """Every move of an alias (or all aliases) of ``name``, oldest first."""
        ...

    def add_note(self, ref: str, text: str) -> VersionRecord:
        """Append a dated note to a registered version."""
        ...

    def add_metric(self, ref: str, key: str, value: Any) -> VersionRecord:
        """Append a dated metric to a registered version."""
        ...

    # -- storage --------------------------------------------------------------------------

    def checkout(self, ref: str, dest: Path | str, *, link: str = "auto",
                 patterns: list[str] | None = None, tensor_patterns: list[str] | None = None,
                 progress: Progress | None = None, verify: bool = True) -> CheckoutStats:
        """Restore a version's files (or some of them) into ``dest`` byte for byte."""
        ...

    def add(self, path: Path | str, progress: Progress | None = None, *, sha256: bool = False
            ) -> AddedPath:
        """Store a file or folder and write its ``.mk`` pointer file."""
        ...

    def restore_pointers(self, where: Path | str = ".", *, remote: str | None = None,
                         link: str = "auto", fetch: bool = True, empty_ok: bool = True,
                         progress: Progress | None = None) -> RestoredPointers:
        """Turn the ``.mk`` pointers under ``where`` back into files."""
        ...

    def export_lfs(self, source: str, dest: Path | str, *, objects: Path | str | None = None,
                   progress: Progress | None = None) -> LfsReport:
        """Write Git LFS pointers and objects for a version or a ``.mk`` pointer."""
        ...

    def import_lfs(self, source: Path | str, *, objects: Path | str | None = None,
                   name: str | None = None, version: str | None = None,
                   progress: Progress | None = None) -> LfsReport:
        """Store a Git LFS checkout; register it when ``name``."""
        ...

    def fsck(self, progress: Progress | None = None, *, repair: bool = False,
             remote: str | None = None) -> KeepCheck:
        """Re-hash every object and check manifests and trees (``repair`` from a remote)."""
        ...

    def gc(self, *, dry_run: bool = False, grace: float | None = None,
           keep_stable: int | None = None, keep_all: bool = False, force: bool = False,
           progress: Progress | None = None) -> GcResult:
        """Delete objects nothing kept needs; prune versions outside the retention policy."""
        ...

    # -- remotes --------------------------------------------------------------------------

    def remotes(self) -> dict[str, RemoteInfo]:
        """name -> settings of every configured remote, credentials masked."""
        ...

    def add_remote(self, name: str, url: str, **options: Any) -> None:
        """Configure remote ``name`` at ``url``."""
        ...

    def remove_remote(self, name: str) -> None:
        """Forget remote ``name`` (its data is untouched)."""
        ...

    def push(self, refs: list[str] | None = None, *, remote: str | None = None,
             all_versions: bool = False, progress: Progress | None = None) -> SyncResult:
        """Send versions (and live pointer trees) to a remote."""
        ...

    def pull(self, refs: list[str], *, remote: str | None = None,
             patterns: list[str] | None = None, tensor_patterns: list[str] | None = None,
             progress: Progress | None = None) -> SyncResult:
        """Fetch versions from a remote, registering those this keep lacks."""
        ...

    # -- runs -----------------------------------------------------------------------------

    def start_run(self, model: str | None = None, name: str | None = None, *,
                  run_id: str | None = None, tags: Mapping[str, Any] | None = None,
                  params: Mapping[str, Any] | None = None, capture: bool = True,
                  system_metrics: float | None = None, flush_interval: float | None = None,
                  owned: bool = True, handle_signals: bool = True) -> Run:
        """Start a run logged to this keep, or attach to one (``run_id``); ``handle_signals``
        False installs no process-wide hook (for programs that embed modelkeep)."""
        ...

    def run(self, ref: str) -> RunInfo:
        """A run by UUID or unique prefix."""
        ...

    def run_view(self, ref: str) -> RunView:
        """Everything known about a run."""
        ...

    def runs(self, *, model: str | None = None, status: str | None = None,
             params: list[str] | tuple[str, ...] = (), metrics: list[str] | tuple[str, ...] = (),
             limit: int | None = None) -> list[RunSummary]:
        """Runs newest first, filtered by model, status, params and final-metric ranges."""
        ...

    def compare_runs(self, refs: list[str] | tuple[str, ...]) -> RunComparison:
        """Params and final metrics of several runs side by side."""
        ...

    def metric_history(self, ref: str, name: str) -> MetricHistory:
        """Every point of one metric of a run, by step."""
        ...

    def end_run(self, ref: str, status: str = "finished", *, strict: bool = False) -> bool:
        """End a running run; False (``strict``: RunNotActiveError) when it had ended."""
        ...

    def exec_run(self, run_id: str, command: Sequence[str], *, stdout: IO[bytes] | None = None,
                 stderr: IO[bytes] | None = None) -> ExecResult:
        """Run ``command`` under a run and record its exit code, output tail and command."""
        ...

    # -- datasets -------------------------------------------------------------------------

    def datasets(self, name: str | None = None) -> list[DatasetSummary]:
        """Every dataset version (or those named ``name``), newest first."""
        ...

    def dataset(self, ref: str) -> DatasetView:
        """A dataset version with the runs and model versions that used it."""
        ...

    # -- documents and standards ----------------------------------------------------------

    def docs(self, ref: str, out: Path | str | None = None, *, force: bool = False) -> DocsResult:
        """The model card and changelog of a version (or of every version of a model)."""
        ...

    def export_as(self, ref: str, fmt: str, out: Path | str | None = None, *,
                  force: bool = False) -> bytes:
        """A version in a standard format (mlmodel, hf-card, cyclonedx, openlineage)."""
        ...

    # -- running versions -----------------------------------------------------------------

    def load(self, ref: str) -> Loaded:
        """Load a version through its declared loader (``predict`` takes JSON-ready inputs)."""
        ...

    def example_inputs(self, ref: str) -> list[object]:
        """The example inputs a version declares (``[]`` when none)."""
        ...

    def predict(self, ref: str, inputs: Any) -> Prediction:
        """Load a version, run it on ``inputs`` and close it."""
        ...

    def bump(self, name: str, path: Path | str, *, metadata: ModelMetadata | None = None,
             params: Mapping[str, Any] | None = None, metrics: Mapping[str, Any] | None = None,
             progress: Progress | None = None) -> BumpReport:
        """The bump the files at ``path`` need as the next version of ``name``, with reasons."""
        ...

    # -- validation -----------------------------------------------------------------------

    def validate(self, ref: str, policy: Path | str, *, store_result: bool = True
                 ) -> ValidationReport:
        """Check a version against a policy file and store the report with it."""
        ...

    def validation_status(self, ref: str) -> ValidationStatus | None:
        """The latest stored validation of a version (None: never validated)."""
        ...

    # -- reproduce ------------------------------------------------------------------------

    def reproduce(self, ref: str, dest: Path | str, *, remote: str | None = None,
                  force: bool = False, strict: bool = False, run: bool = False,
                  tolerance: float | None = None, output: Path | None = None,
                  progress: Progress | None = None, stdout: IO[bytes] | None = None,
                  stderr: IO[bytes] | None = None, on_start: Callable[[str], None] | None = None,
                  on_layout: Callable[[Layout], None] | None = None) -> ReproduceReport:
        """Lay out everything a version was made from in ``dest``; ``run``: re-run and compare."""
        ...

    # -- deployments (the gateway's serving state: docs/gateway.md) -----------------------

    def deployment(self, name: str) -> Deployment:
        """A model's serving state now: stable version, earlier ones, the rollout."""
        ...

    def deployments(self) -> list[Deployment]:
        """The serving state of every deployed model."""
        ...

    def deployment_revision(self) -> int:
        """A number that changes whenever any model's serving state does."""
        ...

    def deployment_history(self, name: str) -> list[DeploymentEvent]:
        """Every change of a model's serving state, oldest first."""
        ...

    def deploy(self, ref: str, *, canary: bool = False, shadow: bool = False,
               shadow_percent: float | None = None, steps: tuple[int, ...] | None = None,
               by: str | None = None, window: float | None = None, gates: GatePolicy | None = None,
               reason: str = "", config: DeployConfig | None = None, blue_green: bool = False,
               shadow_window: float = 0.0, tolerance: float = 0.0, force: bool = False
               ) -> DeploymentEvent:
        """Serve a version at once, or through a shadow and/or canary rollout."""
        ...

    def change_deployment(self, name: str, action: str, reason: str = "", *,
                          expect_revision: int | None = None) -> DeploymentEvent:
        """promote, promote-full, pause, resume, abort or rollback a deployment."""
        ...

    def record_serving_stats(self, name: str, stats: Mapping[str, VersionStats],
                             gateway: str) -> None:
        """Append what a gateway's requests to each version did."""
        ...

    def serving_stats(self, name: str, since: str = "") -> dict[str, VersionStats]:
        """version -> every gateway's requests, errors and latency since a time."""
        ...

    def deployment_gates(self, name: str) -> list[GateResult]:
        """Each gate's verdict on the running canary step ([] when none runs)."""
        ...

    def record_feedback(self, name: str, items: Sequence[Feedback]) -> None:
        """Append labels and outcome values joined to the versions that answered."""
        ...

    def feedback_summary(self, name: str, since: str = "") -> dict[str, FeedbackSummary]:
        """version -> feedback items, accuracy and mean outcome value since a time."""
        ...

    # -- payloads (privacy by default: docs/privacy.md) -----------------------------------

    def payload_policy(self) -> PayloadPolicy:
        """Whether payloads are logged, for how long, and how they are redacted."""
        ...

    def record_payloads(self, items: Sequence[PayloadItem]) -> int:
        """Store answered requests' payloads redacted; delete expired ones."""
        ...

    def purge_payloads(self, *, model: str | None = None, before: str | None = None,
                       everything: bool = False) -> PurgeResult:
        """Delete stored payloads (of a model, older than a time, or all)."""
        ...

    # -- deployment configuration, history replay and worker environments (g-ops) ---------

    def deployment_replay(self, name: str, at: str | None = None) -> list[ServingPeriod]:
        """What served a model when: each change of traffic or configuration, oldest first."""
        ...

    def serving_needs(self, ref: str) -> ServingNeeds:
        """A version's dependency lock, where environments are built, how a worker opens the keep."""
        ...

    # -- shadow tests (docs/gateway.md#shadow-tests) ------------------------------------------

    def record_shadow_stats(self, name: str, batches: Sequence[ShadowBatch], gateway: str) -> None:
        """Append what a gateway's shadow copies of a model's requests did."""
        ...

    def shadow_report(self, name: str, tolerance: float | None = None) -> ShadowReport:
        """A model's latest shadow test: agreement, latency and errors, disagreements."""
        ...

    # -- rollback drills (docs/loadtest.md) -----------------------------------------------

    def record_drill(self, result: DrillResult, reference: list[Any] | None = None) -> DrillResult:
        """Append a drill's result (and the restored version's reference outputs)."""
        ...

    def drills(self, name: str) -> list[DrillResult]:
        """Every rollback drill of a model, oldest first."""
        ...

    def drill_reference(self, ref: str) -> DrillReference | None:
        """The reference outputs recorded for a version by its first drill (or None)."""
        ...

    def drill_status(self, name: str) -> DrillStatus:
        """A model's last drill, and a warning when it is older than drill_max_age."""
        ...

    # -- hosted versions and costs (docs/hosted.md) ----------------------------------------

    def register_hosted(self, name: str, spec: Path | str, *, version: str | None = None,
                        bump: Bump | None = None, metadata: Any = None,
                        allow_same: bool = False) -> VersionInfo:
        """Register a hosted spec (provider, model id, parameters, price) as a new version."""
        ...

    def record_costs(self, name: str, items: Sequence[CallCost], gateway: str) -> None:
        """Append a gateway's summed calls, tokens and cost of a model's hosted versions."""
        ...

    def cost_report(self, name: str | None = None, since: str = "",
                    by: str = "version") -> CostReport:
        """Spend since a day or time, per version, day or A/B arm."""
        ...

    def set_budget(self, ref: str, amount: Any, currency: str) -> Budget:
        """Limit what a version may spend."""
        ...

    def budgets(self, name: str | None = None) -> list[Budget]:
        """Every budget with what is spent and reserved."""
        ...

    def apply_configured_budgets(self) -> list[Budget]:
        """Set the budgets the keep's config.toml declares."""
        ...

    def reserve_budget(self, ref: str, micros: int) -> bool:
        """Reserve one call's worst-case cost; False when it would pass the budget."""
        ...

    def settle_budget(self, ref: str, reserved: int, spent: int) -> None:
        """Release a call's reservation and add its real cost."""
        ...

    # -- A/B/n tests (docs/gateway.md, "A/B/n tests") -------------------------------------

    def start_ab_test(self, name: str, arms: str, split: str | None = None, *, by: str | None = None,
                      reason: str = "", force: bool = False) -> DeploymentEvent:
        """Start an A/B/n test: arms ``A=VERSION,B=VERSION``, split ``50/50``, sticky by ``by``;
        arms not validated are refused unless ``force`` (with a ``reason``)."""
        ...

    def split_ab_test(self, name: str, split: str, reason: str = "") -> DeploymentEvent:
        """Change the running test's split, moving as few users as possible."""
        ...

    def end_ab_test(self, name: str, winner: str, reason: str = "") -> DeploymentEvent:
        """End the running test with the winning arm's version as the stable one."""
        ...

    def record_ab_tallies(self, name: str, test: str, tallies: Mapping[TallyKey, ArmTally],
                          gateway: str, users: Sequence[SeenUser] = ()) -> None:
        """Append what a gateway counted for each arm of a test."""
        ...

    def ab_report(self, name: str, alpha: float = 0.05) -> AbReport:
        """The latest test's metrics per arm, sample-ratio check and sequential tests."""
        ...
