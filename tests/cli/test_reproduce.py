"""`modelkeep reproduce`: a real training script under `run exec`, laid out again and re-run.

Every command runs as a user runs it (a child process); the training script is real Python
that imports a module of its own code snapshot, reads its datasets, logs params and metrics
and registers its output. A deterministic one reproduces exactly; one that adds unseeded
noise drifts, and the drift is reported with a non-zero exit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TRAIN = '''\
import argparse, json, random
from pathlib import Path

import modelkeep
from lib.model import fit  # from the code snapshot

parser = argparse.ArgumentParser()
parser.add_argument("--data", type=Path, default=Path("inputs"))
parser.add_argument("--noise", action="store_true")
parser.add_argument("--command")
args = parser.parse_args()
config = json.loads(Path("config.json").read_text())
with modelkeep.start_run(model="toy") as run:
    run.log_params(config)
    for role in ("train", "validation"):
        run.log_dataset(args.data / role, role=role)
    values = [float(v) for v in (args.data / "train" / "values.txt").read_text().split()]
    weight, loss = fit(values, config["steps"], config["lr"])
    if args.noise:  # every run differs: the weight by chance, the loss by the run's place
        weight += random.random()  # (a random loss factor could land within the tolerance)
        loss *= 1 + 1e-5 * len(modelkeep.Keep.open().runs(model="toy"))
    run.log_metric("loss", loss)
    run.log_metric("weight", weight)
    Path("out").mkdir(exist_ok=True)
    Path("out/weights.txt").write_text(repr(weight) + "\\n")
    Path("out/card.txt").write_text("a toy model\\n")
    run.log_code(paths=["train.py", "lib"])
    run.log_pipeline(files=["train.py", "config.json"], command=args.command)
    print("registered", run.register_model("out").ref)
'''
MODEL = '''\
def fit(values, steps, lr):
    """Least squares of a constant, by gradient descent: deterministic."""
    w = 0.0
    for _ in range(steps):
        w -= lr * sum(w - v for v in values) / len(values)
    return w, sum((w - v) ** 2 for v in values) / len(values)
'''


def mk(cwd: Path, *args: str, code: int | None = 0) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a user does; check its exit code unless ``code`` is None."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELKEEP_")}
    proc = subprocess.run([sys.executable, "-m", "modelkeep", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)
    if code is not None:
        assert proc.returncode == code, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A keep with a training project: script, code module, config and two datasets."""
    root = tmp_path / "project"
    root.mkdir()
    mk(root, "init")
    (root / "train.py").write_text(TRAIN)
    (root / "lib").mkdir()
    (root / "lib" / "__init__.py").write_text("")
    (root / "lib" / "model.py").write_text(MODEL)
    (root / "config.json").write_text(json.dumps({"steps": 40, "lr": 0.3}))
    for role, values in (("train", "1 2 3 4.5"), ("validation", "2 3")):
        (root / "inputs" / role).mkdir(parents=True)
        (root / "inputs" / role / "values.txt").write_text(values + "\n")
    return root


def train(project: Path, *extra: str) -> str:
    """Train under `run exec`; returns the registered NAME@VERSION."""
    out = mk(project, "run", "exec", "--model", "toy", "--", sys.executable, "train.py", *extra)
    return out.stdout.split("registered ", 1)[1].split()[0]


def reproduce(project: Path, *args: str, code: int | None = 0) -> subprocess.CompletedProcess[str]:
    return mk(project, "reproduce", *args, code=code)


