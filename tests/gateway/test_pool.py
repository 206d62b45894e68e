"""The gateway's version pool: a model is closed only after the requests it answers are done."""

from __future__ import annotations

from modelkeep.gateway import pool as pool_module
from modelkeep.gateway.pool import VersionPool


class Model:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


def test_a_version_no_longer_wanted_is_closed_after_its_requests_not_at_once(monkeypatch):
    """A rollback unloads the rolled-back version while a request routed to it a moment
    earlier is still being answered: the model stays open for RETIRE_AFTER, then closes."""
    monkeypatch.setattr(pool_module, "RETIRE_AFTER", 0.2)
    loaded = {"m@2": Model()}
    pool = VersionPool(loaded.__getitem__)
    pool.sync(["m@2"])
    held = pool.get("m@2")  # a request in flight holds it
    pool.sync([])
    assert not held.closed and not pool.healthy("m@2")
    for timer in list(pool._retiring):
        timer.join(5)
    assert held.closed


def test_closing_the_pool_closes_models_waiting_to_retire():
    model = Model()
    pool = VersionPool(lambda ref: model)
    pool.sync(["m@1"])
    pool.sync([])
    pool.close()
    assert model.closed and pool._retiring == {}
