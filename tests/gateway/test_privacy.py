"""Privacy by default, proven on a real gateway process: requests carrying unique marker strings,
then every byte of the keep folder (the SQLite database and its write-ahead log included), the
gateway's stdout and stderr and its ``/metrics`` searched for them. Logging off: no marker
anywhere. Logging on: markers only in the ``payloads`` table, redacted where a pattern
matches, never pushed or pulled, and gone from every byte after ``modelkeep purge --all``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from gateway_process import RecordedGateway, register_python

from modelkeep.keep import Keep

pytestmark = pytest.mark.slow

PARROT = '''
def run(inputs):
    return {"said": inputs["text"], "shout": inputs["text"].upper(), "n": len(inputs["text"])}
'''


class Markers:
    """Unique strings a test sends, none of which any redaction pattern matches but ``email``
    and ``number`` (those two must come out redacted)."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:8]
        self.plain = f"zebra-{tag}-plain"
        self.email = f"okapi.{tag}@example.com"
        self.card = "4111 1111 1111 " + str(1000 + int(tag[:3], 16) % 9000)

    def texts(self) -> list[str]:
        return [f"say {self.plain} now", f"mail {self.email}", f"pay with {self.card}"]

    def all(self) -> list[bytes]:
        upper = [self.plain.upper(), self.email.upper()]
        return [m.encode() for m in (self.plain, self.email, self.card, *upper)]


def _keep(root: Path, logging: bool) -> Keep:
    keep = Keep.init(root)
    register_python(keep, "parrot", root / "parrot", PARROT, {"text": "hello"})
    if logging:
        config = keep.settings.keep_dir / "config.toml"
        config.write_text(config.read_text() + "\n[gateway]\npayload_logging = true\n")
    keep.deploy("parrot@1.0.0")
    return keep


def _traffic(gateway: RecordedGateway, markers: Markers) -> str:
    """Predictions, feedback, bad requests and unknown paths carrying the markers; the
    /metrics text afterwards."""
    for text in markers.texts():
        response = gateway.predict("parrot", {"text": text})
        assert response.status_code == 200 and text in response.json()["outputs"]["said"]
        feedback = gateway.client.post("/v1/feedback", json={
            "request_id": response.json()["request_id"], "value": 1.0})
        assert feedback.status_code == 202
    assert gateway.client.post("/v1/models/parrot/predict",
                               content=f'{{"inputs": "{markers.plain}"'.encode()).status_code == 400
    assert gateway.predict(markers.plain, {"text": markers.plain}).status_code == 404
    assert gateway.client.post(f"/{markers.email}", json={}).status_code == 404
    return gateway.client.get("/metrics").text


def _found(data: bytes, markers: Markers) -> list[bytes]:
    return [m for m in markers.all() if m in data]


def _files(keep: Keep) -> dict[str, bytes]:
    return {str(p.relative_to(keep.settings.keep_dir)): p.read_bytes()
            for p in sorted(keep.settings.keep_dir.rglob("*")) if p.is_file()}


