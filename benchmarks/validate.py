"""Issue 10 benchmark: ``modelkeep validate`` of a small scikit-learn model, as CI runs it.

Run: python benchmarks/validate.py [--dir DIR] [--repeat 3] [--requests 1000]

A keep with two versions of a LogisticRegression saved with skops (production, and a candidate
refit on other data), each with an example input file; a 12-check policy: 3 required fields,
3 metric expressions (one comparing the measured latency with production's), 4 budgets
(artifact size, peak memory, load time, latency p95), signature compatibility with production,
and a staging replay of ``--requests`` recorded requests against production. Timed:

* ``modelkeep validate m@1.0.1 --policy policy.yaml --junit ...``: the whole process, as CI
  waits for it (start-up, policy, both versions loaded and measured in child processes side by
  side, the replay through both, the checks, the stored record, the JUnit file);
* the in-run baseline: a fresh ``python`` process that imports skops, loads the candidate's
  model file and calls it on the same requests, one ``predict`` each (no production, no
  checks): the least any replay of those requests can cost.

Target: under 5 s for the whole ``validate`` process. Medians of ``--repeat`` runs, back to
back; the ratio to the target and to the baseline is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import compile_modelkeep, machine  # noqa: E402

TARGET_S = 5.0
FEATURES = 4
POLICY = """\
# 12 checks: 3 required, 3 metrics, 4 budgets, signature, replay
required: [description, technical.framework.name, technical.signature]
metrics:
  - accuracy >= 0.8
  - accuracy >= production.accuracy - 0.05
  - latency_p95_ms <= 2 * production.latency_p95_ms + 1
budgets: {artifact_size_mb: 5, peak_memory_mb: 1024, load_time_s: 3, latency_p95_ms: 20}
signature_compatible_with: production
replay: {file: requests.jsonl, against: production, tolerance: 1e-6, min_agreement: 0.9}
measure: {runs: 50, warmup: 3}
"""
BASELINE = """\
import json, sys, time
start = time.perf_counter()
import numpy as np
import skops.io as sio
model = sio.load(sys.argv[1])
rows = [json.loads(line)["input"] for line in open(sys.argv[2])]
answers = [model.predict(np.asarray(r["X"], dtype=float)).tolist() for r in rows]
assert len(answers) == len(rows)
"""


def make_version(folder: Path, seed: int) -> float:
    """A fitted LogisticRegression in ``folder`` (model.skops, example.json); its accuracy."""
    import numpy as np
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(400, FEATURES))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
    model = LogisticRegression(max_iter=300).fit(x[:300], y[:300])
    sio.dump(model, folder / "model.skops")
    (folder / "example.json").write_text(json.dumps({"X": x[:1].tolist()}))
    (folder / "model.yaml").write_text(
        "name: m\nversion: 1.0.0\ndescription: a small classifier for the benchmark\n"
        "technical: {framework: {name: scikit-learn, version: '1'}}\n")
    return float(model.score(x[300:], y[300:]))


def mk(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "modelkeep", *args], cwd=root, text=True,
                          capture_output=True)


def prepare(root: Path, requests: int) -> None:
    import numpy as np

    mk(root, "init").check_returncode()
    for seed, folder in ((0, "v1"), (1, "v2")):
        accuracy = make_version(root / folder, seed)
        mk(root, "register", "m", folder, "--metadata", f"{folder}/model.yaml",
           "--loader", "skops:model.skops", "--example-input", "example.json",
           "--metric", f"accuracy={accuracy}").check_returncode()
    mk(root, "alias", "set", "m", "production", "1.0.0", "--force", "--reason",
       "benchmark baseline").check_returncode()
    rng = np.random.default_rng(2)
    with (root / "requests.jsonl").open("w") as out:
        for i in range(requests):
            out.write(json.dumps({"id": i, "input": {"X": rng.normal(size=(1, FEATURES)).tolist()}})
                      + "\n")
    (root / "policy.yaml").write_text(POLICY)
    mk(root, "checkout", "m@1.0.1", "plain").check_returncode()  # the baseline's model file


def _cpu() -> float:
    """User + system seconds of every finished descendant (the validate process's children
    were waited for by it, so they count too)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_validate(root: Path) -> tuple[float, float, dict]:
    """(wall s, CPU s, report) of one whole ``modelkeep validate`` process."""
    cpu, start = _cpu(), time.perf_counter()
    done = mk(root, "validate", "m@1.0.1", "--policy", "policy.yaml", "--junit", "junit.xml",
              "--report-json", "report.json")
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"validate failed: {done.stderr}")
    return seconds, _cpu() - cpu, json.loads((root / "report.json").read_text())


def time_baseline(root: Path) -> tuple[float, float]:
    """(wall s, CPU s) of the plain-Python process: import, load, one predict per request."""
    cpu, start = _cpu(), time.perf_counter()
    subprocess.run([sys.executable, "-c", BASELINE, str(root / "plain" / "model.skops"),
                    str(root / "requests.jsonl")], check=True)
    return time.perf_counter() - start, _cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, help="work folder (default: a new temporary one)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    compile_modelkeep()
    root = args.dir or Path(tempfile.mkdtemp(prefix="modelkeep-bench-validate-"))
    root.mkdir(parents=True, exist_ok=True)
    prepare(root, args.requests)
    runs, baselines, cpus, base_cpus, report = [], [], [], [], {}
    load = os.getloadavg()[0]
    for _ in range(args.repeat):
        seconds, cpu, report = time_validate(root)
        runs.append(seconds)
        cpus.append(cpu)
        seconds, cpu = time_baseline(root)
        baselines.append(seconds)
        base_cpus.append(cpu)
    checks = report["checks"]
    wall, base = statistics.median(runs), statistics.median(baselines)
    print(f"machine: {machine()}; load average {load:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end")
    print(f"policy: {len(checks)} checks; passed: {report['passed']}; "
          f"{sum(c['passed'] for c in checks)} passing")
    for check in checks:
        print(f"  {'pass' if check['passed'] else 'FAIL'}  {check['name']}: {check['detail']}")
    print(f"modelkeep validate (whole process): median {wall:.2f} s of {args.repeat} "
          f"(min {min(runs):.2f} s), CPU {statistics.median(cpus):.2f} s; "
          f"{wall / TARGET_S:.2f}x the {TARGET_S:.0f} s target")
    print(f"plain Python (import skops, load, {args.requests} predicts): median {base:.2f} s "
          f"(min {min(baselines):.2f} s), CPU {statistics.median(base_cpus):.2f} s; "
          f"validate is {wall / base:.1f}x it")


if __name__ == "__main__":
    main()
