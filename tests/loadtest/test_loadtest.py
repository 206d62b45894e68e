"""``modelkeep loadtest`` for real: Locust worker processes against a tiny HTTP server on
loopback and against a real gateway process; the counts agree with what the server saw, and
the report's HTML parses and its PNGs open."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from gateway_process import GatewayProcess, make_keep
from support import cli_run

pytestmark = pytest.mark.slow


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Locust's clients expect

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.seen.append((self.command, self.path, body))  # type: ignore[attr-defined]
        status = 500 if self.path.startswith("/fail") else 200
        payload = b'{"ok": true}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, *args: object) -> None:  # quiet
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.seen = []  # type: ignore[attr-defined]
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _url(server: ThreadingHTTPServer, path: str = "/hello") -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.title = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.images.append(dict(attrs)["src"] or "")


def _check_report(folder: Path, plots: set[str]) -> dict:
    from lxml import html as lxml_html
    from matplotlib.image import imread

    page = (folder / "report.html").read_text()
    tree = lxml_html.fromstring(page)  # parses as HTML (raises on garbage)
    assert tree.find(".//h1").text == "Load test"
    tags = _Tags()
    tags.feed(page)
    assert set(tags.images) == {f"{p}.png" for p in plots}
    for plot in plots:
        image = imread(folder / f"{plot}.png")
        assert image.shape[0] > 100 and image.shape[1] > 100
    return json.loads((folder / "result.json").read_text())


def test_constant_load_from_two_processes_is_counted_and_reported(server, tmp_path: Path) -> None:
    report = tmp_path / "report"
    result = cli_run("loadtest", _url(server), "--rps", "40", "--duration", "3s",
                     "--processes", "2", "--report", str(report), "--json")
    data = json.loads(result.stdout)
    assert data["failures"] == 0
    assert data["requests"] == len(server.seen)  # every answer counted once
    assert 40 * 3 * 0.7 <= data["requests"] <= 40 * 3 * 1.15, data["requests"]
    assert data["p50"] is not None and data["p99"] >= data["p50"]
    assert "requests" in result.stderr and "rps" in result.stderr  # live progress
    # the server runs in this test's process: found as the listener on the URL's port
    assert data["target"].startswith("pid ") and data["tester_saturated"] in (True, False)
    stored = _check_report(report, {"throughput", "latency", "errors", "target"})
    assert stored["requests"] == data["requests"]
    assert any(s["rss_mib"] for s in stored["seconds"])


def test_a_replay_sends_the_recorded_requests(server, tmp_path: Path) -> None:
    records = [{"method": "POST", "path": "/predict", "body": {"inputs": {"x": [i]}},
                "offset": i * 0.2} for i in range(6)] + [{"method": "GET", "path": "/q?a=1",
                                                          "offset": 1.3}]
    replay = tmp_path / "replay.jsonl"
    replay.write_text("\n".join(json.dumps(r) for r in records))
    result = cli_run("loadtest", _url(server, "/"), "--pattern", "replay", str(replay),
                     "--processes", "2", "--json")
    data = json.loads(result.stdout)
    assert data["requests"] == 7 and data["failures"] == 0
    seen = sorted(json.dumps([m, p, json.loads(b) if b else None]) for m, p, b in server.seen)
    want = sorted(json.dumps([r["method"], r["path"], r.get("body")]) for r in records)
    assert seen == want


def test_a_ramp_rises_and_an_untimed_replay_is_paced_by_the_rate(server, tmp_path: Path) -> None:
    ramp = json.loads(cli_run("loadtest", _url(server), "--pattern", "ramp", "--rps", "60",
                              "--duration", "4s", "--json").stdout)
    per_second = [s["requests"] for s in ramp["seconds"] if s["requests"]]
    assert per_second[-2] > 2 * per_second[0], per_second  # 6 rps rising to 60
    server.seen.clear()
    replay = tmp_path / "untimed.jsonl"
    replay.write_text("\n".join(json.dumps({"path": f"/r/{i}"}) for i in range(12)))
    data = json.loads(cli_run("loadtest", _url(server, "/"), "--pattern", "replay", str(replay),
                              "--rps", "20", "--json").stdout)
    assert data["requests"] == 12 and sorted(p for _, p, _ in server.seen) == \
        sorted(f"/r/{i}" for i in range(12))
    # 12 requests at 20 per second: about 0.55 s from the first answer to the last
    assert 0.35 <= 11 / data["rps"] <= 1.5, data["rps"]


def test_a_spike_sends_more_in_its_middle_and_failures_are_counted(server, tmp_path: Path) -> None:
    result = cli_run("loadtest", _url(server, "/fail"), "--pattern", "spike", "--rps", "60",
                     "--duration", "5s", "--json", code=1)  # every request failed: exit 1
    data = json.loads(result.stdout)
    assert data["failures"] == data["requests"] > 0
    assert any("500" in message for message in data["errors"])
    per_second = [s["requests"] for s in data["seconds"]]
    assert max(per_second[2:3]) > 2 * per_second[0], per_second  # 60 rps in 2-3 s, 15 before


def test_load_on_a_real_gateway_measures_the_gateways_own_process(tmp_path: Path) -> None:
    keep = make_keep(tmp_path / "project")
    keep.deploy("echo@1.0.0")
    gateway = GatewayProcess(keep.settings.root)
    try:
        gateway.wait_ready()
        report = tmp_path / "report"
        result = cli_run("loadtest", f"{gateway.url}/v1/models/echo/predict", "--method", "POST",
                         "--body", '{"inputs": {"x": [1, 2]}}', "--rps", "50", "--duration",
                         "2s", "--target-pid", str(gateway.proc.pid), "--report", str(report),
                         "--json")
        data = json.loads(result.stdout)
        assert data["failures"] == 0 and data["requests"] >= 70
        assert data["target"].startswith(f"pid {gateway.proc.pid} ")
        stored = _check_report(report, {"throughput", "latency", "errors", "target"})
        assert any((s["cpu_percent"] or 0) > 0 for s in stored["seconds"])
        served = gateway.client.get("/v1/models").json()["models"][0]["versions"][0]
        assert served["served_here"]["requests"] >= data["requests"]
    finally:
        gateway.stop()
        keep.close()
