"""Shared fixtures: a fresh keep per test, on SQLite (always) and PostgreSQL (the real server)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import pass_validation, skip_outside_ci

from modelkeep.keep import Keep

PG_ADMIN_URL = os.environ.get("MODELKEEP_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_admin():  # -> psycopg.Connection | None
    try:
        import psycopg

        return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except Exception:  # any failure means "not available here"
        return None


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A brand-new PostgreSQL database on the local server, dropped afterwards."""
    admin = _pg_admin()
    if admin is None:
        skip_outside_ci(f"PostgreSQL not reachable at {PG_ADMIN_URL}")
    name = f"mk_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def keep(tmp_path: Path) -> Iterator[Keep]:
    """A fresh embedded keep (SQLite + local objects)."""
    k = Keep.init(tmp_path / "project")
    yield k
    k.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_keep(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Keep]:
    """The same tests on both metadata backends."""
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    k = Keep.init(tmp_path / "project", database_url=url)
    yield k
    k.close()


def _make_model(folder: Path, weights: bytes = b"weights-v1",
                extra: dict[str, bytes] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.bin").write_bytes(weights)
    (folder / "config.json").write_text('{"layers": 2}')
    for name, data in (extra or {}).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


@pytest.fixture
def make_model():  # -> Callable[..., Path]
    """Factory for a small model folder with real files: make_model(path, weights=b"...")."""
    return _make_model


@pytest.fixture
def validated_pair(any_keep: Keep, tmp_path: Path) -> Keep:
    """``any_keep`` with m@1.0.0 and m@1.0.1 registered and validated (deploys need it)."""
    folder = _make_model(tmp_path / "m", b"one")
    any_keep.register("m", folder)
    _make_model(folder, b"two")
    any_keep.register("m", folder)
    pass_validation(any_keep, "m@1.0.0", "m@1.0.1")
    return any_keep
