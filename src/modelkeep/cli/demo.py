"""``modelkeep demo``: a newcomer's tour of everything modelkeep does, on a project it generates.

Each step runs the real command, in-process, and prints it first as a user would type it.
"""

from __future__ import annotations

import shlex
import tempfile
from pathlib import Path

import click

from modelkeep.cli import _demo_project as project

NAME = "demo-classifier"


def _say(text: str) -> None:
    click.secho(f"\n# {text}", fg="cyan", bold=True)


def _run(root: Path, *args: str) -> None:
    from modelkeep.cli.main import cli

    click.secho("$ modelkeep " + " ".join(shlex.quote(a) for a in args), fg="green")
    cli.main(args=["--keep", str(root), *args], prog_name="modelkeep", standalone_mode=False)


def _train_version(root: Path, data: dict[str, Path], *, epochs: int, lr: float, features: int,
                   bump: str) -> None:
    weights, bias, metrics = project.train(data, epochs=epochs, lr=lr, n_features=features)
    model = project.save_model(root / "model", weights, bias, epochs=epochs, lr=lr)
    meta = project.write_metadata(root / "model.yaml", features)
    args = ["register", NAME, str(model.relative_to(root)), "--bump", bump,
            "--metadata", str(meta.relative_to(root)), "--param", f"epochs={epochs}",
            "--param", f"learning_rate={lr}", "--param", f"features={features}"]
    for key, value in metrics.items():
        args += ["--metric", f"{key}={value}"]
    _run(root, *args)


@click.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), required=False)
def demo(folder: Path | None) -> None:
    """Build a small project in FOLDER (default: a new temporary folder) and walk through
    modelkeep: init, register three versions, list, aliases, diff, export, checkout, fsck."""
    root = (folder or Path(tempfile.mkdtemp(prefix="modelkeep-demo-"))).resolve()
    root.mkdir(parents=True, exist_ok=True)
    import os

    os.chdir(root)  # relative paths in the printed commands work if the reader re-types them
    click.echo(f"modelkeep demo in {root}")

    _say("1. Make a keep: .modelkeep/ holds config.toml, SQLite metadata and the object store")
    _run(root, "init", str(root))

    _say("2. Generate a dataset (train/validation/test) and train a first model on 2 features")
    data = project.make_dataset(root / "data")
    _train_version(root, data, epochs=2, lr=0.05, features=2, bump="major")

    _say("3. Retrain with more epochs: same architecture and data, so a PATCH version")
    _train_version(root, data, epochs=8, lr=0.05, features=2, bump="patch")

    _say("4. Use a third input feature: the input signature changes, so a MAJOR version")
    _train_version(root, data, epochs=8, lr=0.05, features=3, bump="major")

    _say("5. List models and versions")
    _run(root, "list")
    _run(root, "list", NAME)

    _say("6. Aliases move with their history kept")
    _run(root, "alias", "set", NAME, "production", "1.0.0", "--reason", "first release")
    _run(root, "alias", "set", NAME, "production", "1.0.1", "--reason", "better accuracy")
    _run(root, "alias", "set", NAME, "staging", "2.0.0")
    _run(root, "alias", "history", NAME, "production")
    _run(root, "show", f"{NAME}@production")

    _say("7. What changed between the production version and the new major version")
    _run(root, "diff", f"{NAME}@production", f"{NAME}@2.0.0")

    _say("8. Later facts are appended, never overwritten")
    _run(root, "metric", f"{NAME}@2.0.0", "test_accuracy_recheck=0.9")
    _run(root, "note", f"{NAME}@2.0.0", "reviewed by the platform team")

    _say("9. Export metadata as YAML (JSON and protobuf work the same way)")
    _run(root, "export", f"{NAME}@2.0.0", "--format", "yaml", "-o", "exported.yaml")
    _run(root, "export", f"{NAME}@2.0.0", "--format", "proto", "-o", "exported.pb")
    click.echo((root / "exported.yaml").read_text()[:600] + "...")

    _say("10. Restore a version byte for byte, then verify every stored object")
    _run(root, "checkout", f"{NAME}@production", "restored")
    _run(root, "fsck")

    click.secho(f"\nDone. Explore it yourself: cd {root} && modelkeep list", bold=True)
