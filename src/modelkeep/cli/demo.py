"""``modelkeep demo``: a newcomer's tour of everything modelkeep does, on a project it generates.

Each step runs the real command, in-process, and prints it first as a user would type it. The
training itself is a real script (``train.py``, written from ``_demo_project.py``) run under
``modelkeep run exec``, so runs, datasets and lineage are recorded as they would be for you.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

import click

from modelkeep.cli import _demo_project as project
from modelkeep.cli.demo_serving import serving_steps
from modelkeep.interface import KeepInterface

NAME = project.NAME


def _say(text: str) -> None:
    click.secho(f"\n# {text}", fg="cyan", bold=True)


def _run(root: Path, *args: str, fails: bool = False) -> None:
    from modelkeep.cli.main import cli

    shown = ["python" if a == sys.executable else a for a in args]
    click.secho("$ modelkeep " + " ".join(shlex.quote(a) for a in shown), fg="green")
    try:
        code = cli.main(args=["--keep", str(root), *args], prog_name="modelkeep",
                        standalone_mode=False)
    except SystemExit as exc:  # run exec exits with the child's code
        code = exc.code
    if bool(code) != fails:  # a step that went otherwise than planned ends the demo, non-zero
        click.secho(f"the demo stopped: this step {'failed' if code else 'should have failed'}",
                    fg="red", err=True)
        raise SystemExit(code if isinstance(code, int) and code else 1)


def _train(root: Path, name: str, bump: str, fails: bool = False, **options: int | float
           ) -> None:
    args = ["run", "exec", "--model", NAME, "--name", name, "--", sys.executable, "train.py",
            "--bump", bump]
    for key, value in options.items():
        args += [f"--{key}", str(value)]
    _run(root, *args, fails=fails)


def _open(root: Path) -> KeepInterface:
    from modelkeep.keep import Keep

    return Keep.open(root)


def _latest_runs(root: Path, count: int) -> list[str]:
    keep = _open(root)
    try:
        return [r.info.id for r in keep.runs(model=NAME, status="finished")][:count]
    finally:
        keep.close()


def _first_move(root: Path, alias: str) -> str:
    """When ``alias`` was first set: a time for ``show --at`` that the demo really has."""
    keep = _open(root)
    try:
        return keep.alias_history(NAME, alias)[0].moved_at
    finally:
        keep.close()


def _head(path: Path, lines: int) -> str:
    """The first ``lines`` whole lines of a text file, and how many more there are."""
    text = path.read_text().splitlines()
    more = f"\n... ({len(text) - lines} more lines in {path.name})" if len(text) > lines else ""
    return "\n".join(text[:lines]) + more


def _refuse_used(root: Path) -> None:
    from modelkeep.errors import ConflictError

    if root.is_dir() and any(root.iterdir()):
        raise ConflictError(
            f"{root} is not empty (a previous demo?): the demo needs a new folder",
            hint="run 'modelkeep demo' with no folder (it makes a new one), or give a new or "
                 "empty folder", path=str(root))


@click.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), required=False)
def demo(folder: Path | None) -> None:
    """Build a small project in FOLDER (default: a new temporary folder) and walk through
    modelkeep: runs, versions, aliases, diff, export, checkout, Git pointers, remotes, gc,
    predict, bump, validation gates, a protected alias, the model card, reproduce; then a
    gateway: a shadow test, an A/B test, a canary its gate aborts, a rollback, and a hosted
    model (a fake provider) in an A/B test with its cost."""
    root = (folder or Path(tempfile.mkdtemp(prefix="modelkeep-demo-"))).resolve()
    _refuse_used(root)
    root.mkdir(parents=True, exist_ok=True)
    os.chdir(root)  # the printed commands work as shown if the reader re-types them here
    click.echo(f"modelkeep demo in {root}")

    _say("1. Make a keep: .modelkeep/ holds config.toml, SQLite metadata and the object store")
    _run(root, "init", str(root))

    _say("2. Generate a dataset (train/validation/test) and a training script")
    project.make_dataset(root / "data")
    shutil.copyfile(project.__file__, root / "train.py")
    click.echo("wrote data/{train,validation,test}/data.csv and train.py")

    _say("3. Train under a tracked run: params, datasets, metrics per epoch, environment, "
         "lineage; the script registers the model (first version: MAJOR)")
    _train(root, "baseline", "major", epochs=2, features=2)

    _say("4. Retrain with more epochs: same architecture and data, so a PATCH version")
    _train(root, "more-epochs", "patch", epochs=8, features=2)

    _say("5. Use a third input feature: the input signature changes, so modelkeep refuses a "
         "PATCH (the run is recorded as failed) and the MAJOR bump goes through")
    _train(root, "third-feature", "patch", fails=True, epochs=8, features=3)
    _train(root, "third-feature", "major", epochs=8, features=3)

    _say("6. Compare the runs; plot a metric; see which models used which dataset")
    _run(root, "runs", "list", "--model", NAME)
    newest, previous = _latest_runs(root, 2)
    _run(root, "runs", "compare", previous[:8], newest[:8])
    _run(root, "runs", "metrics", newest[:8], "train_loss", "--plot")
    _run(root, "datasets", "list")

    _say("7. List models and versions")
    _run(root, "list")
    _run(root, "list", NAME)

    _say("8. Aliases move with their history kept; --at answers about the past "
         "(production is protected: it waits for a passing validation, step 19)")
    _run(root, "alias", "set", NAME, "staging", "1.0.0", "--reason", "first release")
    _run(root, "alias", "set", NAME, "staging", "1.0.1", "--reason", "better loss")
    _run(root, "alias", "set", NAME, "canary", "2.0.0")
    _run(root, "alias", "history", NAME, "staging")
    _run(root, "show", f"{NAME}@staging")
    click.echo("# where did staging point when it was first set? (a time from the history)")
    _run(root, "show", f"{NAME}@staging", "--at", _first_move(root, "staging"))

    _say("9. What changed between the staging version and the new major version")
    _run(root, "diff", f"{NAME}@staging", f"{NAME}@2.0.0")

    _say("10. Later facts are appended, never overwritten")
    _run(root, "metric", f"{NAME}@2.0.0", "test_accuracy_recheck=0.9")
    _run(root, "note", f"{NAME}@2.0.0", "reviewed by the platform team")

    _say("11. Export metadata as YAML (JSON and protobuf work the same way)")
    _run(root, "export", f"{NAME}@2.0.0", "--format", "yaml", "-o", "exported.yaml")
    _run(root, "export", f"{NAME}@2.0.0", "--format", "proto", "-o", "exported.pb")
    click.echo(_head(root / "exported.yaml", 16))

    _say("12. Restore a version byte for byte, then verify every stored object")
    _run(root, "checkout", f"{NAME}@staging", "restored")
    _run(root, "fsck")

    _say("13. For Git users: store a file and keep only a small pointer in the repository")
    _run(root, "add", "data/train/data.csv")
    click.echo((root / "data" / "train" / "data.csv.mk").read_text())

    _say("14. Push to a remote (a folder here; S3, GCS and Azure work the same way)")
    _run(root, "remote", "add", "backup", str(root / "remote-store"))
    _run(root, "push", "-r", "backup")
    _run(root, "push", "-r", "backup")

    _say("15. A teammate's fresh keep pulls a version from the remote and restores it")
    clone = root / "teammate"
    _run(clone, "init", str(clone))
    _run(clone, "remote", "add", "backup", str(root / "remote-store"))
    _run(clone, "pull", "-r", "backup", f"{NAME}@2.0.0")
    _run(clone, "checkout", f"{NAME}@2.0.0", str(clone / "model"))

    _say("16. Garbage collection keeps aliased and the newest stable versions")
    _run(root, "gc", "--dry-run")

    _issue_10_steps(root)
    serving_steps(root, _run, _say, _open, first=23)

    click.secho(f"\nDone. Explore it yourself: cd {root} && modelkeep list", bold=True)


def _issue_10_steps(root: Path) -> None:
    """Running, checking, documenting and reproducing versions."""
    _say("17. Run a version: its loader (train:Classifier, in its code snapshot) answers JSON")
    (root / "request.json").write_text(json.dumps(project.example_input(2)) + "\n")
    click.echo(f"request.json: {(root / 'request.json').read_text().strip()}")
    _run(root, "predict", f"{NAME}@staging", "--input", "request.json")

    _say("18. Which bump would the staging files need as the next version? (nothing is "
         "registered; the safetensors header is the architecture's fingerprint)")
    _run(root, "bump", NAME, "restored")

    _say("19. A validation gate for CI: a policy of required fields, metric thresholds and "
         "budgets measured by running the version in a child process; 2.0.0 fails, 1.0.1 "
         "passes (each result is stored with its version)")
    (root / "policy.yaml").write_text(project.POLICY)
    click.echo(project.POLICY.rstrip())
    _run(root, "validate", f"{NAME}@2.0.0", "--policy", "policy.yaml", fails=True)
    _run(root, "validate", f"{NAME}@1.0.1", "--policy", "policy.yaml",
         "--junit", "validation.xml")

    _say("20. production is a protected alias: it moves only onto a version that passed")
    _run(root, "alias", "set", NAME, "production", "2.0.0", fails=True)
    _run(root, "alias", "set", NAME, "production", "1.0.1", "--reason", "passed the gate")

    _say("21. The model card and changelog, written by modelkeep and stored with the version")
    _run(root, "docs", f"{NAME}@production", "--out", "docs")
    card = (root / "docs" / "CARD.md").read_text().split("\n---\n", 1)  # YAML front matter
    front, body = card[0].splitlines(), card[-1].strip("\n").splitlines()
    click.echo(f"docs/CARD.md: {len(front) - 1} lines of YAML front matter (model-index), "
               "then:\n" + "\n".join(body[:12]) + f"\n... ({len(body) - 12} more lines)")

    _say("22. Reproduce a version from what it was made from (code, datasets, pipeline, "
         "params, requirements lock), re-run its pipeline and compare")
    _run(root, "reproduce", f"{NAME}@production", "reproduced", "--run")
