"""``GET /metrics`` of a real gateway with two processes (uvicorn workers), read with
prometheus-client's own parser: the counts add up across processes (each one's share read from
its own files), a killed process's counts stay and its live gauge goes, nothing a client made
up becomes a label, and the metric files go when the gateway stops. Then the Grafana dashboard
in docs/ is checked, with a real PromQL parser, to query only metrics and labels this gateway
exports."""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import httpx
import promql_parser
import psutil
import pytest
from gateway_process import GatewayProcess, make_keep
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.slow

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana" / "modelkeep-gateway.json"
ECHO_REQUESTS, BROKEN_REQUESTS, BAD_REQUESTS = 240, 12, 7


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """(sample name, sorted labels) -> value, parsed by prometheus-client."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _sum(samples: dict, name: str, **labels: str) -> float:
    return sum(v for (n, ls), v in samples.items()
               if n == name and all((k, val) in ls for k, val in labels.items()))


def _fresh(url: str) -> httpx.Client:
    """A client that opens a new connection per request, so requests spread over processes."""
    return httpx.Client(base_url=url, timeout=30, limits=httpx.Limits(max_keepalive_connections=0))


def _processes(gateway: GatewayProcess) -> list[psutil.Process]:
    """The gateway's processes (not multiprocessing's resource tracker)."""
    found = []
    for child in psutil.Process(gateway.proc.pid).children():
        try:
            if "resource_tracker" not in " ".join(child.cmdline()):
                found.append(child)
        except psutil.Error:  # a killed process not reaped yet
            continue
    return found


def _metrics_dir(gateway: GatewayProcess) -> tuple[Path, list[int]]:
    found = _processes(gateway)
    dirs = {w.environ().get("PROMETHEUS_MULTIPROC_DIR") for w in found} - {None}
    assert len(dirs) == 1, dirs
    return Path(dirs.pop()), [w.pid for w in found]


def _per_process(directory: Path, tmp_path: Path) -> dict[int, float]:
    """pid -> echo requests counted in that process's own counter file (collected alone)."""
    out = {}
    for path in directory.glob("counter_*.db"):
        alone = tmp_path / path.stem
        alone.mkdir()
        shutil.copy(path, alone / path.name)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, str(alone))
        text = generate_latest(registry).decode()
        out[int(path.stem.split("_")[1])] = _sum(_samples(text), "modelkeep_requests_total", model="echo")
    return out


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    keep = make_keep(tmp_path_factory.mktemp("metrics") / "project")
    keep.deploy("echo@1.0.0")
    keep.deploy("broken@1.0.0")
    keep.deploy("echo@1.0.1", canary=True, steps=(50, 100))
    keep.change_deployment("echo", "pause")  # the split holds: no gate moves it mid-test
    gw = GatewayProcess(keep.settings.root, "--processes", "2", "--poll-interval", "0.1")
    client = _fresh(gw.url)
    # both processes up, each having tried every version (/healthz names who answered)
    deadline, ready = time.monotonic() + 60, set()
    while len(ready) < 2 and time.monotonic() < deadline:
        try:
            body = client.get("/healthz").json()
            if len(body["versions"]) == 3 and all(v["status"] != "loading" for v in body["versions"]):
                ready.add(body["process"])
        except (httpx.TransportError, ValueError, KeyError):
            time.sleep(0.1)
    assert len(ready) == 2, "the processes did not become ready"
    assert ready == {p.pid for p in _processes(gw)}
    yield gw, client
    client.close()
    gw.stop()
    keep.close()


