"""Hosted versions (a fake provider on loopback) in ``/metrics`` and under payload logging: the
cost counter adds up to what the keep recorded for each version, and chat prompts with marker
strings reach the upstream and the ``payloads`` table (redacted) but no cost record, no other
table, no output of the gateway and no metric."""

from __future__ import annotations

import time
import uuid

import pytest
from fake_provider import FakeProvider
from gateway_process import RecordedGateway
from hosted_support import KEY, KEY_ENV, hosted_keep
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.slow


def test_cost_metric_matches_the_keeps_costs_and_prompts_stay_in_the_payload_table(tmp_path):
    provider = FakeProvider(key=KEY)
    keep = hosted_keep(tmp_path / "project", provider.url)
    config = keep.settings.keep_dir / "config.toml"
    config.write_text(config.read_text() + "\n[gateway]\npayload_logging = true\n")
    keep.deploy("chat@1.0.0")
    marker, email = f"tapir-{uuid.uuid4().hex[:8]}-plain", f"ibis.{uuid.uuid4().hex[:6]}@example.org"
    gw = RecordedGateway(keep.settings.root, "--poll-interval", "0.1", env={KEY_ENV: KEY})
    try:
        gw.wait_ready()
        for i in range(4):
            messages = [{"role": "user", "content": f"{marker} number {i} from {email}"}]
            answer = gw.client.post("/v1/chat/completions", json={"model": "chat", "messages": messages})
            assert answer.status_code == 200 and answer.headers["X-Modelkeep-Cost"].endswith(" USD")
        streamed = gw.client.post("/v1/chat/completions", json={
            "model": "chat", "stream": True, "messages": [{"role": "user", "content": marker}]})
        assert streamed.status_code == 200
        gw.wait_for(lambda: keep.cost_report("chat").lines
                    and keep.cost_report("chat").lines[0].calls == 5, timeout=10)
        metrics = gw.client.get("/metrics").text
        time.sleep(1.2)  # the payloads' write
    finally:
        gw.stop()
        provider.stop()
    [line] = keep.cost_report("chat").lines
    costs = [s for f in text_string_to_metric_families(metrics) if f.name == "modelkeep_cost"
             for s in f.samples if s.name == "modelkeep_cost_total"]
    assert [s.labels for s in costs] == [{"model": "chat", "version": "1.0.0", "currency": "USD"}]
    assert costs[0].value == pytest.approx(line.cost_micros / 1_000_000) and line.cost_micros > 0
    assert marker not in metrics and marker not in gw.out + gw.err and email not in gw.out + gw.err
    rows = keep.db.query("SELECT * FROM payloads ORDER BY id")
    assert len(rows) == 4  # the streamed answer is not logged
    assert marker in rows[0]["request_json"] and "[redacted:email]" in rows[0]["request_json"]
    assert "echo: " in rows[0]["response_json"] and email not in repr(rows)
    tables = [r["name"] for r in keep.db.query("SELECT name FROM sqlite_master WHERE type = 'table'")]
    holding = {t for t in tables for row in keep.db.query(f'SELECT * FROM "{t}"') if marker in repr(row)}
    assert holding == {"payloads"}
    keep.close()