def _tables_holding(keep: Keep, marker: str) -> set[str]:
    tables = [r["name"] for r in keep.db.query("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {t for t in tables for row in keep.db.query(f'SELECT * FROM "{t}"')
            if marker in repr(tuple(row.values()))}


def _run_gateway(keep: Keep, markers: Markers) -> str:
    """Serve the traffic; check no marker reached /metrics, stdout or stderr; the stderr."""
    gateway = RecordedGateway(keep.settings.root, "--poll-interval", "0.1")
    try:
        gateway.wait_ready()
        metrics = _traffic(gateway, markers)
        time.sleep(1.5)  # one report of counts and feedback (and payloads) to the keep
    finally:
        gateway.stop()
    assert 'modelkeep_requests_total{model="parrot",traffic="live",version="1.0.0"} 3.0' in metrics
    assert _found(metrics.encode(), markers) == []
    assert _found(gateway.out.encode() + gateway.err.encode(), markers) == []
    return gateway.err


def test_with_logging_off_no_marker_is_stored_logged_or_exported(tmp_path):
    keep = _keep(tmp_path / "project", logging=False)
    markers = Markers()
    err = _run_gateway(keep, markers)
    assert "payload" not in err  # no logging notice
    # the gateway did write: counts and feedback reached the keep, with no marker in them
    assert keep.serving_stats("parrot")["1.0.0"].requests == 3
    assert keep.db.scalar("SELECT COUNT(*) FROM feedback") == 3
    assert keep.db.scalar("SELECT COUNT(*) FROM payloads") == 0
    keep.close()
    files = _files(keep)
    assert "modelkeep.db" in files
    assert {name: _found(data, markers) for name, data in files.items() if _found(data, markers)} == {}


def test_with_logging_on_markers_are_only_in_the_payload_table_redacted_then_purged(tmp_path):
    keep = _keep(tmp_path / "project", logging=True)
    markers = Markers()
    assert "logging request and response payloads" in _run_gateway(keep, markers)
    rows = keep.db.query("SELECT * FROM payloads ORDER BY id")
    assert len(rows) == 3
    text = repr(rows)
    assert markers.plain in text and markers.plain.upper() in text
    assert "[redacted:email]" in text and "[redacted:number]" in text
    assert _tables_holding(keep, markers.plain) == {"payloads"}
    keep.close()
    files = _files(keep)
    # the plain marker is in the database's bytes (file or write-ahead log), nowhere else; the
    # redacted ones are nowhere at all
    holding = {name for name, data in files.items() if markers.plain.encode() in data}
    assert holding and holding <= {"modelkeep.db", "modelkeep.db-wal"}
    for secret in (markers.email, markers.card, markers.email.upper()):
        assert [n for n, data in files.items() if secret.encode() in data] == []

    # push and pull carry versions, never payloads
    remote, other = tmp_path / "remote", Keep.init(tmp_path / "other")
    keep = Keep.open(keep.settings.root)
    keep.add_remote("origin", str(remote))
    keep.push(["parrot@1.0.0"], remote="origin")
    other.add_remote("origin", str(remote))
    other.pull(["parrot@1.0.0"], remote="origin")
    other.close()
    keep.close()
    carried = b"".join(p.read_bytes() for p in [*remote.rglob("*"), *(tmp_path / "other").rglob("*")]
                       if p.is_file())
    assert carried and _found(carried, markers) == []

    purge = subprocess.run([sys.executable, "-m", "modelkeep", "purge", "--all"],
                           env={**os.environ, "MODELKEEP_KEEP": str(keep.settings.root)},
                           capture_output=True, text=True, timeout=60)
    assert purge.returncode == 0 and purge.stdout == "purged 3 payloads\n", purge.stderr
    after = _files(keep)
    assert {name: _found(data, markers) for name, data in after.items() if _found(data, markers)} == {}


def test_no_log_payloads_wins_over_the_config(tmp_path):
    keep = _keep(tmp_path / "project", logging=True)
    gateway = RecordedGateway(keep.settings.root, "--no-log-payloads")
    try:
        gateway.wait_ready()
        assert gateway.predict("parrot", {"text": "not kept"}).status_code == 200
        time.sleep(1.5)
    finally:
        gateway.stop()
    assert "payload" not in gateway.err
    assert keep.db.scalar("SELECT COUNT(*) FROM payloads") == 0
    keep.close()


def test_a_disagreeing_shadow_copy_is_logged_under_the_candidate(tmp_path):
    keep = _keep(tmp_path / "project", logging=True)
    register_python(keep, "parrot", keep.settings.root / "parrot2",
                    PARROT.replace('"said": inputs["text"]', '"said": "other"'), {"text": "hello"})
    keep.deploy("parrot@1.0.1", shadow=True)
    gateway = RecordedGateway(keep.settings.root, "--poll-interval", "0.1")
    try:
        gateway.wait_ready()
        assert gateway.predict("parrot", {"text": "shadowed zed@example.com"}).status_code == 200
        gateway.wait_for(lambda: keep.db.scalar(
            "SELECT COUNT(*) FROM payloads WHERE version = '1.0.1'") == 1, timeout=10)
    finally:
        gateway.stop()
    rows = {r["version"]: r for r in keep.db.query("SELECT * FROM payloads")}
    assert sorted(rows) == ["1.0.0", "1.0.1"]
    assert '"said": "other"' in rows["1.0.1"]["response_json"]
    assert "[redacted:email]" in rows["1.0.1"]["request_json"]
    keep.close()
