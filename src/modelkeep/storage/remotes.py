"""Remotes: another place holding the same content-addressed objects, reached through fsspec.

A remote is a URL: a local or NFS path, ``s3://bucket/prefix`` (s3fs, also for S3-compatible
servers through ``endpoint_url``), ``gs://`` (gcsfs) or ``az://`` (adlfs). Layout under it::

    objects/ab/cdef…                  objects, named exactly as in the local store
    tmp/…                             uploads in flight where the filesystem can rename
    versions/NAME/VERSION.json        version records published by push (registry/publish.py)

Objects are immutable and content-addressed, so an upload is idempotent and a transfer that
was interrupted resumes by sending only what is still missing. Every failure of the remote
itself (unreachable, refused credentials, missing bucket, extra not installed) becomes one
RemoteError or RemoteAuthError with a hint; nothing local is touched by such a failure.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from modelkeep.errors import (
    InvalidInputError,
    ModelkeepError,
    ObjectNotFoundError,
    RemoteAuthError,
    RemoteError,
)
from modelkeep.redact import mask_known, option_secrets, redact_url
from modelkeep.results import Result
from modelkeep.storage.remote_errors import translate

SMALL_OBJECT = 16 << 20  # objects up to this size travel through memory, larger ones as files
_EXTRAS = {
    "s3": "s3",
    "s3a": "s3",
    "gs": "gcs",
    "gcs": "gcs",
    "az": "azure",
    "abfs": "azure",
    "abfss": "azure",
    "adl": "azure",
}
# friendly config keys -> what s3fs calls them
_S3_KEYS = {"access_key_id": "key", "secret_access_key": "secret", "session_token": "token"}


@dataclass(frozen=True)
class RemoteInfo(Result):
    """A configured remote as it may be shown: its URL and other options, secrets masked."""

    name: str
    url: str | None
    options: dict[str, Any]

    @classmethod
    def from_section(cls, name: str, section: Any) -> RemoteInfo:
        """From a (masked) ``[remotes.NAME]`` table of config.toml."""
        table = section if isinstance(section, dict) else {}
        url = table.get("url")
        return cls(name, url if isinstance(url, str) else None,
                   {k: v for k, v in table.items() if k != "url"})

    def to_dict(self) -> dict[str, Any]:
        """JSON form: the table as configured, ``url`` first (``name`` is the key above it)."""
        return {**({"url": self.url} if self.url is not None else {}), **self.options}


class Remote:
    """One remote: an fsspec filesystem and the root path of the layout above."""

    def __init__(
        self, name: str, url: str, options: dict[str, Any] | None = None, *, base: Path | None = None
    ) -> None:
        self.name = name
        self.url = url
        self.shown_url = redact_url(url)  # what messages say: never a password
        self._secrets = option_secrets({**(options or {}), "url": url})
        self.options = dict(options or {})
        self.fs, self.root = _open_fs(name, url, dict(self.options), base)
        self.is_local = "file" in _protocols(self.fs)
        self._probed = False  # whether a configured endpoint has answered once

    def __repr__(self) -> str:
        return f"Remote({self.name!r}, {self.shown_url!r})"

    # -- naming -----------------------------------------------------------------------------
    def key(self, rel: str) -> str:
        """The full path on the filesystem of ``rel`` (relative to the remote's root)."""
        return f"{self.root.rstrip('/')}/{rel}" if self.root else rel

    def object_key(self, oid: str) -> str:
        """Where object ``oid`` lives on the remote."""
        return self.key(f"objects/{oid[:2]}/{oid[2:]}")

    @contextlib.contextmanager
    def errors(self, what: str) -> Iterator[None]:
        """Turn any failure of the remote inside the block into one RemoteError/RemoteAuthError."""
        try:
            if not self.is_local and not self._probed:
                _probe_endpoint(self.options)
                self._probed = True
            yield
        except ModelkeepError:
            raise
        except Exception as exc:  # noqa: BLE001 - every backend raises its own types
            raise translate(exc, self.name, self.shown_url, what, secrets=self._secrets) from exc

    # -- checks -----------------------------------------------------------------------------
    def check(self, *, create: bool = False) -> None:
        """Fail early, with a clear message, when the remote cannot be used at all."""
        with self.errors("open"):
            if self.is_local:
                if create:
                    for sub in ("objects", "tmp"):
                        os.makedirs(self.key(sub), exist_ok=True)
                elif not os.path.isdir(self.root):
                    raise RemoteError(
                        f"remote '{self.name}' ({self.shown_url}) does not exist",
                        hint="push to it first, or fix the path: modelkeep remote list",
                        remote=self.name,
                    )
                if not os.access(self.root, os.R_OK | (os.W_OK if create else 0)):
                    raise RemoteAuthError(
                        f"remote '{self.name}' ({self.shown_url}): permission denied",
                        hint="check the folder's permissions",
                        remote=self.name,
                    )
                return
            self.fs.invalidate_cache()
            self.fs.ls(self.root.split("/", 1)[0] if self.root else "", detail=False)

    def clean_tmp(self, older_than: float = 3600.0) -> int:
        """Remove uploads a killed push left in a local remote's ``tmp/``; returns how many."""
        folder = self.key("tmp")
        if not self.is_local or not os.path.isdir(folder):
            return 0
        cutoff, removed = time.time() - older_than, 0
        with self.errors("clean"), os.scandir(folder) as entries:
            for e in entries:
                if e.name.endswith(".part") and e.stat(follow_symlinks=False).st_mtime < cutoff:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(e.path)
                        removed += 1
        return removed

    def missing(self, oids: Iterable[str], workers: int = 8) -> set[str]:
        """The ids among ``oids`` that the remote does not hold."""
        wanted = sorted(set(oids))
        if not wanted:
            return set()
        with self.errors("list objects on"):
            if self.is_local:
                return {oid for oid in wanted if not os.path.isfile(self.object_key(oid))}
            self.fs.invalidate_cache()
            if len(wanted) <= 64:
                with ThreadPoolExecutor(max(1, workers)) as pool:
                    present = list(pool.map(lambda o: self.fs.exists(self.object_key(o)), wanted))
                return {oid for oid, here in zip(wanted, present, strict=True) if not here}
            have = self.list_objects()
            return {oid for oid in wanted if oid not in have}

    def list_objects(self) -> set[str]:
        """Every object id on the remote (one listing; used for large transfers)."""
        with self.errors("list objects on"):
            base = self.key("objects")
            if self.is_local and not os.path.isdir(base):
                return set()
            found: set[str] = set()
            for path in self.fs.find(base, detail=False):
                parts = str(path).rstrip("/").rsplit("/", 2)
                if len(parts) == 3 and len(parts[1]) == 2:
                    found.add(parts[1] + parts[2])
            return found

    # -- small metadata files ---------------------------------------------------------------
    def read_bytes(self, rel: str, limit: int | None = None) -> bytes | None:
        """The content of ``rel``, or None when it does not exist; with ``limit``, at most
        ``limit + 1`` bytes are read (enough for the caller to refuse a larger file)."""
        with self.errors("read from"):
            try:
                if limit is None:
                    return bytes(self.fs.cat_file(self.key(rel)))
                with self.fs.open(self.key(rel), "rb") as stream:
                    return bytes(stream.read(limit + 1))
            except FileNotFoundError:
                return None

    def write_bytes(self, rel: str, data: bytes) -> None:
        """Write ``rel`` whole: readers see the old content or the new, never a part."""
        with self.errors("write to"):
            final = self.key(rel)
            if not self.is_local:
                self.fs.pipe_file(final, data)
                return
            os.makedirs(os.path.dirname(final), exist_ok=True)
            tmp = self.key(f"tmp/{os.urandom(8).hex()}.part")
            os.makedirs(os.path.dirname(tmp), exist_ok=True)
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, final)

    def list_names(self, rel: str) -> list[str]:
        """The names directly under folder ``rel`` (empty when it does not exist)."""
        with self.errors("list"):
            try:
                entries = self.fs.ls(self.key(rel), detail=False)
            except FileNotFoundError:
                return []
            return sorted(str(e).rstrip("/").rsplit("/", 1)[-1] for e in entries)

    def not_found(self, oid: str) -> ObjectNotFoundError:
        """The error for an object the remote should hold but does not."""
        return ObjectNotFoundError(
            f"object {oid} is not on remote '{self.name}' ({self.shown_url})",
            hint="push it from a keep that has it, or pull from another remote",
            oid=oid,
            remote=self.name,
        )


