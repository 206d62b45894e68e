"""The gateway's payload queue: bounded (drops and counts, never waits), written by its thread,
and a failed write reported by the exception's type only (a database error can quote the
statement's parameters, which are the payloads)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from modelkeep.gateway.payload_log import PayloadLog
from modelkeep.registry.payloads import PayloadItem


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.items: list[PayloadItem] = []
        self.fail = fail

    def record_payloads(self, items: Sequence[PayloadItem]) -> int:
        if self.fail:
            raise RuntimeError(f"INSERT failed [parameters: {items[0].inputs!r}]")
        self.items += items
        return len(items)


def test_a_full_queue_drops_and_counts_new_payloads():
    keep = Recorder()
    log = PayloadLog(keep, capacity=3)
    for i in range(5):
        log.add("m", "1.0.0", f"r{i}", {"i": i}, {"o": i})
    assert log.dropped == 2 and log.flush() == 3
    assert [item.request_id for item in keep.items] == ["r0", "r1", "r2"]
    assert log.flush() == 0 and log.stored == 3


def test_a_failed_write_names_the_error_type_never_its_text():
    log = PayloadLog(Recorder(fail=True))
    log.add("m", "1.0.0", "r1", {"text": "secret-payload-text"})
    assert log.flush() == 0 and log.dropped == 1
    assert log.last_error == "storing 1 payloads failed: RuntimeError"
    assert "secret" not in log.last_error


def test_the_thread_writes_about_every_interval_and_on_stop():
    keep = Recorder()
    log = PayloadLog(keep, interval=0.05)
    log.start()
    log.add("m", "1.0.0", "r1", {})
    deadline = time.monotonic() + 5
    while not keep.items and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [i.request_id for i in keep.items] == ["r1"]
    log.add("m", "1.0.0", "r2", {}, None, "prediction_timeout")
    log.stop()
    assert [(i.request_id, i.error) for i in keep.items] == [("r1", ""), ("r2", "prediction_timeout")]