@pytest.fixture(scope="module")
def traffic(gateway):
    """Echo predictions from four threads on fresh connections, failures and bad requests;
    the /metrics text afterwards (the healthz polling so far is counted too)."""
    gw, client = gateway

    answers: list[str] = []

    def send(count: int) -> None:
        with _fresh(gw.url) as own:
            for i in range(count):
                response = own.post("/v1/models/echo/predict", json={"inputs": {"x": [i]}})
                answers.append(f"{response.status_code} {response.text[:200]}")

    threads = [threading.Thread(target=send, args=(ECHO_REQUESTS // 4,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == ECHO_REQUESTS
    assert [a for a in answers if not a.startswith("200 ")] == []
    for _ in range(BROKEN_REQUESTS):
        assert client.post("/v1/models/broken/predict", json={"inputs": {"x": [1]}}).status_code == 503
    for i in range(BAD_REQUESTS):
        assert client.post(f"/v1/models/made-up-{i}/predict", content=b"{").status_code in (400, 404)
    return client.get("/metrics")


def test_metrics_are_prometheus_text_and_counts_add_up_across_processes(gateway, traffic):
    assert traffic.status_code == 200 and traffic.headers["content-type"].startswith("text/plain")
    samples = _samples(traffic.text)

    def count(name: str, **labels: str) -> float:
        return _sum(samples, name, **labels)

    assert count("modelkeep_requests_total", model="echo", traffic="live") == ECHO_REQUESTS
    by_version = [count("modelkeep_requests_total", model="echo", version=v) for v in ("1.0.0", "1.0.1")]
    assert sum(by_version) == ECHO_REQUESTS and all(n > ECHO_REQUESTS * 0.25 for n in by_version)
    assert count("modelkeep_request_duration_seconds_count", model="echo") == ECHO_REQUESTS
    assert count("modelkeep_request_duration_seconds_bucket", model="echo", le="+Inf") == ECHO_REQUESTS
    assert count("modelkeep_requests_total", model="broken") == BROKEN_REQUESTS
    assert count("modelkeep_errors_total", model="broken", code="version_unhealthy") == BROKEN_REQUESTS
    assert count("modelkeep_errors_total", model="echo") == 0
    assert count("modelkeep_http_responses_total", endpoint="predict", status="200") == ECHO_REQUESTS
    assert count("modelkeep_http_responses_total", endpoint="predict", status="503") == BROKEN_REQUESTS
    assert count("modelkeep_http_responses_total", endpoint="predict") == \
        ECHO_REQUESTS + BROKEN_REQUESTS + BAD_REQUESTS
    assert count("modelkeep_gateway_processes") == 2
    # what clients made up (model names in paths) never becomes a label value
    assert "made-up" not in traffic.text


def test_each_process_counted_its_own_share(gateway, traffic, tmp_path):
    gw, _ = gateway
    directory, pids = _metrics_dir(gw)
    shares = _per_process(directory, tmp_path)
    assert sorted(shares) == sorted(pids)
    assert sum(shares.values()) == ECHO_REQUESTS
    assert all(n > 0 for n in shares.values()), shares  # both processes answered


def test_a_killed_process_keeps_its_counts_and_loses_its_live_gauge(gateway, traffic):
    gw, client = gateway
    directory, pids = _metrics_dir(gw)
    os.kill(pids[0], signal.SIGKILL)
    gw.wait_for(lambda: len(_processes(gw)) == 2 and pids[0] not in [c.pid for c in _processes(gw)],
                timeout=30)
    samples: dict = {}

    def settled() -> bool:
        samples.update(_samples(client.get("/metrics").text))
        return _sum(samples, "modelkeep_gateway_processes") == 2

    gw.wait_for(settled, timeout=30)  # the restarted process counted, the dead one not
    assert _sum(samples, "modelkeep_requests_total", model="echo", traffic="live") == ECHO_REQUESTS
    assert directory.is_dir()


def test_the_metric_files_go_when_the_gateway_stops(tmp_path):
    keep = make_keep(tmp_path / "project")
    keep.deploy("echo@1.0.0")
    gw = GatewayProcess(keep.settings.root, "--processes", "2")
    try:
        gw.wait_ready()
        gw.wait_for(lambda: len(_processes(gw)) == 2, timeout=30)
        directory, _ = _metrics_dir(gw)
        assert directory.is_dir()
    finally:
        gw.stop()
    assert gw.proc.returncode == 0 and not directory.exists()
    keep.close()


# -- the Grafana dashboard ----------------------------------------------------------------

GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__range": "6h", "$__interval": "1m", "$model": ".*"}


def _queries(dashboard: dict) -> list[str]:
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    for variable in dashboard["templating"]["list"]:
        query = variable.get("query")
        query = query.get("query") if isinstance(query, dict) else query
        if variable["type"] == "query" and query.startswith("label_values("):
            # Grafana's label_values(METRIC, LABEL): the selector is PromQL, LABEL one of its labels
            metric, label = query[len("label_values("):-1].rsplit(",", 1)
            exprs.append(f"sum by ({label.strip()}) ({metric.strip()})")
    for name, value in GRAFANA_VARIABLES.items():
        exprs = [e.replace(name, value) for e in exprs]
    return exprs


def _references(expr: object, names: set[str], labels: set[str]) -> None:
    """Metric names and label names an expression parsed by promql_parser uses."""
    kind = type(expr).__name__
    if kind == "VectorSelector":
        names.add(expr.name)
        labels.update(m.name for m in expr.matchers.matchers)
        return
    if kind == "MatrixSelector":
        _references(expr.vector_selector, names, labels)
        return
    modifier = getattr(expr, "modifier", None)
    if modifier is not None:
        labels.update(getattr(modifier, "labels", None) or [])
        matching = getattr(modifier, "matching", None)
        labels.update(matching.labels if matching is not None else [])
        labels.update(getattr(modifier, "group_labels", None) or [])
    for child in ("expr", "lhs", "rhs", "param"):
        if hasattr(expr, child) and getattr(expr, child) is not None:
            _references(getattr(expr, child), names, labels)
    for arg in getattr(expr, "args", None) or []:
        _references(arg, names, labels)


def test_the_dashboard_queries_only_what_the_gateway_exports(traffic):
    dashboard = json.loads(DASHBOARD.read_text())
    titles = " ".join(p["title"].lower() for p in dashboard["panels"])
    for wanted in ("request rate", "error rate", "latency p50 / p99", "traffic share", "cost"):
        assert wanted in titles
    names: set[str] = set()
    labels: set[str] = set()
    for expr in _queries(dashboard):
        _references(promql_parser.parse(expr), names, labels)
    exported: set[str] = set()
    exported_labels = {"le"}
    for family in text_string_to_metric_families(traffic.text):
        suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"]}.get(family.type, [""])
        exported.update(family.name + s for s in suffixes)
        exported_labels.update(k for s in family.samples for k in s.labels)
    assert {"modelkeep_requests_total", "modelkeep_errors_total", "modelkeep_cost_total",
            "modelkeep_request_duration_seconds_bucket"} <= names
    assert sorted(names - exported) == []
    assert sorted(labels - exported_labels - {"currency"}) == []  # cost: no hosted model here