def test_lays_out_every_part_from_stored_ids(project: Path, tmp_path: Path) -> None:
    ref = train(project)
    dest = tmp_path / "again"
    report = json.loads(reproduce(project, ref, str(dest), "--json").stdout)
    assert report["missing"] == [] and report["run"] is None
    meta = json.loads(mk(project, "export", ref, "--format", "json").stdout)
    comps = meta["components"]
    parts = {p["what"]: p for p in report["parts"]}
    assert parts["code"]["id"] == comps["code"]["snapshot"]
    assert parts["pipeline"]["id"] == comps["pipeline"]["tree"]
    assert parts["dataset train"] == {"what": "dataset train", "path": "inputs/train",
                                      "id": comps["datasets"][0]["tree"],
                                      "detail": "train (train)"}
    # the code snapshot beside the pipeline's files (where its command runs), and the
    # datasets at the paths the command used, byte for byte
    assert parts["code"]["path"] == "." and parts["pipeline"]["path"] == "."
    assert (dest / "lib" / "model.py").read_text() == MODEL
    assert (dest / "train.py").read_text() == TRAIN
    assert (dest / "config.json").read_text() == (project / "config.json").read_text()
    for role in ("train", "validation"):
        assert ((dest / "inputs" / role / "values.txt").read_bytes()
                == (project / "inputs" / role / "values.txt").read_bytes())
    assert json.loads((dest / "reproduce" / "params.json").read_text()) == {"lr": 0.3, "steps": 40}
    assert json.loads((dest / "reproduce" / "metadata.json").read_text())["identity"]["id"] == ref
    lock = (dest / "reproduce" / "requirements.lock").read_text().splitlines()
    assert lock[0].startswith(f"# requirements of {ref}: from the packages installed")
    assert any(line.startswith("modelkeep==") for line in lock)
    assert any(line.startswith("pytest==") for line in lock)
    readme = (dest / "REPRODUCE.md").read_text()
    assert comps["code"]["snapshot"] in readme and "## Missing" not in readme
    assert (f"modelkeep run exec --model toy --tag reproduces={ref} -- "
            f"{Path(sys.executable).name} train.py") in readme
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".again")] == []
    # a non-empty folder is refused, --force replaces it
    refused = reproduce(project, ref, str(dest), code=4)
    assert "is not empty" in refused.stderr and "Traceback" not in refused.stderr
    (dest / "stale.txt").write_text("old")
    reproduce(project, ref, str(dest), "--force")
    assert not (dest / "stale.txt").exists() and (dest / "train.py").is_file()
    # but --force never replaces the keep's own folder, nor a Git work tree
    for where, what in ((project, "the keep's own folders"), (dest, "a .git or .modelkeep")):
        (dest / ".git").mkdir(exist_ok=True)
        refused = reproduce(project, ref, str(where), "--force", code=4)
        assert f"holds {what}" in refused.stderr
    assert (project / ".modelkeep" / "config.toml").is_file() and (dest / ".git").is_dir()


def test_a_deterministic_pipeline_reproduces_exactly(project: Path, tmp_path: Path) -> None:
    ref = train(project)
    before = json.loads(mk(project, "list", "toy", "--json").stdout)
    proc = reproduce(project, ref, str(tmp_path / "again"), "--run", "--json")
    report = json.loads(proc.stdout)
    run = report["run"]
    assert run["status"] == "finished" and run["reproduced"] is True and run["drifted"] == []
    kinds = {(c["kind"], c["name"]): c["matches"] for c in run["checks"]}
    assert kinds == {("file", "card.txt"): True, ("file", "weights.txt"): True,
                     ("metric", "loss"): True, ("metric", "weight"): True,
                     ("hyperparameter", "lr"): True, ("hyperparameter", "steps"): True,
                     ("dataset", "train (train)"): True,
                     ("dataset", "validation (validation)"): True}
    assert run["produced_tree"] == run["recorded_tree"]
    assert run["environment"] == []  # the interpreter and packages it was recorded with
    # the re-run is a tracked run of the model, tagged with what it reproduces; it registered
    # nothing (its files are its artifact 'model')
    view = json.loads(mk(project, "runs", "show", run["run_id"], "--json").stdout)
    assert view["tags"] == {"reproduces": ref} and view["status"] == "finished"
    assert [a["tree_id"] for a in view["artifacts"]] == [run["recorded_tree"]]
    assert json.loads(mk(project, "list", "toy", "--json").stdout) == before
    human = reproduce(project, ref, str(tmp_path / "third"), "--run")
    assert f"reproduced {ref}" in human.stdout and "files 2/2 match" in human.stdout


