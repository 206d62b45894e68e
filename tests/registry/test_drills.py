"""Stored rollback drills on SQLite and PostgreSQL: append-only rows, the reference outputs
of a version kept from its first drill, and the age check behind `deploy status`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from modelkeep.errors import InvalidInputError, ModelNotFoundError
from modelkeep.registry.drills import DrillResult, Switch, status


def _result(problems: tuple[str, ...] = ()) -> DrillResult:
    return DrillResult(model="m", gateway="http://127.0.0.1:8080", stable="1.0.1",
                       restored="1.0.0", rps=20.0, requests=180, failed=0,
                       rollback=Switch("1.0.0", 0.12, 0.004), forward=Switch("1.0.1", 0.1, 0.0),
                       outputs_match=True, outputs_checked=1, reference_at="", problems=problems)


@pytest.fixture
def drilled(any_keep, make_model, tmp_path):
    any_keep.register("m", make_model(tmp_path / "a"))
    any_keep.register("m", make_model(tmp_path / "b", weights=b"weights-v2"))
    return any_keep


def test_drills_are_stored_whole_with_the_first_reference(drilled) -> None:
    keep = drilled
    assert keep.drills("m") == [] and keep.drill_reference("m@1.0.0") is None
    first = keep.record_drill(_result(), reference=[{"y": [1, 2]}])
    second = keep.record_drill(_result(("3 of 180 requests failed",)), reference=[{"y": [9]}])
    assert first.id < second.id and first.passed and not second.passed
    assert keep.drills("m") == [first, second]
    assert keep.drills("m")[1].problems == ("3 of 180 requests failed",)
    reference = keep.drill_reference("m@1.0.0")
    assert reference is not None and reference.outputs == ({"y": [1, 2]},)  # the first one
    assert reference.drill_id == first.id and reference.at == first.at
    assert keep.drill_reference("m@1.0.1") is None
    with pytest.raises(ModelNotFoundError):
        keep.drills("nope")


def test_a_drill_cannot_be_rewritten(drilled) -> None:
    keep = drilled
    keep.record_drill(_result())
    with pytest.raises(Exception, match="append-only"), keep.db.write():
        keep.db.execute("UPDATE drills SET passed = false")
    with pytest.raises(Exception, match="append-only"), keep.db.write():
        keep.db.execute("DELETE FROM drills")
    assert len(keep.drills("m")) == 1


def test_the_last_drill_warns_once_older_than_the_limit(drilled) -> None:
    keep = drilled
    assert keep.drill_status("m").last is None and keep.drill_status("m").warning == ""
    stored = keep.record_drill(_result())
    then = datetime.strptime(stored.at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    fresh = status(keep.db, "m", "7d", now=then + timedelta(days=6))
    assert fresh.last == stored and fresh.warning == "" and fresh.max_age == 7 * 86400
    old = status(keep.db, "m", "7d", now=then + timedelta(days=8))
    assert old.warning.startswith("the last rollback drill of m was 8.0 days ago")
    assert "modelkeep drill m" in old.warning and old.age == pytest.approx(8 * 86400)
    with pytest.raises(InvalidInputError, match="drill_max_age"):
        status(keep.db, "m", "a week")
