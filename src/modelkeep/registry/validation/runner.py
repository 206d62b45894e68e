"""What runs in the child process that loads and calls one version for ``validate``.

Each child is forked by the fork server (``forkserver.py``), which calls ``run_job``; the same
work also runs on its own as ``python -m modelkeep.registry.validation.runner JOB RESULT``. It
limits its own address space first (``resource.setrlimit``), loads the version through the
loaders ``Keep.load`` uses, times the load, calls the version on its example inputs (latency),
runs the replay requests, and writes what it found to RESULT as JSON. Anything the model does
(raise, hang, leak, crash) happens there, where the parent can time it out or see it die.
"""

from __future__ import annotations

import json
import math
import resource
import sys
import time
from pathlib import Path
from typing import Any

MIB = 1 << 20


def limit_memory(megabytes: int) -> None:
    """Cap this process's address space: an allocation beyond it fails (MemoryError)."""
    limit = megabytes * MIB
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(sorted_values: list[float], share: float) -> float:
    """The nearest-rank percentile of sorted values (``share`` in 0..1)."""
    rank = math.ceil(share * len(sorted_values) - 1e-9)  # 0.95 * 100 is 95.00000000000001
    return sorted_values[max(0, min(len(sorted_values), rank) - 1)]


def _error(exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:300]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def open_version(job: dict[str, Any]) -> tuple[Any, Any, dict[str, Any], tuple[str, ...]]:
    """(store, info, metadata, trusted pickles) of the job's version, read as ``Keep.load``
    reads them (this layer may not import Keep itself)."""
    from modelkeep import config
    from modelkeep.db.database import Database
    from modelkeep.registry.refs import parse_ref
    from modelkeep.registry.versions import resolve, version_metadata
    from modelkeep.storage.objects import ObjectStore

    settings = config.load_settings(Path(job["root"]), database_url=job["database_url"])
    db = Database(settings.database_url)
    try:
        info = resolve(db, parse_ref(job["ref"]))
        metadata = version_metadata(db, info.id)
    finally:
        db.close()
    store = ObjectStore(settings.store_path, settings.tmp_dir, 1)
    return store, info, metadata, settings.trusted_pickles


def _latencies(model: Any, examples: list[Any], runs: int, warmup: int) -> list[float]:
    timings: list[float] = []
    for example in examples:
        for _ in range(warmup):
            model.predict(example)
        for _ in range(runs):
            start = time.perf_counter()
            model.predict(example)
            timings.append((time.perf_counter() - start) * 1000)
    return sorted(timings)


def _replay(model: Any, path: str) -> list[dict[str, Any]]:
    answers: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            request = json.loads(line)["input"]  # the parent checked every line already
            start = time.perf_counter()
            try:
                answer: dict[str, Any] = {"output": model.predict(request)}
                json.dumps(answer, allow_nan=True)  # what cannot be compared is an error
            except Exception as exc:  # noqa: BLE001 (a request that fails is data)
                answer = {"error": _error(exc)}
            answer["ms"] = (time.perf_counter() - start) * 1000
            answers.append(answer)
    return answers


def run_job(job: dict[str, Any], opened: Any = None) -> dict[str, Any]:
    """Load, time and call the version as ``job`` asks; errors are reported, not raised.
    ``opened``: what ``open_version(job)`` gave (or raised) in the fork server, else None."""
    from modelkeep.registry.loaders import example_inputs, load_version

    result: dict[str, Any] = {"ref": job["ref"]}
    try:
        if isinstance(opened, BaseException):
            raise opened
        store, info, metadata, trusted = opened or open_version(job)
        start = time.perf_counter()
        model = load_version(store, info, metadata, trusted_pickles=trusted)
        result["load_time_s"] = time.perf_counter() - start
        result["kind"] = getattr(model, "kind", None)
        try:
            if job.get("measure"):
                timings = _latencies(model, list(example_inputs(store, info, metadata)),
                                     int(job["runs"]), int(job["warmup"]))
                result["calls"] = len(timings)
                if timings:
                    for share in (50, 95, 99):
                        result[f"latency_p{share}_ms"] = percentile(timings, share / 100)
            if job.get("replay_file"):
                result["replay"] = _replay(model, job["replay_file"])
        finally:
            close = getattr(model, "close", None)
            if callable(close):
                close()
    except MemoryError:
        result["error"] = f"ran out of memory (limit {job['memory_limit_mb']} MB)"
    except Exception as exc:  # noqa: BLE001 (the parent reports any failure as a failed check)
        result["error"] = _error(exc)
        if "MemoryError" in result["error"]:  # a loader reports it wrapped in its own error
            result["error"] = (f"ran out of memory (limit {job['memory_limit_mb']} MB): "
                               + result["error"])
    result["peak_memory_mb"] = peak_memory_mb()
    return result


def main(argv: list[str]) -> int:
    job = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    limit_memory(int(job["memory_limit_mb"]))
    write_result(Path(argv[2]), run_job(job))
    return 0


def write_result(path: Path, result: dict[str, Any]) -> None:
    """What a run found, as JSON (NaN allowed: a model may answer it)."""
    path.write_text(json.dumps(result, allow_nan=True), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