def _protocols(fs: Any) -> tuple[str, ...]:
    proto = fs.protocol
    return (proto,) if isinstance(proto, str) else tuple(proto)


def _open_fs(name: str, url: str, options: dict[str, Any], base: Path | None) -> tuple[Any, str]:
    import fsspec.core

    scheme = url.split("://", 1)[0] if "://" in url else "file"
    if scheme == "file":
        path = Path(url.removeprefix("file://")).expanduser()
        if not path.is_absolute():
            path = (base or Path.cwd()) / path
        url = str(path.resolve())
    options.pop("url", None)
    retries = options.pop("retries", None)
    if scheme in ("s3", "s3a"):
        options = _s3_options(options, retries)
    try:
        if scheme in ("gs", "gcs") and options.get("endpoint_url"):
            fs, root = _gcs_at_endpoint(url, options)
        else:
            fs, root = fsspec.core.url_to_fs(url, **options)
    except ImportError as exc:
        extra = _EXTRAS.get(scheme, scheme)
        raise RemoteError(
            f"remote '{name}' ({url}) needs the '{extra}' extra, which is not installed",
            hint=f"pip install 'modelkeep[{extra}]'",
            remote=name,
        ) from exc
    except (ValueError, TypeError) as exc:
        cause = mask_known(str(exc), option_secrets({**options, "url": url}))
        raise InvalidInputError(
            f"remote '{name}' has an unusable URL or option ({redact_url(url)}): {cause}",
            hint="see docs/remotes.md for the URL forms and options",
            remote=name,
        ) from exc
    if retries is not None and hasattr(fs, "retries"):
        fs.retries = max(1, int(retries))
    return fs, str(root).rstrip("/")


