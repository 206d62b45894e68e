"""modelkeep: version AI models end to end, from the training run to production traffic.

The public Python API. Names load lazily so that ``import modelkeep`` (and the CLI) stays fast::

    import modelkeep
    keep = modelkeep.Keep.open()                 # or modelkeep.Keep.init("path")
    keep.register("bert", "./model", bump="minor", params={"lr": 0.001})
    with modelkeep.start_run(model="bert") as run:
        run.log_metric("loss", 0.3, step=1)
    try:
        keep.resolve("bert@9.9.9")
    except modelkeep.VersionNotFoundError as exc:
        print(exc.hint)

Every error class, result type and ``Run`` is importable from here; the subpackages
(``modelkeep.registry``, ``modelkeep.storage``, ...) are internal and may change.
"""

# ruff: noqa: F401  (the TYPE_CHECKING imports below are re-exports; __all__ is built at run time)
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelkeep import _lazy

# public name -> module that defines it (sorted; tests/test_public_api.py checks that every
# error class, result type and the interface are here). The modules themselves are internal:
# users import from ``modelkeep``, never from ``modelkeep.registry.versions``.
_EXPORTS: dict[str, str] = {
    "AbReport": "modelkeep.registry.ab_report",
    "AddedPath": "modelkeep.storage.pointer_results",
    "AliasMove": "modelkeep.registry.aliases",
    "AliasNotFoundError": "modelkeep.errors",
    "ArmComparison": "modelkeep.registry.ab_report",
    "ArmMetric": "modelkeep.registry.ab_report",
    "ArmReport": "modelkeep.registry.ab_report",
    "ArmTally": "modelkeep.registry.ab_tally",
    "ArtifactsMismatchError": "modelkeep.errors",
    "Budget": "modelkeep.registry.costs",
    "BudgetExhaustedError": "modelkeep.errors",
    "BumpReport": "modelkeep.registry.candidates",
    "CallCost": "modelkeep.registry.costs",
    "CheckResult": "modelkeep.registry.validation.results",
    "CheckoutStats": "modelkeep.storage.checkout",
    "ConflictError": "modelkeep.errors",
    "CorruptObjectError": "modelkeep.errors",
    "CostLine": "modelkeep.registry.costs",
    "CostReport": "modelkeep.registry.costs",
    "DatabaseEmptyError": "modelkeep.errors",
    "DatabaseMissingError": "modelkeep.errors",
    "DatasetNotFoundError": "modelkeep.errors",
    "DatasetRunUse": "modelkeep.tracking.views",
    "DatasetSummary": "modelkeep.tracking.views",
    "DatasetVersionUse": "modelkeep.tracking.views",
    "DatasetView": "modelkeep.tracking.views",
    "DeployConfig": "modelkeep.registry.deploy_config",
    "Deployment": "modelkeep.registry.rollout",
    "DeploymentEvent": "modelkeep.registry.deployments",
    "DiskFullError": "modelkeep.errors",
    "DocsResult": "modelkeep.registry.documents",
    "EntryPointError": "modelkeep.errors",
    "EnvBuildError": "modelkeep.errors",
    "ExecResult": "modelkeep.tracking.execute",
    "Feedback": "modelkeep.registry.feedback",
    "FeedbackExistsError": "modelkeep.errors",
    "FeedbackSummary": "modelkeep.registry.feedback",
    "FieldChange": "modelkeep.registry.diff",
    "FileChangedError": "modelkeep.errors",
    "GatePolicy": "modelkeep.registry.gates",
    "GateResult": "modelkeep.registry.gates",
    "GcResult": "modelkeep.registry.roots",
    "HistorySummary": "modelkeep.tracking.history",
    "IntegrityError": "modelkeep.errors",
    "InvalidDeployConfigError": "modelkeep.errors",
    "InvalidInputError": "modelkeep.errors",
    "InvalidMetadataError": "modelkeep.errors",
    "InvalidMetricError": "modelkeep.errors",
    "InvalidModelInputError": "modelkeep.errors",
    "InvalidNameError": "modelkeep.errors",
    "InvalidPolicyError": "modelkeep.errors",
    "InvalidVersionError": "modelkeep.errors",
    "Keep": "modelkeep.keep",
    "KeepCheck": "modelkeep.registry.integrity",
    "KeepExistsError": "modelkeep.errors",
    "KeepInterface": "modelkeep.interface",
    "KeepNotFoundError": "modelkeep.errors",
    "LfsReport": "modelkeep.storage.lfs",
    "LoadedModel": "modelkeep.registry.loaders.base",
    "LoaderError": "modelkeep.errors",
    "LoaderFailedError": "modelkeep.errors",
    "LoaderMissingError": "modelkeep.errors",
    "MetricHistory": "modelkeep.tracking.history",
    "Migration": "modelkeep.db.migrate",
    "MissingDependencyError": "modelkeep.errors",
    "ModelMetadata": "modelkeep.schema.metadata",
    "ModelNotFoundError": "modelkeep.errors",
    "ModelSummary": "modelkeep.registry.versions",
    "ModelkeepError": "modelkeep.errors",
    "Moments": "modelkeep.registry.ab_tally",
    "NotDeployedError": "modelkeep.errors",
    "NotFoundError": "modelkeep.errors",
    "ObjectNotFoundError": "modelkeep.errors",
    "OutputExistsError": "modelkeep.errors",
    "PathNotFoundError": "modelkeep.errors",
    "PayloadItem": "modelkeep.registry.payloads",
    "PayloadPolicy": "modelkeep.registry.payloads",
    "Pointer": "modelkeep.storage.pointers",
    "Prediction": "modelkeep.registry.loaders.base",
    "PredictionMemoryError": "modelkeep.errors",
    "PredictionTimeoutError": "modelkeep.errors",
    "ProviderNotConfiguredError": "modelkeep.errors",
    "PurgeResult": "modelkeep.registry.payloads",
    "RemoteAuthError": "modelkeep.errors",
    "RemoteError": "modelkeep.errors",
    "RemoteInfo": "modelkeep.storage.remotes",
    "RemoteNotFoundError": "modelkeep.errors",
    "RemoteRecordInvalidError": "modelkeep.errors",
    "ReproduceReport": "modelkeep.tracking.reproduce_run",
    "ReproductionIncompleteError": "modelkeep.errors",
    "RequestNotFoundError": "modelkeep.errors",
    "RestoredPointers": "modelkeep.storage.pointer_results",
    "Rollout": "modelkeep.registry.rollout",
    "RolloutStateError": "modelkeep.errors",
    "Run": "modelkeep.run",
    "RunComparison": "modelkeep.tracking.views",
    "RunInfo": "modelkeep.tracking.runs",
    "RunNotActiveError": "modelkeep.errors",
    "RunNotFoundError": "modelkeep.errors",
    "RunSummary": "modelkeep.tracking.views",
    "RunView": "modelkeep.tracking.views",
    "SampleRatio": "modelkeep.registry.ab_report",
    "SchemaAheadError": "modelkeep.errors",
    "SchemaBehindError": "modelkeep.errors",
    "ServerNotSupportedError": "modelkeep.errors",
    "ServingNeeds": "modelkeep.registry.dependency_lock",
    "ServingPeriod": "modelkeep.registry.deploy_history",
    "SignatureMismatchError": "modelkeep.errors",
    "SignatureUnknownError": "modelkeep.errors",
    "StorageError": "modelkeep.errors",
    "StoreNotSupportedError": "modelkeep.errors",
    "SyncResult": "modelkeep.registry.publish",
    "TargetUnreachableError": "modelkeep.errors",
    "UnknownFormatError": "modelkeep.errors",
    "UnsafePathError": "modelkeep.errors",
    "UntrustedPickleError": "modelkeep.errors",
    "UpstreamError": "modelkeep.errors",
    "UpstreamTimeoutError": "modelkeep.errors",
    "ValidationReport": "modelkeep.registry.validation.results",
    "ValidationRequiredError": "modelkeep.errors",
    "ValidationStatus": "modelkeep.registry.validation.results",
    "Version": "modelkeep.registry.semver",
    "VersionDiff": "modelkeep.registry.diff",
    "VersionDocuments": "modelkeep.registry.documents",
    "VersionExistsError": "modelkeep.errors",
    "VersionInfo": "modelkeep.registry.versions",
    "VersionListing": "modelkeep.registry.views",
    "VersionNotFoundError": "modelkeep.errors",
    "VersionPrunedError": "modelkeep.errors",
    "VersionRecord": "modelkeep.registry.records",
    "VersionStats": "modelkeep.registry.serving",
    "VersionUnhealthyError": "modelkeep.errors",
    "VersionView": "modelkeep.registry.views",
    "WorkerFailedError": "modelkeep.errors",
    "dump_metadata": "modelkeep.schema.formats",
    "json_schema": "modelkeep.schema.formats",
    "load_metadata": "modelkeep.schema.formats",
    "parse_metadata": "modelkeep.schema.formats",
    "start_run": "modelkeep.script",
}

