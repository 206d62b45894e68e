"""The public API: a curated, sorted __all__ whose every name resolves."""

from __future__ import annotations

import subprocess
import sys

import modelkeep


def test_all_is_sorted_and_unique():
    assert modelkeep.__all__ == sorted(set(modelkeep.__all__))


def test_every_public_name_resolves():
    for name in modelkeep.__all__:
        assert getattr(modelkeep, name) is not None, name


def test_import_is_lazy():
    """``import modelkeep`` loads none of the heavy layers (start-up budget of the CLI)."""
    code = ("import sys, modelkeep; heavy = [m for m in ('pydantic', 'sqlalchemy', 'rich', "
            "'modelkeep.keep') if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
