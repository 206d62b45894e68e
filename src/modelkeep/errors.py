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
    │   ├── FileChangedError            code=file_changed
    │   ├── ArtifactsMismatchError      code=artifacts_mismatch
    │   └── PathNotFoundError           code=path_not_found
    ├── NotFoundError                   code=not_found             exit 3   http 404
    │   ├── KeepNotFoundError           code=keep_not_found
    │   ├── ModelNotFoundError          code=model_not_found
    │   ├── VersionNotFoundError        code=version_not_found
    │   ├── AliasNotFoundError          code=alias_not_found
    │   ├── ObjectNotFoundError         code=object_not_found
    │   ├── RunNotFoundError            code=run_not_found
    │   ├── RemoteNotFoundError         code=remote_not_found
    │   └── DatasetNotFoundError        code=dataset_not_found
    ├── ConflictError                   code=conflict              exit 4   http 409
    │   ├── KeepExistsError             code=keep_exists
    │   ├── VersionExistsError          code=version_exists
    │   └── RunNotActiveError           code=run_not_active
    ├── MissingDependencyError          code=missing_dependency    exit 1   http 500
    ├── IntegrityError                  code=integrity             exit 5   http 500
    │   └── CorruptObjectError          code=object_corrupt
    └── StorageError                    code=storage_error         exit 6   http 502
        ├── DiskFullError               code=disk_full
        ├── RemoteError                 code=remote_unreachable
        └── RemoteAuthError             code=remote_auth

The message is data (built from fields); presentation (CLI line, JSON body) lives in cli/ and
server/. ``error_from_code`` maps a code back to its class, for the HTTP client.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any, ClassVar


class ModelkeepError(Exception):
    """Base of every error modelkeep raises on purpose."""

    code: ClassVar[str] = "error"
    http_status: ClassVar[int] = 500
    exit_code: ClassVar[int] = 1

    def __init__(self, message: str, *, hint: str | None = None, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.fields = fields

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
    code = "invalid_input"
    http_status = 400
    exit_code = 2


class InvalidVersionError(InvalidInputError):
    code = "invalid_version"


class InvalidNameError(InvalidInputError):
    code = "invalid_name"


class InvalidMetadataError(InvalidInputError):
    code = "invalid_metadata"


class InvalidMetricError(InvalidInputError):
    code = "invalid_metric"


class UnsafePathError(InvalidInputError):
    code = "unsafe_path"


class PathNotFoundError(InvalidInputError):
    code = "path_not_found"


class FileChangedError(InvalidInputError):
    """A file changed (size or mtime) while modelkeep was reading it; nothing was recorded."""

    code = "file_changed"


class ArtifactsMismatchError(InvalidInputError):
    """The files given do not form the tree the metadata names (``import --artifacts``)."""

    code = "artifacts_mismatch"


class NotFoundError(ModelkeepError):
    code = "not_found"
    http_status = 404
    exit_code = 3


class KeepNotFoundError(NotFoundError):
    code = "keep_not_found"


class ModelNotFoundError(NotFoundError):
    code = "model_not_found"


class VersionNotFoundError(NotFoundError):
    code = "version_not_found"


class AliasNotFoundError(NotFoundError):
    code = "alias_not_found"


class ObjectNotFoundError(NotFoundError):
    code = "object_not_found"


class RunNotFoundError(NotFoundError):
    code = "run_not_found"


class RemoteNotFoundError(NotFoundError):
    code = "remote_not_found"


class DatasetNotFoundError(NotFoundError):
    code = "dataset_not_found"


class ConflictError(ModelkeepError):
    code = "conflict"
    http_status = 409
    exit_code = 4


class KeepExistsError(ConflictError):
    code = "keep_exists"


class VersionExistsError(ConflictError):
    code = "version_exists"


class RunNotActiveError(ConflictError):
    code = "run_not_active"


class MissingDependencyError(ModelkeepError):
    """An optional extra this operation needs is not installed (e.g. psycopg for PostgreSQL)."""

    code = "missing_dependency"


class IntegrityError(ModelkeepError):
    code = "integrity"
    http_status = 500
    exit_code = 5


class CorruptObjectError(IntegrityError):
    code = "object_corrupt"


class StorageError(ModelkeepError):
    code = "storage_error"
    http_status = 502
    exit_code = 6


class DiskFullError(StorageError):
    code = "disk_full"
    http_status = 507


class RemoteError(StorageError):
    code = "remote_unreachable"


class RemoteAuthError(StorageError):
    code = "remote_auth"
    http_status = 401


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
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None
