"""The bytes layer: content-addressed objects, hashing, manifests, trees, checkout, fsck.

Modules: ``hashing`` (BLAKE3 ids, SHA-256 on demand), ``objects`` (the store), ``batch``
(durable grouped writes), ``tree`` (folders as canonical JSON, ``add_path``), ``manifest``
(chunked files), ``checkout``, ``fsck``, ``reachable`` (objects a set of trees needs),
``statcache``. No SQL, HTTP or CLI here: see docs/storage.md.
"""
