"""The whole modelkeep exception tree.

Every user-facing error is a ``ModelkeepError`` carrying a stable ``code``, an ``http_status``,
an ``exit_code``, structured ``fields`` and a ``hint`` naming the next command to try::

    ModelkeepError                      code=error                 exit 1   http 500
    ├── InvalidInputError               code=invalid_input         exit 2   http 400
    │   ├── InvalidVersionError         code=invalid_version
    │   ├── InvalidNameError            code=invalid_name
    │   ├── InvalidMetadataError        code=invalid_metadata
    │   ├── InvalidMetricError          code=invalid_metric
    │   ├── UnsafePathError             code=unsafe_path
    │   ├── PathNotFoundError           code=path_not_found
    │   ├── FileChangedError            code=file_changed
    │   ├── RemoteRecordInvalidError    code=remote_record_invalid
    │   ├── ArtifactsMismatchError      code=artifacts_mismatch
    │   ├── ServerNotSupportedError     code=server_not_supported
    │   ├── StoreNotSupportedError      code=store_not_supported
    │   ├── InvalidPolicyError          code=invalid_policy
    │   ├── ReproductionIncompleteError code=reproduction_incomplete
    │   ├── UnknownFormatError          code=unknown_format
    │   ├── LoaderMissingError          code=loader_missing
    │   ├── UntrustedPickleError        code=pickle_untrusted        http 403
    │   ├── SignatureUnknownError       code=signature_unknown
    │   ├── InvalidModelInputError      code=invalid_model_input
    │   │   └── SignatureMismatchError  code=signature_mismatch      http 422
    │   └── InvalidDeployConfigError    code=invalid_deploy_config
    ├── NotFoundError                   code=not_found             exit 3   http 404
    │   ├── KeepNotFoundError           code=keep_not_found
    │   ├── ModelNotFoundError          code=model_not_found
    │   ├── VersionNotFoundError        code=version_not_found
    │   ├── AliasNotFoundError          code=alias_not_found
    │   ├── ObjectNotFoundError         code=object_not_found
    │   ├── RunNotFoundError            code=run_not_found
    │   ├── RemoteNotFoundError         code=remote_not_found
    │   ├── DatasetNotFoundError        code=dataset_not_found
    │   ├── NotDeployedError            code=not_deployed
    │   └── RequestNotFoundError        code=request_not_found
    ├── ConflictError                   code=conflict              exit 4   http 409
    │   ├── KeepExistsError             code=keep_exists
    │   ├── VersionExistsError          code=version_exists
    │   ├── VersionPrunedError          code=version_pruned
    │   ├── DatabaseEmptyError          code=database_empty
    │   ├── ValidationRequiredError     code=validation_required
    │   ├── OutputExistsError           code=output_exists
    │   ├── RunNotActiveError           code=run_not_active
    │   ├── SchemaBehindError           code=schema_behind
    │   ├── SchemaAheadError            code=schema_ahead
    │   ├── RolloutStateError           code=rollout_state
    │   ├── BudgetExhaustedError        code=budget_exhausted        http 402
    │   └── FeedbackExistsError         code=feedback_exists
    ├── MissingDependencyError          code=missing_dependency    exit 1   http 500
    ├── IntegrityError                  code=integrity             exit 5   http 500
    │   └── CorruptObjectError          code=object_corrupt
    ├── StorageError                    code=storage_error         exit 6   http 502
    │   ├── DiskFullError               code=disk_full               http 507
    │   ├── DatabaseMissingError        code=database_missing
    │   ├── RemoteError                 code=remote_unreachable
    │   └── RemoteAuthError             code=remote_auth             http 401
    ├── LoaderError                     code=loader_error          exit 1   http 500
    │   ├── LoaderFailedError           code=loader_failed
    │   │   └── PredictionMemoryError   code=prediction_out_of_memory
    │   ├── EntryPointError             code=entry_point_invalid
    │   ├── VersionUnhealthyError       code=version_unhealthy       http 503
    │   ├── PredictionTimeoutError      code=prediction_timeout      http 504
    │   ├── EnvBuildError               code=env_build_failed        http 503
    │   ├── WorkerFailedError           code=worker_failed
    │   ├── ProviderNotConfiguredError  code=provider_not_configured http 503
    │   └── UpstreamError               code=upstream_failed         http 502
    │       └── UpstreamTimeoutError    code=upstream_timeout        http 504
    └── TargetUnreachableError          code=target_unreachable    exit 6   http 502

The message is data (built from fields); presentation (CLI line, JSON body) lives in cli/ and
server/. Message, hint and string fields pass through ``redact.redact_text``: a URL's password
or a ``password=...`` never reaches a terminal, a log or an HTTP body.
``error_from_code`` maps a code back to its class, for the HTTP client.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from modelkeep.redact import redact_text


class ModelkeepError(Exception):
    """Base of every error modelkeep raises on purpose."""

    code: ClassVar[str] = "error"
    http_status: ClassVar[int] = 500
    exit_code: ClassVar[int] = 1
    # the hint when a raise site gives none: every error names a next step
    default_hint: ClassVar[str] = "see docs/errors.md for what this error means"

    def __init__(self, message: str, *, hint: str | None = None, **fields: Any) -> None:
        message = redact_text(message)  # no credential reaches a terminal, log or HTTP body
        super().__init__(message)
        self.message = message
        self.hint = redact_text(hint) if hint else self.default_hint
        self.fields = {k: redact_text(v) if isinstance(v, str) else v for k, v in fields.items()}

    def to_dict(self) -> dict[str, Any]:
        """The one JSON shape every error takes on the wire and in ``--json`` output."""
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "hint": self.hint,
                "fields": {k: _jsonable(v) for k, v in self.fields.items()},
            }
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)


class InvalidInputError(ModelkeepError):
    """Bad input from the user: an argument, a file or a value modelkeep refuses."""

    code = "invalid_input"
    default_hint = "check the command's arguments: modelkeep COMMAND --help"
    http_status = 400
    exit_code = 2


class InvalidVersionError(InvalidInputError):
    """A version that is not SemVer 2.0.0, or one too small for what changed since the last."""

    code = "invalid_version"
    default_hint = "versions look like 1.2.3 (SemVer 2.0.0); see docs/versioning.md"


class InvalidNameError(InvalidInputError):
    """A model, alias, run, metric or dataset name that breaks the naming rules."""

    code = "invalid_name"
    default_hint = "names are letters, digits, '.', '-' and '_'; see docs/versioning.md"


class InvalidMetadataError(InvalidInputError):
    """A metadata file (JSON, YAML or protobuf) that fails the schema."""

    code = "invalid_metadata"
    default_hint = (
        "fix the metadata file; its fields are in docs/metadata.md (modelkeep schema prints the JSON Schema)"
    )


class InvalidMetricError(InvalidInputError):
    """A metric value that is not a number, or a metric name that is invalid."""

    code = "invalid_metric"
    default_hint = "metrics are numbers (NaN and inf allowed): --metric accuracy=0.93"


class UnsafePathError(InvalidInputError):
    """A path that would leave its folder (``..``, absolute, through a symlink)."""

    code = "unsafe_path"
    default_hint = "use relative paths inside the folder, without '..', and no symlinked parents"


class PathNotFoundError(InvalidInputError):
    """A file or folder given on the command line or to the API does not exist."""

    code = "path_not_found"
    default_hint = "check the path (ls it), or run from the folder that holds it"


class FileChangedError(InvalidInputError):
    """A file changed (size or mtime) while modelkeep was reading it; nothing was recorded."""

    code = "file_changed"
    default_hint = "a file changed while it was read: run the command again once it is written"


class RemoteRecordInvalidError(InvalidInputError):
    """A version or aliases record on a remote fails validation; nothing of it was adopted."""

    code = "remote_record_invalid"
    default_hint = "the remote holds a damaged or forged record: push it again from a keep you trust"


class ArtifactsMismatchError(InvalidInputError):
    """The files given do not form the tree the metadata names (``import --artifacts``)."""

    code = "artifacts_mismatch"
    default_hint = "pass --artifacts the folder the metadata were exported from"


class ServerNotSupportedError(InvalidInputError):
    """An ``http(s)://`` keep: the team server and its client do not exist yet."""

    code = "server_not_supported"
    default_hint = ("open a keep folder (--keep PATH), or a database URL with MODELKEEP_STORE_URL; "
                    "see docs/configuration.md")


