"""File manifests: how a large file is cut into chunks, stored as a canonical JSON blob.

A manifest lists the chunk ids and sizes in order, plus the whole file's id (BLAKE3 of the whole
content, the id the file would have as a single blob), its size, the chunker that cut it, and
its SHA-256 when that was computed at add time. Concatenating the chunks gives the file back;
``checkout`` verifies the result against ``file_id`` when asked to.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from modelkeep.errors import InvalidInputError
from modelkeep.storage.hashing import is_object_id
from modelkeep.storage.objects import ObjectStore

MANIFEST_FORMAT = "modelkeep.manifest"


@dataclass(frozen=True)
class FileManifest:
    """An ordered list of (chunk id, size) that rebuilds a file of ``size`` bytes."""

    file_id: str
    size: int
    chunks: tuple[tuple[str, int], ...]
    chunker: str = "fastcdc"
    sha256: str | None = None

    @property
    def chunk_ids(self) -> list[str]:
        """The chunk ids in file order (an id repeats if a chunk occurs twice)."""
        return [oid for oid, _ in self.chunks]

    def offsets(self) -> list[tuple[str, int, int]]:
        """(chunk id, offset in the file, size) for every chunk, in order."""
        out, pos = [], 0
        for oid, size in self.chunks:
            out.append((oid, pos, size))
            pos += size
        return out

    def encode(self) -> bytes:
        """The canonical JSON bytes of this manifest."""
        doc: dict[str, Any] = {
            "format": MANIFEST_FORMAT,
            "version": 1,
            "file": self.file_id,
            "size": self.size,
            "chunker": self.chunker,
            "chunks": [[oid, size] for oid, size in self.chunks],
        }
        if self.sha256 is not None:
            doc["sha256"] = self.sha256
        return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, data: bytes, oid: str = "?") -> FileManifest:
        """Parse and validate manifest bytes; anything else is InvalidInputError."""
        try:
            doc = json.loads(data)
            if doc.get("format") != MANIFEST_FORMAT or doc.get("version") != 1:
                raise ValueError("not a manifest")
            chunks = tuple((str(c[0]), int(c[1])) for c in doc["chunks"])
            m = cls(doc["file"], doc["size"], chunks, str(doc["chunker"]), doc.get("sha256"))
            ok = (
                is_object_id(m.file_id)
                and type(m.size) is int
                and all(is_object_id(c) and n >= 0 for c, n in chunks)
                and sum(n for _, n in chunks) == m.size
                and (m.sha256 is None or (isinstance(m.sha256, str) and len(m.sha256) == 64))
            )
            if not ok:
                raise ValueError("inconsistent manifest")
        except RecursionError:  # crafted nesting: json.loads gives up at Python's recursion limit
            raise InvalidInputError(f"object {oid} is not a valid file manifest: nested too deeply",
                                    oid=oid) from None
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            raise InvalidInputError(f"object {oid} is not a valid file manifest: {exc}", oid=oid) from exc
        return m


def read_manifest(store: ObjectStore, oid: str) -> FileManifest:
    """Load and validate manifest ``oid`` (hash verified on read)."""
    return FileManifest.decode(store.get_bytes(oid), oid)
