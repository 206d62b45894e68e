"""gc against alias moves and registrations: the root set never misses what they made live.

Each race is made deterministic: gc is paused right after it has decided which versions to
prune (by wrapping the real ``plan_retention``), the other writer runs on its own connection,
then gc goes on. Whatever order the locks impose, what must hold afterwards is checked: the
version an alias names, or a new registration, can be checked out.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from support import pass_validation

from modelkeep.errors import VersionPrunedError
from modelkeep.keep import Keep
from modelkeep.registry import roots
from modelkeep.registry.retention import pruned_version_ids


def register(keep: Keep, tmp_path: Path, version: str, payload: bytes) -> Path:
    folder = tmp_path / "src" / version
    folder.mkdir(parents=True)
    (folder / "weights.bin").write_bytes(payload)
    keep.register("m", folder, version=version)
    return folder


class Outcome:
    """What a writer running in a thread did: its result or the error it raised."""

    def __init__(self) -> None:
        self.value: Any = None
        self.error: BaseException | None = None
        self.done = threading.Event()


def in_thread(fn: Callable[[], Any]) -> tuple[threading.Thread, Outcome]:
    out = Outcome()

    def run() -> None:
        try:
            out.value = fn()
        except BaseException as exc:  # reported to the test, which asserts on it
            out.error = exc
        finally:
            out.done.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


@contextmanager
def gc_paused_after_planning(monkeypatch: pytest.MonkeyPatch, keep: Keep,
                             **options: Any) -> Iterator[Outcome]:
    """Run ``keep.gc(**options)`` in a thread that stops right after choosing what to prune;
    the body of the ``with`` runs during that pause, and gc finishes when it ends."""
    planned, go = threading.Event(), threading.Event()
    real = roots.plan_retention

    def paused(*args: Any, **kwargs: Any) -> Any:
        plan = real(*args, **kwargs)
        planned.set()
        assert go.wait(60)
        return plan

    monkeypatch.setattr(roots, "plan_retention", paused)
    thread, out = in_thread(lambda: keep.gc(**options))
    assert planned.wait(60), out.error
    try:
        yield out
    finally:
        go.set()
        thread.join(120)
    assert out.error is None, out.error


def test_alias_set_racing_gc_never_leaves_the_alias_on_pruned_files(
        any_keep: Keep, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    payloads = {v: os.urandom(4000) for v in ["1.0.0", "1.1.0", "1.2.0"]}
    for v, data in payloads.items():
        register(any_keep, tmp_path, v, data)
    pass_validation(any_keep, "m@1.0.0")  # production is protected
    other = Keep.open(any_keep.settings.root)  # a second writer, as another process would be
    try:
        with gc_paused_after_planning(monkeypatch, any_keep, grace=0, keep_stable=1):
            # gc has chosen to prune 1.0.0; production now moves onto it
            thread, alias = in_thread(lambda: other.set_alias("m", "production", "1.0.0"))
            alias.done.wait(1.0)  # without serialisation it completes here, inside gc's window
        thread.join(120)
    finally:
        other.close()
    if alias.error is None:  # the move won: gc must have kept what production needs
        any_keep.checkout("m@production", tmp_path / "out")
        assert (tmp_path / "out" / "weights.bin").read_bytes() == payloads["1.0.0"]
        assert any_keep.fsck().ok
    else:  # gc won: the move was refused, the alias was never set
        assert isinstance(alias.error, VersionPrunedError), alias.error
        assert any_keep.aliases("m") == {}


def test_registration_racing_gc_keeps_the_objects_it_reuses(
        any_keep: Keep, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = register(any_keep, tmp_path, "1.0.0", os.urandom(4000))
    register(any_keep, tmp_path, "1.1.0", os.urandom(4000))
    other = Keep.open(any_keep.settings.root)
    try:
        with gc_paused_after_planning(monkeypatch, any_keep, grace=0, keep_stable=1):
            # gc will prune 1.0.0; a new version made of the very same bytes is registered
            thread, reg = in_thread(lambda: other.register("m", old, version="2.0.0"))
            reg.done.wait(1.0)
        thread.join(120)
    finally:
        other.close()
    assert reg.error is None, reg.error
    any_keep.checkout("m@2.0.0", tmp_path / "out")
    assert (tmp_path / "out" / "weights.bin").read_bytes() == (old / "weights.bin").read_bytes()
    assert any_keep.fsck().ok


def test_alias_onto_a_pruned_version_is_refused_until_it_is_pulled_back(
        any_keep: Keep, tmp_path: Path) -> None:
    for v in ["1.0.0", "1.1.0"]:
        register(any_keep, tmp_path, v, os.urandom(3000))
    pass_validation(any_keep, "m@1.0.0")  # production is protected
    any_keep.add_remote("origin", str(tmp_path / "remote"))
    any_keep.push()
    any_keep.gc(grace=0, keep_stable=1)
    assert len(pruned_version_ids(any_keep.db)) == 1
    with pytest.raises(VersionPrunedError) as err:
        any_keep.set_alias("m", "production", "1.0.0")
    assert err.value.code == "version_pruned"
    assert "modelkeep pull m@1.0.0" in (err.value.hint or "")
    assert any_keep.alias_history("m") == []  # nothing recorded
    any_keep.pull(["m@1.0.0"])
    any_keep.set_alias("m", "production", "1.0.0")
    any_keep.checkout("m@production", tmp_path / "out")


def test_pull_restoring_a_pruned_version_racing_gc_keeps_what_it_fetched(
        any_keep: Keep, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    payload = os.urandom(4000)
    register(any_keep, tmp_path, "1.0.0", payload)
    register(any_keep, tmp_path, "1.1.0", os.urandom(4000))
    any_keep.add_remote("origin", str(tmp_path / "remote"))
    any_keep.push()
    any_keep.gc(grace=0, keep_stable=1)  # 1.0.0 pruned
    other = Keep.open(any_keep.settings.root)
    try:
        with gc_paused_after_planning(monkeypatch, any_keep, grace=0, keep_stable=1):
            thread, pull = in_thread(lambda: other.pull(["m@1.0.0"]))
            pull.done.wait(1.0)
        thread.join(120)
    finally:
        other.close()
    assert pull.error is None, pull.error
    assert pruned_version_ids(any_keep.db) == set()  # restored
    any_keep.checkout("m@1.0.0", tmp_path / "out")
    assert (tmp_path / "out" / "weights.bin").read_bytes() == payload