class StoreNotSupportedError(InvalidInputError):
    """A primary store URL the local store cannot hold (object storage): use it as a remote."""

    code = "store_not_supported"
    default_hint = "keep objects in a local folder and add the URL as a remote: modelkeep remote add"
class InvalidPolicyError(InvalidInputError):
    """A validation policy file that is malformed, names an unknown key, or defines no checks."""

    code = "invalid_policy"
    default_hint = "fix the policy file; its format is in docs/validation.md"


class ReproductionIncompleteError(InvalidInputError):
    """``reproduce --strict``: the version does not record everything it was made from."""

    code = "reproduction_incomplete"
    default_hint = "run reproduce without --strict to lay out what the version records"


class UnknownFormatError(InvalidInputError):
    """An export format (``export --as``) modelkeep does not write."""

    code = "unknown_format"
    default_hint = "modelkeep export --help lists the formats"


class NotFoundError(ModelkeepError):
    """Something named does not exist in the keep (the base of the ``*NotFound`` errors)."""

    code = "not_found"
    default_hint = "check the name: modelkeep list"
    http_status = 404
    exit_code = 3


class KeepNotFoundError(NotFoundError):
    """No keep here: no ``.modelkeep/`` in this folder or its parents, or at ``--keep``."""

    code = "keep_not_found"
    default_hint = "run 'modelkeep init' here, or pass --keep PATH"


