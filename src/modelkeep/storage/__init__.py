"""The bytes layer: content-addressed objects, hashing, manifests, trees, checkout, fsck.

Where to look: ``hashing`` (BLAKE3 ids, SHA-256 on demand), ``objects`` (the store), ``batch``
(grouped writes made durable together), ``durable`` (fsync, syncfs, disk-full errors),
``walk`` and ``paths`` (what a folder holds; safe tree paths), ``chunkers`` (where to cut),
``chunked`` (the bounded-memory add pipeline), ``ingest`` (one file: blob or chunks),
``manifest`` (chunked files), ``tree`` (folders as canonical JSON; ``add_path``, ``diff_trees``),
``checkout`` and ``copier`` (restore), ``tensors`` (partial safetensors restore), ``fsck``,
``reachable`` (objects a set of trees needs), ``statcache``. No SQL, HTTP or CLI here; see
docs/storage.md.
"""
