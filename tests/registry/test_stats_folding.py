"""Folding the serving counters (SQLite and PostgreSQL): rows of one key and minute become
their sum, every total read since any deployment event stays exactly what it was, and two
processes folding at once never count a row twice."""

from __future__ import annotations

import json
import random
import threading
from datetime import datetime, timedelta

import pytest

from modelkeep.clock import to_iso
from modelkeep.keep import Keep
from modelkeep.registry.ab_tally import ArmTally, Moments, tallies_since
from modelkeep.registry.serving import BUCKETS, VersionStats, stats_since
from modelkeep.registry.shadow_stats import ShadowStats, shadow_totals
from modelkeep.registry.stats_folding import fold_counts, fold_if_due
from modelkeep.registry.versions import model_id_of


def _parse(at: str) -> datetime:
    return datetime.fromisoformat(at.replace("Z", "+00:00"))


def _stats(rng: random.Random) -> VersionStats:
    latency = [0] * BUCKETS
    requests = rng.randint(1, 50)
    for _ in range(requests):
        latency[rng.randrange(BUCKETS)] += 1
    errors = rng.randint(0, requests)
    return VersionStats(requests, errors, rng.randint(0, errors), tuple(latency))


def _tally(rng: random.Random) -> ArmTally:
    moments = Moments()
    for _ in range(rng.randint(1, 5)):
        moments = moments.plus(rng.randint(0, 40) / 4)  # exact in binary: sums in any order agree
    return ArmTally(_stats(rng), moments, rng.randint(0, 3), rng.randint(0, 3),
                    {"revenue": moments})


def _append(keep: Keep, table: str, at: str, rng: random.Random) -> None:
    model = model_id_of(keep.db, "m")
    with keep.db.write():
        if table == "serving_stats":
            keep.db.execute("INSERT INTO serving_stats (model_id, version, gateway, at, stats_json) "
                            "VALUES (:m, :v, :g, :at, :j)",
                            {"m": model, "v": rng.choice(["1.0.0", "1.0.1"]), "g": "g1", "at": at,
                             "j": json.dumps(_stats(rng).to_record())})
        elif table == "ab_tallies":
            keep.db.execute("INSERT INTO ab_tallies (model_id, test, arm, keyed, gateway, at, "
                            "tally_json) VALUES (:m, 't1', :arm, :keyed, 'g1', :at, :j)",
                            {"m": model, "arm": rng.choice("AB"), "keyed": rng.random() < 0.7,
                             "at": at, "j": json.dumps(_tally(rng).to_record())})
        else:
            stats = ShadowStats(copies=rng.randint(1, 9), compared=rng.randint(0, 9),
                                errors=rng.randint(0, 3))
            keep.db.execute("INSERT INTO shadow_stats (model_id, rollout, stable, candidate, "
                            "gateway, at, stats_json) VALUES (:m, 'r1', '1.0.0', '1.0.1', 'g1', "
                            ":at, :j)", {"m": model, "at": at, "j": json.dumps(stats.to_record())})


def _totals(keep: Keep, sinces: list[str]) -> dict[str, object]:
    out: dict[str, object] = {"shadow": shadow_totals(keep.db, "m", "r1")}
    for since in sinces:
        out[f"serving {since}"] = stats_since(keep.db, "m", ["1.0.0", "1.0.1"], since)
        tallies = tallies_since(keep.db, "m", "t1", since)
        out[f"ab {since}"] = tallies
    return out


def _rows(keep: Keep) -> int:
    return sum(int(keep.db.scalar(f"SELECT COUNT(*) FROM {t}"))
               for t in ("serving_stats", "ab_tallies", "shadow_stats"))


@pytest.fixture
def rolled(validated_pair):
    """m: 1.0.0 deployed, a canary of 1.0.1 started and promoted one step: three events."""
    validated_pair.deploy("m@1.0.0")
    validated_pair.deploy("m@1.0.1", canary=True)
    validated_pair.change_deployment("m", "promote")
    return validated_pair


