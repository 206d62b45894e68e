"""Load plans: the patterns' rates, replay files (bad and hostile ones refused whole), the
command's bad input as one line with nothing sent or written, and drill timing from headers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from emulators import free_port
from support import cli_run, one_line_error

from modelkeep.clock import parse_duration
from modelkeep.errors import InvalidInputError
from modelkeep.loadtest.drill import same, switch_of
from modelkeep.loadtest.plan import build_plan, rate_at, read_replay
from modelkeep.loadtest.timeline import Timeline, percentile
from modelkeep.loadtest.worker import Buckets, latency_key


def test_patterns_ask_for_their_rates_over_time() -> None:
    assert [rate_at("constant", 100, 10, t) for t in (0, 5, 9.9)] == [100, 100, 100]
    ramp = [rate_at("ramp", 100, 10, t) for t in (0, 5, 10)]
    assert ramp == [10, 55, 100]
    spike = [rate_at("spike", 100, 10, t) for t in (0, 3.9, 4, 5.9, 6, 9)]
    assert spike == [25, 25, 100, 100, 25, 25]


def test_durations_parse_and_bad_ones_are_refused() -> None:
    assert [parse_duration(x) for x in ("30", "30s", "1.5m", "2h", "7d", "1w", "500ms")] == \
        [30, 30, 90, 7200, 604800, 604800, 0.5]
    for bad in ("", "abc", "-1s", "nan", "inf", "1e999d", "7 d", "d"):
        with pytest.raises(InvalidInputError, match="is not a time"):
            parse_duration(bad)


def _write(path: Path, *lines: object) -> Path:
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    return path


def test_a_replay_file_gives_its_requests_in_order(tmp_path: Path) -> None:
    records = read_replay(_write(tmp_path / "r.jsonl", {"method": "post", "path": "/a?q=1",
                                                        "body": {"x": [1]}, "offset": 0},
                                 "", {"path": "/b", "offset": 1.5}))
    assert [(r.method, r.path, r.body, r.offset) for r in records] == [
        ("POST", "/a?q=1", {"x": [1]}, 0.0), ("GET", "/b", None, 1.5)]


@pytest.mark.parametrize("line, fragment", [
    ("{not json", "line 2: not JSON"),
    ("[1, 2]", "not a JSON object"),
    ('{"path": "/x", "host": "evil.example"}', "unknown field(s) host"),
    ('{"method": "TRACE"}', "method 'TRACE' is not one of"),
    ('{"method": 5}', "method 5 is not one of"),
    ('{"path": "http://10.0.0.1/x"}', "is not an absolute path"),
    ('{"path": "//evil.example/x"}', "is not an absolute path"),
    ('{"path": "/x\\r\\nHost: evil"}', "is not an absolute path"),
    ('{"path": "/x", "offset": -1}', "offset -1 is not a number of seconds"),
    ('{"path": "/x", "offset": true}', "offset True is not a number"),
    ('{"path": "/x", "offset": "1"}', "offset '1' is not a number"),
])
def test_bad_replay_records_are_refused_with_their_line(tmp_path: Path, line: str,
                                                        fragment: str) -> None:
    path = _write(tmp_path / "r.jsonl", {"path": "/ok"}, line)
    with pytest.raises(InvalidInputError) as caught:
        read_replay(path)
    assert fragment in caught.value.message and str(path) in caught.value.message


def test_bad_replay_files_are_refused(tmp_path: Path) -> None:
    for path, fragment in [(tmp_path / "missing.jsonl", "does not exist"),
                           (_write(tmp_path / "empty.jsonl", ""), "holds no requests"),
                           (_write(tmp_path / "mixed.jsonl", {"path": "/a", "offset": 1},
                                   {"path": "/b"}), "some records have an offset")]:
        with pytest.raises(InvalidInputError, match=fragment):
            read_replay(path)
    (tmp_path / "binary.jsonl").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(InvalidInputError, match="cannot read replay file"):
        read_replay(tmp_path / "binary.jsonl")


@pytest.mark.parametrize("kwargs, fragment", [
    ({"pattern": "spiky"}, "unknown pattern 'spiky'; did you mean 'spike'?"),
    ({"pattern": "constant", "rps": 0}, "--rps 0 is not a rate above 0"),
    ({"pattern": "constant", "rps": -5}, "--rps -5 is not a rate above 0"),
    ({"pattern": "constant", "rps": float("nan")}, "--rps nan is not a rate"),
    ({"pattern": "constant", "duration": 0}, "--duration 0 s is not a time above 0"),
    ({"pattern": "constant", "processes": 0}, "--processes 0 is not in 1..64"),
    ({"pattern": "replay"}, "a replay file goes with --pattern replay"),
    ({"pattern": "constant", "method": "BREW"}, "--method 'BREW' is not one of"),
])
def test_bad_plans_are_refused(kwargs: dict, fragment: str) -> None:
    args = {"rps": 10.0, **kwargs}
    with pytest.raises(InvalidInputError) as caught:
        build_plan("http://127.0.0.1:1/", **args)
    assert fragment in caught.value.message


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/", "127.0.0.1:8080", "http:///x",
                                 "http://127.0.0.1:port/"])
def test_urls_that_are_not_http_are_refused(url: str) -> None:
    with pytest.raises(InvalidInputError):
        build_plan(url, "constant", rps=1)


def test_the_command_refuses_bad_input_in_one_line_and_writes_no_report(tmp_path: Path) -> None:
    report = tmp_path / "report"
    port = free_port()
    dead = f"http://127.0.0.1:{port}/"
    result = cli_run("loadtest", dead, "--rps", "5", "--duration", "1s", "--report",
                     str(report), code=6)
    one_line_error(result, f"cannot reach http://127.0.0.1:{port}: Connection refused")
    cases = [(["--pattern", "wave"], "unknown pattern 'wave'"),
             (["--rps", "0"], "--rps 0 is not a rate above 0"),
             (["--rps", "-1"], "--rps -1 is not a rate above 0"),
             (["--duration", "soon"], "--duration 'soon' is not a time"),
             (["--pattern", "replay", str(_write(tmp_path / "bad.jsonl", "{"))], "line 1: not JSON"),
             (["--pattern", "replay", str(tmp_path / "none.jsonl")], "does not exist")]
    for args, fragment in cases:
        one_line_error(cli_run("loadtest", dead, *args, "--report", str(report), code=2), fragment)
    assert not report.exists()
    assert not list(tmp_path.glob(".report-*"))


def test_a_worker_second_is_summed_into_the_timeline() -> None:
    buckets = Buckets("X-Version")

    class Answer:
        headers = {"X-Version": "1.0.0"}

    for ms in (1.04, 2.0, 250.4, 1234.0):
        buckets.record(ms, Answer(), None)
    buckets.record(5.0, None, ConnectionRefusedError("refused"))
    lines = buckets.flush(float("inf"))
    timeline = Timeline(start=lines[0]["sec"])
    for line in lines:
        timeline.add(json.loads(json.dumps(line)))
    seconds = timeline.seconds()
    assert sum(s.requests for s in seconds) == 5 and sum(s.failures for s in seconds) == 1
    assert timeline.errors == {"refused": 1}
    assert [v for _, v, ok in timeline.tracked if ok] == ["1.0.0"] * 4
    assert (latency_key(1.04), latency_key(250.4), latency_key(1234.0)) == (1.0, 250.0, 1230.0)
    merged = timeline.merged()
    assert percentile(merged, 50) == 5.0 and percentile(merged, 99) == 1230.0


def test_switch_times_come_from_the_version_of_each_answer() -> None:
    tracked = ((10.0, "2", True), (10.1, "2", True), (10.2, "1", True), (10.25, "2", True),
               (10.3, "1", True), (10.4, "1", False), (10.5, "1", True))
    switch = switch_of(tracked, "1", start=10.05, end=11.0)
    assert (switch.first, switch.full) == (0.15, 0.05)
    assert switch_of(tracked, "3", 10.0, 11.0).first is None
    never = switch_of(tracked + ((10.9, "2", True),), "1", 10.05, 11.0)
    assert never.first == 0.15 and never.full is None


def test_outputs_compare_as_json_with_a_tolerance_for_numbers() -> None:
    assert same({"a": [1, 2.0000000001]}, {"a": [1.0, 2]})
    assert not same({"a": [1, 2.1]}, {"a": [1, 2]})
    assert not same({"a": 1}, {"a": 1, "b": 2}) and not same([1], [1, 1])
    assert not same(True, 1) and same("x", "x")