def test_a_nondeterministic_pipeline_drifts_and_says_what(project: Path, tmp_path: Path) -> None:
    ref = train(project, "--noise")
    proc = reproduce(project, ref, str(tmp_path / "again"), "--run", "--json", code=1)
    run = json.loads(proc.stdout)["run"]
    assert run["status"] == "finished" and run["reproduced"] is False
    drifted = run["drifted"]
    assert any(line.startswith("file weights.txt: recorded ") for line in drifted)
    assert any(line.startswith("metric loss: recorded ") for line in drifted)
    assert not any("card.txt" in line for line in drifted)  # the same bytes: matched by id
    # the loss moves by 1e-5 relative a run: a looser tolerance matches it, not the weights
    loose = json.loads(reproduce(project, ref, str(tmp_path / "loose"), "--run", "--json",
                                 "--tolerance", "1e-3", code=1).stdout)["run"]["drifted"]
    assert not any(line.startswith("metric loss") for line in loose)
    assert any(line.startswith("file weights.txt") for line in loose)
    human = reproduce(project, ref, str(tmp_path / "human"), "--run", code=1)
    assert "drifted: file weights.txt" in human.stdout


def test_a_failing_pipeline_is_reported(project: Path, tmp_path: Path) -> None:
    ref = train(project, "--command", "python missing.py")
    proc = reproduce(project, ref, str(tmp_path / "again"), "--run", "--json", code=1)
    run = json.loads(proc.stdout)["run"]
    assert run["status"] == "failed" and run["exit_code"] == 2
    assert run["drifted"][:2] == [
        "the pipeline failed (exit 2)",
        "no artifacts to compare: the pipeline registered no model (pass --output PATH to "
        "compare a folder it writes)"]
    assert "metric loss: recorded" in " ".join(run["drifted"])
    assert (tmp_path / "again" / "REPRODUCE.md").is_file()  # the layout itself is whole


def test_a_version_without_code_or_datasets_says_what_is_missing(project: Path,
                                                                 tmp_path: Path) -> None:
    (project / "model").mkdir()
    (project / "model" / "w.bin").write_bytes(b"weights")
    mk(project, "register", "bare", "model", "--param", "lr=0.1")
    dest = tmp_path / "bare"
    report = json.loads(reproduce(project, "bare@1.0.0", str(dest), "--json").stdout)
    missing = report["missing"]
    assert missing[0].startswith("code snapshot: the version records none")
    assert missing[1].startswith("datasets: the version records none")
    assert "pipeline files: none recorded" in missing[2] and "pipeline command" in missing[3]
    assert missing[4].startswith("requirements lock: the version records no dependencies lock")
    assert json.loads((dest / "reproduce" / "params.json").read_text()) == {"lr": 0.1}
    readme = (dest / "REPRODUCE.md").read_text()
    assert "## Missing" in readme and "records no entry command" in readme
    # --strict refuses it and writes nothing; --run has no command to run
    strict = reproduce(project, "bare@1.0.0", str(tmp_path / "strict"), "--strict", code=2)
    assert strict.stderr.startswith("error: bare@1.0.0 cannot be reproduced in full: code snapshot")
    assert not (tmp_path / "strict").exists()
    norun = reproduce(project, "bare@1.0.0", str(tmp_path / "norun"), "--run", code=2)
    assert "records no pipeline command" in norun.stderr and not (tmp_path / "norun").exists()


def _delete_object(project: Path, oid: str) -> None:
    path = project / ".modelkeep" / "objects" / oid[:2] / oid[2:]
    path.chmod(0o644)
    path.unlink()


