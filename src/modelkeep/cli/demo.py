"""``modelkeep demo``: a newcomer's tour of everything modelkeep does, on a project it generates.

Each step runs the real command, in-process, and prints it first as a user would type it. The
training itself is a real script (``train.py``, written from ``_demo_project.py``) run under
``modelkeep run exec``, so runs, datasets and lineage are recorded as they would be for you.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

import click

from modelkeep.cli import _demo_project as project
from modelkeep.interface import KeepInterface

NAME = project.NAME
DEMO_GATE = """\
# what a version needs before production (docs/validation.md)
required: [technical.signature]
metrics: ["test_accuracy >= production.test_accuracy - 0.05"]
signature_compatible_with: production
"""


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
    modelkeep: runs, versions, aliases, diff, export, checkout, Git pointers, remotes, gc."""
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

    _say("8. Aliases move with their history kept; --at answers about the past. production "
         "is protected: it moves onto a version once a validation passed (or by force, "
         "with a reason)")
    (root / "gate.yaml").write_text(DEMO_GATE)
    _run(root, "alias", "set", NAME, "production", "1.0.0", "--force", "--reason", "first release")
    _run(root, "validate", f"{NAME}@1.0.1", "--policy", "gate.yaml")
    _run(root, "alias", "set", NAME, "production", "1.0.1", "--reason", "better accuracy")
    _run(root, "validate", f"{NAME}@2.0.0", "--policy", "gate.yaml", fails=True)
    _run(root, "alias", "set", NAME, "staging", "2.0.0")
    _run(root, "alias", "history", NAME, "production")
    _run(root, "show", f"{NAME}@production")
    click.echo("# where did production point when it was first set? (a time from the history)")
    _run(root, "show", f"{NAME}@production", "--at", _first_move(root, "production"))

    _say("9. What changed between the production version and the new major version")
    _run(root, "diff", f"{NAME}@production", f"{NAME}@2.0.0")

    _say("10. Later facts are appended, never overwritten")
    _run(root, "metric", f"{NAME}@2.0.0", "test_accuracy_recheck=0.9")
    _run(root, "note", f"{NAME}@2.0.0", "reviewed by the platform team")

    _say("11. Export metadata as YAML (JSON and protobuf work the same way)")
    _run(root, "export", f"{NAME}@2.0.0", "--format", "yaml", "-o", "exported.yaml")
    _run(root, "export", f"{NAME}@2.0.0", "--format", "proto", "-o", "exported.pb")
    click.echo(_head(root / "exported.yaml", 16))

    _say("12. Restore a version byte for byte, then verify every stored object")
    _run(root, "checkout", f"{NAME}@production", "restored")
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

    click.secho(f"\nDone. Explore it yourself: cd {root} && modelkeep list", bold=True)
