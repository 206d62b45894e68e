"""Which objects a set of trees needs: the tree blobs, file blobs, manifests and their chunks."""

from __future__ import annotations

from collections.abc import Iterable

from modelkeep.storage.manifest import read_manifest
from modelkeep.storage.objects import ObjectStore
from modelkeep.storage.tree import read_tree


def reachable_objects(store: ObjectStore, tree_ids: Iterable[str]) -> set[str]:
    """Every object id the trees reference (for gc and per-version fsck).

    Raises ObjectNotFoundError if a tree or manifest itself is missing (its chunks cannot be
    known); missing file blobs and chunks are simply included in the result.
    """
    found: set[str] = set()
    manifests: set[str] = set()
    for tree_id in tree_ids:
        if tree_id in found:
            continue
        found.add(tree_id)
        for e in read_tree(store, tree_id):
            found.add(e.oid)
            if e.kind == "manifest":
                manifests.add(e.oid)
    for oid in manifests:
        found.update(read_manifest(store, oid).chunk_ids)
    return found