class ModelNotFoundError(NotFoundError):
    """No model of that name is registered."""

    code = "model_not_found"
    default_hint = "see the registered models: modelkeep list"


class VersionNotFoundError(NotFoundError):
    """The model has no such version (or the alias names none at that time)."""

    code = "version_not_found"
    default_hint = "see the versions: modelkeep list NAME"


class AliasNotFoundError(NotFoundError):
    """The model has no such alias."""

    code = "alias_not_found"
    default_hint = "see the aliases: modelkeep alias list NAME"


class ObjectNotFoundError(NotFoundError):
    """An object (blob, manifest or tree) is not in the local store."""

    code = "object_not_found"
    default_hint = "pull it from a remote that has it: modelkeep pull NAME@VERSION"


class RunNotFoundError(NotFoundError):
    """No run has that id (or unique id prefix)."""

    code = "run_not_found"
    default_hint = "see the runs: modelkeep runs list"


class RemoteNotFoundError(NotFoundError):
    """No remote of that name is configured."""

    code = "remote_not_found"
    default_hint = "see the remotes: modelkeep remote list"


class DatasetNotFoundError(NotFoundError):
    """No dataset of that name or tree id is recorded."""

    code = "dataset_not_found"
    default_hint = "see the datasets: modelkeep datasets list"


class ConflictError(ModelkeepError):
    """The keep's state forbids the operation (the base of the conflict errors)."""

    code = "conflict"
    default_hint = "see the current state with modelkeep list, then retry"
    http_status = 409
    exit_code = 4


class KeepExistsError(ConflictError):
    """``init`` where a keep already exists."""

    code = "keep_exists"
    default_hint = "use it as it is, or remove .modelkeep/ to start again"


class VersionExistsError(ConflictError):
    """The version number asked for is already registered for that model."""

    code = "version_exists"
    default_hint = "register with another --version, or let modelkeep choose the next one"


class VersionPrunedError(ConflictError):
    """The version's artifacts were pruned by gc: pull it back before pointing an alias at it."""

    code = "version_pruned"
    default_hint = "bring its artifacts back first: modelkeep pull NAME@VERSION"


class DatabaseEmptyError(ConflictError):
    """The database records nothing but the store holds objects: gc refuses unless forced."""

    code = "database_empty"
    default_hint = (
        "check the database URL; if the store's objects are truly unwanted: modelkeep gc --force"
    )


class ValidationRequiredError(ConflictError):
    """A protected alias may only point at a version whose latest validation passed."""

    code = "validation_required"
    default_hint = ("validate the version first: modelkeep validate NAME@VERSION --policy FILE, "
                    "or move the alias with --force --reason TEXT")


class OutputExistsError(ConflictError):
    """A file modelkeep was asked to write exists already; nothing was written."""

    code = "output_exists"
    default_hint = "choose another path, or pass --force to replace the file"


class RunNotActiveError(ConflictError):
    """Logging to (or ending) a run that has already ended."""

    code = "run_not_active"
    default_hint = "start a new run: modelkeep.start_run()"


class SchemaBehindError(ConflictError):
    """The database's schema is older than this modelkeep's and must be migrated first."""

    code = "schema_behind"
    default_hint = "run 'modelkeep migrate' (see docs/configuration.md#upgrading)"