def test_folding_changes_no_total_read_since_any_event(rolled):
    keep, rng = rolled, random.Random(7)
    events = keep.deployment_history("m")
    bounds = sorted({e.at for e in events} | {e.state.step_started for e in events} - {""})
    first = _parse(bounds[0])
    times = [first - timedelta(minutes=5) + timedelta(seconds=7 * i) for i in range(80)]
    for bound in map(_parse, bounds):  # rows just around each event, in the same minute
        times += [bound + timedelta(microseconds=d) for d in (-1_000_000, -1, 0, 1, 900_000)]
    for at in times:
        for table in ("serving_stats", "ab_tallies", "shadow_stats"):
            _append(keep, table, to_iso(at), rng)
    sinces = ["", *bounds]  # the times totals are read since
    before, rows = _totals(keep, sinces), _rows(keep)
    removed = fold_counts(keep.db, "m", max(times) + timedelta(hours=1))
    assert removed > 0 and _rows(keep) == rows - removed
    assert _totals(keep, sinces) == before
    assert keep.db.scalar("SELECT COUNT(*) FROM serving_stats WHERE gateway = 'folded'") > 0
    assert fold_counts(keep.db, "m", max(times) + timedelta(hours=1)) == 0  # nothing left to fold
    assert _totals(keep, sinces) == before


def test_young_rows_are_left_as_they_were_appended(rolled):
    keep, rng = rolled, random.Random(8)
    now = _parse(keep.deployment_history("m")[-1].at) + timedelta(hours=1)
    for seconds in range(0, 60, 5):  # within the last minute
        _append(keep, "serving_stats", to_iso(now - timedelta(seconds=seconds)), rng)
    rows = _rows(keep)
    assert fold_counts(keep.db, "m", now) == 0 and _rows(keep) == rows


def test_two_processes_folding_at_once_count_every_row_once(rolled):
    keep, rng = rolled, random.Random(9)
    start = _parse(keep.deployment_history("m")[-1].at) + timedelta(minutes=1)
    for i in range(600):
        _append(keep, "serving_stats", to_iso(start + timedelta(seconds=i / 2)), rng)
    before, rows = _totals(keep, [""]), _rows(keep)
    other = Keep.open(keep.settings.root)
    removed: list[int] = []
    barrier = threading.Barrier(2)

    def fold(k: Keep) -> None:
        barrier.wait()
        removed.append(fold_counts(k.db, "m", start + timedelta(hours=1)))

    threads = [threading.Thread(target=fold, args=(k,)) for k in (keep, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    other.close()
    assert _totals(keep, [""]) == before
    assert _rows(keep) == rows - sum(removed) and sum(removed) > 0


def test_the_keep_folds_after_a_gateways_append_about_once_a_minute(rolled):
    keep, rng = rolled, random.Random(10)
    # 40 rows a second apart within one minute (a minute boundary between them would leave a
    # group of one row, which stays as it was appended)
    old = (datetime.now().astimezone() - timedelta(minutes=30)).replace(second=5, microsecond=0)
    for i in range(40):
        _append(keep, "serving_stats", to_iso(old + timedelta(seconds=i)), rng)
    before = _totals(keep, [""])
    keep.record_serving_stats("m", {"1.0.0": _stats(rng)}, "g2")  # folds the old rows
    assert keep.db.scalar("SELECT COUNT(*) FROM serving_stats WHERE gateway = 'g1'") == 0
    for i in range(40):
        _append(keep, "serving_stats", to_iso(old + timedelta(minutes=2, seconds=i)), rng)
    keep.record_serving_stats("m", {"1.0.0": _stats(rng)}, "g2")  # not a minute later: no fold
    assert keep.db.scalar("SELECT COUNT(*) FROM serving_stats WHERE gateway = 'g1'") == 40
    assert fold_if_due(keep.db, "m") == 0
    after = _totals(keep, [""])["serving "]
    assert sum(s.requests for s in after.values()) > sum(s.requests for s in before["serving "].values())