def test_missing_objects_come_from_the_remote_or_fail_clearly(project: Path,
                                                              tmp_path: Path) -> None:
    ref = train(project)
    meta = json.loads(mk(project, "export", ref, "--format", "json").stdout)
    train_tree = meta["components"]["datasets"][0]["tree"]
    _delete_object(project, train_tree)
    failed = reproduce(project, ref, str(tmp_path / "a"), code=3)
    assert failed.stderr.splitlines()[0] == (
        f"error: the dataset train ({train_tree[:12]}) of {ref} is not in this keep and no "
        "remote is configured")
    assert not (tmp_path / "a").exists() and not list(tmp_path.glob(".a.*"))
    # a remote that lacks it too: a clear error naming the part
    mk(project, "remote", "add", "backup", str(tmp_path / "remote"))
    mk(project, "push")
    lacking = reproduce(project, ref, str(tmp_path / "b"), code=3)
    assert "is neither in this keep nor on the remote" in lacking.stderr
    # a remote that has it (a teammate stored the dataset there): pulled, verified, laid out
    mk(project, "add", "inputs/train")
    mk(project, "push")
    _delete_object(project, train_tree)
    reproduce(project, ref, str(tmp_path / "c"))
    assert (tmp_path / "c" / "inputs" / "train" / "values.txt").read_text() == "1 2 3 4.5\n"


@pytest.mark.parametrize("dest, message", [
    (".modelkeep/objects/x", "'.modelkeep' is a .git or .modelkeep folder"),
    ("sub/.git/x", "'.git' is a .git or .modelkeep folder"),
    ("link/x", "objects/x): '.modelkeep' is a .git"),  # link -> .modelkeep/objects
    ("config.json", "'config.json' is a file"),
])
def test_hostile_destinations_are_refused(project: Path, dest: str, message: str) -> None:
    ref = train(project)
    (project / "link").symlink_to(project / ".modelkeep" / "objects")
    before = sorted(p.name for p in (project / ".modelkeep" / "objects").iterdir())
    proc = reproduce(project, ref, dest, code=2)
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert not (project / "sub").exists()
    assert sorted(p.name for p in (project / ".modelkeep" / "objects").iterdir()) == before


def test_bad_options_are_refused_before_anything_is_written(project: Path,
                                                            tmp_path: Path) -> None:
    ref = train(project)
    for args in (["--tolerance", "-1"], ["--tolerance", "nan"], ["--output", "../escape"]):
        proc = reproduce(project, ref, str(tmp_path / "x"), "--run", *args, code=2)
        assert proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr
        assert not (tmp_path / "x").exists()
    unknown = reproduce(project, "toy@9.9.9", str(tmp_path / "x"), code=3)
    assert "not found" in unknown.stderr
    no_remote = reproduce(project, ref, str(tmp_path / "x"), "--remote", "nope", code=3)
    assert no_remote.stderr.startswith("error: no remote named 'nope'")
    assert not (tmp_path / "x").exists()


def test_a_corrupt_object_leaves_nothing_half_written(project: Path, tmp_path: Path) -> None:
    from modelkeep.keep import Keep
    from modelkeep.storage.tree import read_tree

    ref = train(project)
    tree = json.loads(mk(project, "export", ref, "--format", "json").stdout)[
        "components"]["datasets"][1]["tree"]
    keep = Keep.open(project)
    try:
        oid = read_tree(keep.store, tree)[0].oid  # the validation split's file
    finally:
        keep.close()
    path = project / ".modelkeep" / "objects" / oid[:2] / oid[2:]
    path.chmod(0o644)
    path.write_bytes(b"2 3 but not the stored bytes\n")
    dest = tmp_path / "again"
    dest.mkdir()  # an empty folder given by the user stays as it was
    failed = reproduce(project, ref, str(dest), code=5)
    assert "Traceback" not in failed.stderr and failed.stderr.startswith("error: ")
    assert list(dest.iterdir()) == []
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".again")] == []