class SchemaAheadError(ConflictError):
    """The database was written by a newer modelkeep: this one may not write to it."""

    code = "schema_ahead"
    default_hint = "upgrade modelkeep: pip install -U modelkeep"


class MissingDependencyError(ModelkeepError):
    """An optional extra this operation needs is not installed (e.g. psycopg for PostgreSQL)."""

    code = "missing_dependency"
    default_hint = "install the extra the message names, e.g. pip install 'modelkeep[postgres]'"


class IntegrityError(ModelkeepError):
    """Stored bytes are damaged: an object's hash, a manifest or a tree is wrong."""

    code = "integrity"
    default_hint = "run 'modelkeep fsck' to see what is damaged"
    http_status = 500
    exit_code = 5


class CorruptObjectError(IntegrityError):
    """An object's bytes no longer hash to its id (it is quarantined)."""

    code = "object_corrupt"
    default_hint = "run 'modelkeep fsck', then pull the object again from a remote"


class StorageError(ModelkeepError):
    """The disk, the database file or a remote failed (the base of storage errors)."""

    code = "storage_error"
    default_hint = "check the disk and the keep's permissions, then retry"
    http_status = 502
    exit_code = 6


class DiskFullError(StorageError):
    """No space left on the device holding the keep; nothing was half-written."""

    code = "disk_full"
    default_hint = "free space on the disk holding the keep, then retry"
    http_status = 507


class DatabaseMissingError(StorageError):
    """The keep's database is missing or holds no modelkeep schema; only ``init`` makes one."""

    code = "database_missing"
    default_hint = "restore the database file (or its backup), or run 'modelkeep init' in a new folder"


class RemoteError(StorageError):
    """A remote cannot be reached or answered with an error."""

    code = "remote_unreachable"
    default_hint = "check the remote's URL and the network: modelkeep remote list"


class RemoteAuthError(StorageError):
    """A remote refused modelkeep's credentials."""

    code = "remote_auth"
    default_hint = "check the remote's credentials: modelkeep remote list"
    http_status = 401


# -- loaders (running a version: docs/running.md) ------------------------------------------


class LoaderMissingError(InvalidInputError):
    """The version declares no loader, so modelkeep does not know how to call it."""

    code = "loader_missing"
    default_hint = "register it with --loader KIND[:TARGET] (see docs/running.md)"


class UntrustedPickleError(InvalidInputError):
    """A pickle loader for a model the keep's config does not trust: unpickling runs code."""

    code = "pickle_untrusted"
    default_hint = "trust the model by name in .modelkeep/config.toml: [loaders] trusted_pickles"
    http_status = 403


class SignatureUnknownError(InvalidInputError):
    """A signature modelkeep cannot infer from the version's files."""

    code = "signature_unknown"
    default_hint = "declare one under technical.signature in the metadata file (docs/running.md)"


class InvalidModelInputError(InvalidInputError):
    """Inputs for predict that are not JSON or do not match the version's signature."""

    code = "invalid_model_input"
    default_hint = "see the version's signature: modelkeep show NAME@VERSION"


class SignatureMismatchError(InvalidModelInputError):
    """Well-formed inputs that do not match the version's signature; the message quotes it."""

    code = "signature_mismatch"
    http_status = 422


class LoaderError(ModelkeepError):
    """A version could not be loaded or called through its loader."""

    code = "loader_error"
    default_hint = "check the version's loader and files: modelkeep show NAME@VERSION"


class LoaderFailedError(LoaderError):
    """The loader or the model raised; the message is the exception's type and text."""

    code = "loader_failed"


class EntryPointError(LoaderError):
    """An entry point that names no module or function inside the version's own files."""

    code = "entry_point_invalid"
    default_hint = "entry points are 'module:function' in the code snapshot or artifacts"


# -- deployments and the gateway (docs/gateway.md) -------------------------------------------


class NotDeployedError(NotFoundError):
    """A model the gateway does not serve: never deployed, or the version asked for is not loaded."""

    code = "not_deployed"
    default_hint = "deploy it first: modelkeep deploy NAME@VERSION (see docs/gateway.md)"


class RequestNotFoundError(NotFoundError):
    """Feedback for a request id this gateway did not answer recently, with no model and version."""

    code = "request_not_found"
    default_hint = 'send the "model" and "version" the answer named along with its request_id'


