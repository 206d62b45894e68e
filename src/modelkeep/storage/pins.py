"""Pins: the trees that ``modelkeep add`` wrote pointer files for, so gc keeps their objects.

A pointer file lives in a Git repository the keep knows nothing about, so ``add`` records each
tree it points at in ``.modelkeep/pins/<tree id>.<path hash>.json`` (the tree, the pointer's
absolute path, when). gc keeps a pin while its pointer file still names that tree, plus the
``keep`` newest pins of each pointer path (older states a ``git checkout`` may bring back);
``gc --keep-all`` keeps every pin. One small file per pin: written atomically, no locking.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from modelkeep.storage.durable import write_file_atomic
from modelkeep.storage.hashing import is_object_id

PINS_DIRNAME = "pins"


@dataclass(frozen=True)
class Pin:
    """One tree kept for one pointer file."""

    tree_id: str
    pointer: str
    pinned_at: float
    file: Path

    def is_live(self) -> bool:
        """True while the pointer file still names this tree."""
        from modelkeep.errors import ModelkeepError
        from modelkeep.storage.pointers import read_pointer

        try:
            return read_pointer(Path(self.pointer)).tree_id == self.tree_id
        except (OSError, ModelkeepError):
            return False


def pin(pins_dir: Path, tree_id: str, pointer: Path) -> Pin:
    """Record that ``pointer`` names ``tree_id`` (idempotent: re-pinning refreshes the date)."""
    import hashlib

    where = str(Path(pointer).resolve())
    digest = hashlib.blake2b(where.encode(), digest_size=8).hexdigest()
    file = Path(pins_dir) / f"{tree_id}.{digest}.json"
    now = time.time()
    file.parent.mkdir(parents=True, exist_ok=True)
    body = {"format": "modelkeep.pin", "version": 1, "tree": tree_id, "pointer": where, "at": now}
    write_file_atomic(file, json.dumps(body, sort_keys=True).encode())
    return Pin(tree_id, where, now, file)


def list_pins(pins_dir: Path) -> list[Pin]:
    """Every readable pin, oldest first (unreadable files are ignored, never trusted)."""
    found: list[Pin] = []
    if not Path(pins_dir).is_dir():
        return found
    for file in Path(pins_dir).glob("*.json"):
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            doc = json.loads(file.read_bytes())
            if doc.get("format") == "modelkeep.pin" and is_object_id(doc["tree"]):
                found.append(Pin(doc["tree"], str(doc["pointer"]), float(doc["at"]), file))
    return sorted(found, key=lambda p: (p.pinned_at, p.tree_id))


def split_pins(pins: list[Pin], keep: int, keep_all: bool = False) -> tuple[list[Pin], list[Pin]]:
    """(kept, released): live pins and the ``keep`` newest per pointer path are kept."""
    if keep_all:
        return list(pins), []
    by_pointer: dict[str, list[Pin]] = {}
    for p in pins:
        by_pointer.setdefault(p.pointer, []).append(p)
    kept: list[Pin] = []
    released: list[Pin] = []
    for group in by_pointer.values():
        newest = {id(p) for p in sorted(group, key=lambda p: -p.pinned_at)[: max(0, keep)]}
        for p in group:
            (kept if id(p) in newest or p.is_live() else released).append(p)
    return kept, released


def unpin(p: Pin) -> None:
    """Forget a pin (its objects become collectable unless something else needs them)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(p.file)