def _probe_endpoint(options: dict[str, Any], timeout: float = 5.0) -> None:
    """Fail at once when a configured endpoint refuses connections.

    gcsfs and the Azure SDK retry a refused connection with backoff for 30-80 s and offer no
    setting for it; one TCP connect to the endpoint tells the same in milliseconds.
    """
    endpoint = options.get("endpoint_url") or _blob_endpoint(str(options.get("connection_string") or ""))
    if not endpoint:
        return
    parts = urlsplit(str(endpoint))
    if not parts.hostname:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    socket.create_connection((parts.hostname, port), timeout).close()


def _blob_endpoint(connection_string: str) -> str | None:
    for part in connection_string.split(";"):
        key, _, value = part.partition("=")
        if key.strip().lower() == "blobendpoint":
            return value.strip()
    return None


def _gcs_at_endpoint(url: str, options: dict[str, Any]) -> tuple[Any, str]:
    """gcsfs's plain filesystem for a GCS-compatible server at ``endpoint_url``.

    gcsfs (2026.x) by default asks Google's gRPC control plane for each bucket's layout, which a
    private endpoint or an emulator does not serve: every call then waits out a 60 s timeout.
    The plain JSON-API filesystem is what such an endpoint speaks.
    """
    from gcsfs.core import GCSFileSystem

    options.setdefault("skip_instance_cache", True)
    fs = GCSFileSystem(**options)
    return fs, fs._strip_protocol(url)


def _s3_options(options: dict[str, Any], retries: Any) -> dict[str, Any]:
    out = {_S3_KEYS.get(k, k): v for k, v in options.items()}
    region = out.pop("region", None)
    if region:
        out.setdefault("client_kwargs", {})["region_name"] = region
    config = out.setdefault("config_kwargs", {})
    # s3fs retries with backoff itself; botocore retrying underneath multiplies the wait
    config.setdefault("retries", {"max_attempts": 1 if retries is None else max(1, int(retries))})
    config.setdefault("connect_timeout", 10)
    out.setdefault("skip_instance_cache", True)
    return out