__all__ = sorted(_EXPORTS)

# The same names, imported for type checkers only: ``modelkeep.Keep.open()`` is then typed in
# users' code, not ``Any`` (test_api.py checks the two lists agree).
if TYPE_CHECKING:
    from modelkeep.db.migrate import Migration
    from modelkeep.errors import (
        AliasNotFoundError,
        ArtifactsMismatchError,
        BudgetExhaustedError,
        ConflictError,
        CorruptObjectError,
        DatabaseEmptyError,
        DatabaseMissingError,
        DatasetNotFoundError,
        DiskFullError,
        EntryPointError,
        EnvBuildError,
        FeedbackExistsError,
        FileChangedError,
        IntegrityError,
        InvalidDeployConfigError,
        InvalidInputError,
        InvalidMetadataError,
        InvalidMetricError,
        InvalidModelInputError,
        InvalidNameError,
        InvalidPolicyError,
        InvalidVersionError,
        KeepExistsError,
        KeepNotFoundError,
        LoaderError,
        LoaderFailedError,
        LoaderMissingError,
        MissingDependencyError,
        ModelkeepError,
        ModelNotFoundError,
        NotDeployedError,
        NotFoundError,
        ObjectNotFoundError,
        OutputExistsError,
        PathNotFoundError,
        PredictionMemoryError,
        PredictionTimeoutError,
        ProviderNotConfiguredError,
        RemoteAuthError,
        RemoteError,
        RemoteNotFoundError,
        RemoteRecordInvalidError,
        ReproductionIncompleteError,
        RequestNotFoundError,
        RolloutStateError,
        RunNotActiveError,
        RunNotFoundError,
        SchemaAheadError,
        SchemaBehindError,
        ServerNotSupportedError,
        SignatureMismatchError,
        SignatureUnknownError,
        StorageError,
        StoreNotSupportedError,
        TargetUnreachableError,
        UnknownFormatError,
        UnsafePathError,
        UntrustedPickleError,
        UpstreamError,
        UpstreamTimeoutError,
        ValidationRequiredError,
        VersionExistsError,
        VersionNotFoundError,
        VersionPrunedError,
        VersionUnhealthyError,
        WorkerFailedError,
    )
    from modelkeep.interface import KeepInterface
    from modelkeep.keep import Keep
    from modelkeep.registry.ab_report import AbReport, ArmComparison, ArmMetric, ArmReport, SampleRatio
    from modelkeep.registry.ab_tally import ArmTally, Moments
    from modelkeep.registry.aliases import AliasMove
    from modelkeep.registry.candidates import BumpReport
    from modelkeep.registry.costs import Budget, CallCost, CostLine, CostReport
    from modelkeep.registry.dependency_lock import ServingNeeds
    from modelkeep.registry.deploy_config import DeployConfig
    from modelkeep.registry.deploy_history import ServingPeriod
    from modelkeep.registry.deployments import DeploymentEvent
    from modelkeep.registry.diff import FieldChange, VersionDiff
    from modelkeep.registry.documents import DocsResult, VersionDocuments
    from modelkeep.registry.feedback import Feedback, FeedbackSummary
    from modelkeep.registry.gates import GatePolicy, GateResult
    from modelkeep.registry.integrity import KeepCheck
    from modelkeep.registry.loaders.base import LoadedModel, Prediction
    from modelkeep.registry.payloads import PayloadItem, PayloadPolicy, PurgeResult
    from modelkeep.registry.publish import SyncResult
    from modelkeep.registry.records import VersionRecord
    from modelkeep.registry.rollout import Deployment, Rollout
    from modelkeep.registry.roots import GcResult
    from modelkeep.registry.semver import Version
    from modelkeep.registry.serving import VersionStats
    from modelkeep.registry.validation.results import CheckResult, ValidationReport, ValidationStatus
    from modelkeep.registry.versions import ModelSummary, VersionInfo
    from modelkeep.registry.views import VersionListing, VersionView
    from modelkeep.run import Run
    from modelkeep.schema.formats import dump_metadata, json_schema, load_metadata, parse_metadata
    from modelkeep.schema.metadata import ModelMetadata
    from modelkeep.script import start_run
    from modelkeep.storage.checkout import CheckoutStats
    from modelkeep.storage.lfs import LfsReport
    from modelkeep.storage.pointer_results import AddedPath, RestoredPointers
    from modelkeep.storage.pointers import Pointer
    from modelkeep.storage.remotes import RemoteInfo
    from modelkeep.tracking.execute import ExecResult
    from modelkeep.tracking.history import HistorySummary, MetricHistory
    from modelkeep.tracking.reproduce_run import ReproduceReport
    from modelkeep.tracking.runs import RunInfo
    from modelkeep.tracking.views import (
        DatasetRunUse,
        DatasetSummary,
        DatasetVersionUse,
        DatasetView,
        RunComparison,
        RunSummary,
        RunView,
    )


def __getattr__(name: str) -> Any:
    return _lazy.load(globals(), _EXPORTS, name)


def __dir__() -> list[str]:
    return _lazy.names(globals(), __all__)
