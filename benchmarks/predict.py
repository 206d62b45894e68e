"""Issue 10 benchmark: ``modelkeep predict`` start-up against the framework called directly.

Run: python benchmarks/predict.py [--repeat 5] [--dir DIR]

Two small models are registered first (untimed): a scikit-learn LogisticRegression saved with
skops, and an ONNX graph (MatMul + Add) built with ``onnx.helper``. Then, in turn, each repeat:

* ``modelkeep predict NAME@1.0.0 --input request.json``: a new process, from start to its
  first line of output (start-up, imports, opening the keep, resolving the version, a verified
  private checkout, loading the model, checking the input, predicting, printing);
* ``python -c`` that imports the model's framework (skops + scikit-learn, or onnxruntime),
  loads the same file, calls it on the same input and prints the result: what a user's own
  script would pay.

Medians (and minima) of wall time to first output, and their ratio (target: within 1.5x).
modelkeep's bytecode is compiled first (as `pip install` does); a run of each precedes the timed ones.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from _common import compile_modelkeep, machine  # noqa: E402
from loader_models import onnx_model, sklearn_model  # noqa: E402

CLI = str(Path(sys.executable).with_name("modelkeep"))
REQUESTS = {"clf": [[1.0, 2.0, 0.0, 0.0], [-2.0, -1.0, 0.5, 0.1]],
            "lin": {"x": [[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]]}}
DIRECT = {
    "clf": ("import skops.io as sio, numpy as np, json, sys\n"
            "path = sys.argv[1]\n"
            "est = sio.load(path, trusted=sio.get_untrusted_types(file=path))\n"
            "rows = json.load(open(sys.argv[2]))\n"
            "print(json.dumps({'label': est.predict(np.asarray(rows)).tolist()}))\n"),
    "lin": ("import onnxruntime as ort, numpy as np, json, sys\n"
            "s = ort.InferenceSession(sys.argv[1], providers=['CPUExecutionProvider'])\n"
            "x = np.asarray(json.load(open(sys.argv[2]))['x'], dtype=np.float32)\n"
            "print(json.dumps({'y': s.run(None, {'x': x})[0].tolist()}))\n"),
}


def first_output(argv: list[str], cwd: Path, cpu: list[float] | None = None) -> float:
    """Seconds from starting ``argv`` to its first line of output (then it is waited for);
    the process's CPU time (user + system) is appended to ``cpu``: less sensitive than wall
    time to other processes on a shared machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - start
    rest, err = proc.communicate()
    if proc.returncode != 0 or not line.strip():
        raise SystemExit(f"{' '.join(argv)} failed: {err.decode()}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if cpu is not None:
        cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    compile_modelkeep()
    base = Path(tempfile.mkdtemp(prefix="mk-bench-predict-", dir=args.dir))
    try:
        subprocess.run([CLI, "init"], cwd=base, check=True, capture_output=True)
        files = {"clf": sklearn_model(base / "clf") / "model.skops",
                 "lin": onnx_model(base / "lin") / "model.onnx"}
        for name, loader in (("clf", "skops"), ("lin", "onnx")):
            subprocess.run([CLI, "register", name, str(files[name].parent), "--loader", loader],
                           cwd=base, check=True, capture_output=True)
            (base / f"{name}.json").write_text(json.dumps(REQUESTS[name]))
        print(f"machine: {machine()}")
        for name, framework in (("clf", "scikit-learn (skops)"), ("lin", "onnxruntime")):
            ours = [CLI, "predict", f"{name}@1.0.0", "--input", f"{name}.json"]
            theirs = [sys.executable, "-c", DIRECT[name], str(files[name]), f"{name}.json"]
            first_output(ours, base), first_output(theirs, base)  # compile bytecode, warm caches
            times: dict[str, list[float]] = {"predict": [], "direct": []}
            cpu: dict[str, list[float]] = {"predict": [], "direct": []}
            for _ in range(args.repeat):
                times["predict"].append(first_output(ours, base, cpu["predict"]))
                times["direct"].append(first_output(theirs, base, cpu["direct"]))
            a, b = (statistics.median(times[k]) for k in ("predict", "direct"))
            c, d = (statistics.median(cpu[k]) for k in ("predict", "direct"))
            print(f"{framework:22} wall: modelkeep predict {a * 1000:5.0f} ms (min "
                  f"{min(times['predict']) * 1000:.0f}), python -c {b * 1000:5.0f} ms (min "
                  f"{min(times['direct']) * 1000:.0f}), ratio {a / b:.2f}x (target <= 1.5x); "
                  f"cpu: {c * 1000:.0f} ms vs {d * 1000:.0f} ms, ratio {c / d:.2f}x")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
