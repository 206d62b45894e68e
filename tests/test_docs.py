"""The docs are part of the product: every command, setting and error code is documented."""

from __future__ import annotations

from pathlib import Path

import click

from modelkeep import config, errors
from modelkeep.cli.main import COMMANDS, cli

ROOT = Path(__file__).resolve().parents[1]


def _all_docs() -> str:
    texts = [(ROOT / "README.md").read_text()]
    texts += [p.read_text() for p in sorted((ROOT / "docs").glob("*.md"))]
    return "\n".join(texts)


def _command_paths() -> list[str]:
    ctx = click.Context(cli)
    paths = []
    for name in sorted(COMMANDS):
        command = cli.get_command(ctx, name)
        paths.append(name)
        if isinstance(command, click.Group):
            paths += [f"{name} {sub}" for sub in command.list_commands(ctx)]
    return paths


def test_every_command_is_documented():
    docs = _all_docs()
    missing = [p for p in _command_paths() if f"modelkeep {p}" not in docs]
    assert missing == []


def test_every_command_is_in_the_table_with_help():
    ctx = click.Context(cli)
    for name, (_, short) in COMMANDS.items():
        assert short, name
        assert cli.get_command(ctx, name).help, name


def test_every_environment_variable_is_documented():
    docs = (ROOT / "docs" / "configuration.md").read_text()
    assert [v for v in config.ENVIRONMENT_VARIABLES if f"`{v}`" not in docs] == []


def test_every_environment_variable_is_read_only_in_config():
    offenders = []
    for path in (ROOT / "src" / "modelkeep").rglob("*.py"):
        if path.name == "config.py":
            continue
        text = path.read_text()
        for var in config.ENVIRONMENT_VARIABLES:
            if f'environ.get("{var}"' in text or f'environ["{var}"]' in text or f'getenv("{var}"' in text:
                offenders.append(f"{path.name}: {var}")
    assert offenders == []


def test_every_error_code_is_documented():
    docs = (ROOT / "docs" / "errors.md").read_text()
    codes = {cls.code for cls in errors._all_subclasses(errors.ModelkeepError)}
    assert sorted(c for c in codes if f"`{c}`" not in docs) == []


def test_error_codes_are_unique_and_map_back():
    classes = errors._all_subclasses(errors.ModelkeepError)
    assert len({c.code for c in classes}) == len(classes)
    for cls in classes:
        assert errors.error_from_code(cls.code) is cls
