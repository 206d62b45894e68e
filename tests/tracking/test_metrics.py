"""The buffer and flusher: background flushes, batches, retries after a failed write."""

from __future__ import annotations

import time

from modelkeep.keep import Keep
from modelkeep.tracking.metrics import MetricWriter


def points_in_db(keep: Keep) -> int:
    return int(keep.db.scalar("SELECT COUNT(*) FROM metric_points"))


def test_background_flusher_writes_without_being_asked(keep: Keep) -> None:
    with keep.start_run("m", capture=False, flush_interval=0.05) as run:
        for i in range(100):
            run.log_metric("loss", float(i))
        deadline = time.monotonic() + 10
        while points_in_db(keep) < 100 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert points_in_db(keep) == 100
        assert keep.run(run.id).heartbeat_at > keep.run(run.id).started_at


def test_failed_write_keeps_points_pending_and_retries(keep: Keep) -> None:
    with keep.start_run("m", capture=False, flush_interval=3600) as run:
        writer: MetricWriter = run._writer
        run.log_metric("loss", 0.0)  # the first point is written at once, by the flusher
        deadline = time.monotonic() + 10
        while points_in_db(keep) < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        run.log_metric("loss", 1.0)  # the next ones wait for the interval (an hour here)
        keep.db.execute("ALTER TABLE metric_points RENAME TO metric_points_away")
        try:
            try:
                writer.flush()
            except Exception:
                pass
            else:
                raise AssertionError("the flush should have failed")
            assert len(writer.pending) == 1
            run.log_metric("loss", 2.0)
        finally:
            keep.db.execute("ALTER TABLE metric_points_away RENAME TO metric_points")
        assert writer.flush() == 2
    assert keep.metric_history(run.id, "loss").values == [0.0, 1.0, 2.0]


def test_latest_point_is_by_step_not_arrival(keep: Keep) -> None:
    with keep.start_run("m", capture=False) as run:
        run.log_metric("acc", 0.9, step=10)
        run.flush()
        run.log_metric("acc", 0.1, step=3)  # a late point for an earlier step
        run.log_metric("other", 1.0)
    final = keep.runs()[0]["metrics"]
    assert final == {"acc": 0.9, "other": 1.0}


def test_auto_steps_continue_after_attach(keep: Keep) -> None:
    with keep.start_run("m", capture=False) as run:
        run.log_metric("loss", 1.0)
        run.log_metric("loss", 2.0)
        run.flush()
        with keep.start_run(run_id=run.id) as attached:
            attached.log_metric("loss", 3.0)
    assert keep.metric_history(run.id, "loss").steps == [0, 1, 2]


def test_system_metrics_sampling(keep: Keep) -> None:
    with keep.start_run("m", capture=False, system_metrics=0.05) as run:
        time.sleep(0.3)
    names = {s["name"] for s in keep.run_view(run.id)["metrics"]}
    assert {"system/cpu_percent", "system/memory_percent", "system/process_rss_bytes"} <= names
    (keep.settings.root / "w").write_bytes(b"w")
    with keep.start_run("m", capture=False, system_metrics=0.05) as run2:
        run2.log_metric("acc", 1.0)
        info = run2.register_model(keep.settings.root / "w")
    assert keep.show(info.ref)["metrics"] == {"acc": 1.0}  # system/* stay out of the version
