"""The SHA-256 of stored files, kept once computed (Git LFS and the Hugging Face Hub key by it).

A chunked file's manifest carries its SHA-256 when it was computed at add time. Manifests are
immutable (their id is their content), so a SHA-256 computed later (``export-lfs``), and the
SHA-256 of files stored as one blob, go in this index instead: ``.modelkeep/sha256/ab/<file id>``
holds the 64 hex digits of the SHA-256 of file ``ab…`` (its BLAKE3 content id). One tiny file
per entry, written atomically: concurrent writers agree (the value is a function of the key),
and a lost entry only costs recomputing it.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

from modelkeep.storage.durable import write_file_atomic
from modelkeep.storage.hashing import check_object_id

_SHA256 = re.compile(r"[0-9a-f]{64}")


class Sha256Index:
    """file id (BLAKE3) -> SHA-256 hex, stored under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, file_id: str) -> Path:
        check_object_id(file_id)
        return self.root / file_id[:2] / file_id[2:]

    def get(self, file_id: str) -> str | None:
        """The recorded SHA-256 of file ``file_id``, or None."""
        with contextlib.suppress(OSError, UnicodeDecodeError):
            value = self._path(file_id).read_text(encoding="ascii").strip()
            if _SHA256.fullmatch(value):
                return value
        return None

    def put(self, file_id: str, sha256: str) -> None:
        """Record the SHA-256 of file ``file_id``."""
        if not _SHA256.fullmatch(sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        if self.get(file_id) == sha256:
            return
        path = self._path(file_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_file_atomic(path, sha256.encode("ascii") + b"\n", durable=False)