class RolloutStateError(ConflictError):
    """A rollout command that does not fit the rollout's state (a second rollout, promote when
    none runs, resume when not paused, ...)."""

    code = "rollout_state"
    default_hint = "see where the rollout stands: modelkeep deploy status NAME"


class BudgetExhaustedError(ConflictError):
    """A hosted version's budget is spent (or reserved by calls in flight): no call is sent."""

    code = "budget_exhausted"
    default_hint = "raise it with modelkeep budget set NAME@VERSION AMOUNT, or route elsewhere"
    http_status = 402


class FeedbackExistsError(ConflictError):
    """Feedback for a request that already has feedback: one item per answer, so a retried
    or repeated post never counts twice toward the gates or an A/B arm."""

    code = "feedback_exists"
    default_hint = "each answer takes one feedback item; the first one sent is the one counted"


class VersionUnhealthyError(LoaderError):
    """The version that should answer failed to load in the gateway; the reason is in the message."""

    code = "version_unhealthy"
    default_hint = "see what failed: GET /healthz on the gateway, or modelkeep predict NAME@VERSION"
    http_status = 503


class PredictionTimeoutError(LoaderError):
    """A prediction took longer than the gateway's per-request timeout (counted as an error)."""

    code = "prediction_timeout"
    default_hint = "raise it with modelkeep gateway --timeout SECONDS, or make the model faster"
    http_status = 504


class PredictionMemoryError(LoaderFailedError):
    """A prediction ran out of memory (MemoryError: the process's memory limit, or the
    machine's); the request fails, the gateway goes on serving."""

    code = "prediction_out_of_memory"
    default_hint = "give the gateway more room (modelkeep gateway --memory-limit) or send smaller inputs"


class InvalidDeployConfigError(InvalidInputError):
    """A deployment configuration (``--config`` file or flags) that cannot be used."""

    code = "invalid_deploy_config"
    default_hint = "see the configuration file's keys: docs/gateway.md#deployment-configuration"


class EnvBuildError(LoaderError):
    """uv could not build the environment a version's dependency lock asks for."""

    code = "env_build_failed"
    default_hint = "check the version's dependencies lock and the package index (UV_INDEX_URL)"
    http_status = 503


class WorkerFailedError(LoaderError):
    """A version's worker process died or broke the protocol while answering."""

    code = "worker_failed"
    default_hint = "the gateway starts a new worker; see the gateway's stderr for the worker's"


# -- load tests and drills (docs/loadtest.md) -----------------------------------------------


class TargetUnreachableError(ModelkeepError):
    """A load test's or drill's target URL (a gateway, any HTTP endpoint) cannot be reached."""

    code = "target_unreachable"
    default_hint = "check that the server runs and the URL's host and port: curl -v URL"
    http_status = 502
    exit_code = 6

class ProviderNotConfiguredError(LoaderError):
    """A hosted version names a provider the keep's config.toml does not define, or whose API
    key is not where the config says (the key itself is never shown)."""

    code = "provider_not_configured"
    default_hint = ("add [providers.NAME] base_url and api_key_env (or api_key_file) to "
                    ".modelkeep/config.toml; see docs/hosted.md")
    http_status = 503


class UpstreamError(LoaderError):
    """A hosted version's upstream failed (429, 5xx, malformed JSON, refused connection) after
    the bounded retries; counted as the version's error by the gates."""

    code = "upstream_failed"
    default_hint = "retry later; the upstream's status is in the message (docs/hosted.md)"
    http_status = 502


class UpstreamTimeoutError(UpstreamError):
    """A hosted version's upstream did not answer within the provider's timeout, every try."""

    code = "upstream_timeout"
    default_hint = "retry later, or raise [providers.NAME] timeout in .modelkeep/config.toml"
    http_status = 504


def _all_subclasses(cls: type[ModelkeepError]) -> list[type[ModelkeepError]]:
    found = [cls]
    for sub in cls.__subclasses__():
        found.extend(_all_subclasses(sub))
    return found


def error_from_code(code: str) -> type[ModelkeepError]:
    """The error class for a wire ``code``; the base class for codes this version does not know."""
    for cls in _all_subclasses(ModelkeepError):
        if cls.code == code:
            return cls
    return ModelkeepError


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A 'did you mean X?' fragment for a near-miss name, or None when nothing is close."""
    import difflib  # only when a name was not found: every process imports this module

    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None
