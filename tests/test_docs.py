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


def _cli_sections() -> dict[str, str]:
    """docs/cli.md's ``### `modelkeep PATH ...` `` sections: command path -> section text."""
    sections: dict[str, str] = {}
    for block in (ROOT / "docs" / "cli.md").read_text().split("\n### ")[1:]:
        heading = block.split("`")[1] if block.startswith("`") else ""
        words = heading.split()[1:]  # after "modelkeep"
        path = " ".join(w for w in words[:2] if w.replace("-", "").isalpha() and w.islower())
        sections[path] = block
    return sections


def test_every_command_has_a_section_in_the_cli_reference():
    sections = _cli_sections()
    paths = [p for p in _command_paths() if not isinstance(_command(p), click.Group)]
    assert [p for p in paths if p not in sections] == []


def test_every_option_is_named_in_its_command_section():
    sections = _cli_sections()
    missing = []
    for path, text in sections.items():
        command = _command(path)
        for param in command.params if command is not None else ():
            for opt in getattr(param, "opts", []):
                if opt.startswith("--") and opt not in ("--help", "--json") and opt not in text:
                    missing.append(f"{path} {opt}")
    assert missing == []


def _command(path: str) -> click.Command | None:
    ctx = click.Context(cli)
    command: click.Command | None = cli
    for word in path.split():
        command = command.get_command(ctx, word) if isinstance(command, click.Group) else None
    return command


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
