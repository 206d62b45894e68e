"""A memory limit for a gateway process, so that a model that exhausts memory fails its own
request with ``MemoryError`` instead of waking the kernel's OOM killer, which would end the
whole gateway (every model, every request in flight).

The limit is ``RLIMIT_DATA``: the process's heap and private writable memory (what a model's
arrays and Python objects live in; shared libraries and file mappings are not counted). It is
one limit for the whole process, not per request: while one prediction holds memory near the
limit, another request that allocates at that moment can fail too. Isolating one model's
memory from the rest needs a worker process per model, which can be limited and killed alone.
"""

from __future__ import annotations

import resource

MIB = 1 << 20


def limit_memory(megabytes: int) -> int:
    """Cap this process's data memory at ``megabytes`` MiB (never above the hard limit; worker
    processes started later inherit it); the limit set, in bytes."""
    limit = megabytes * MIB
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
    return limit
