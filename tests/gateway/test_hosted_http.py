"""Hosted versions through a real gateway process and a fake provider on loopback: chat
completions (streamed or not) and predict, retries with backoff, one clear error, upstream
URLs from the config only, the API key nowhere in the keep, and costs recorded per version."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import httpx
import pytest
from fake_provider import FakeProvider
from gateway_process import GatewayProcess
from hosted_support import KEY, KEY_ENV, hosted_keep

pytestmark = pytest.mark.slow
HI = [{"role": "user", "content": "hello there"}]


@pytest.fixture(scope="module")
def provider():
    fake = FakeProvider(key=KEY)
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def evil():
    fake = FakeProvider()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def keep(tmp_path_factory, provider):
    k = hosted_keep(tmp_path_factory.mktemp("hosted") / "project", provider.url)
    k.deploy("chat@1.0.0")
    k.deploy("mix@1.0.0")
    yield k
    k.close()


@pytest.fixture(scope="module")
def gateway(keep):
    gw = GatewayProcess(keep.settings.root, "--poll-interval", "0.1", env={KEY_ENV: KEY})
    body = gw.wait_ready()
    assert {v["ref"]: v["status"] for v in body["versions"]}["chat@1.0.0"] == "healthy"
    yield gw
    gw.stop()


def chat(gw: GatewayProcess, model: str = "chat", **extra) -> httpx.Response:
    return gw.client.post("/v1/chat/completions", json={"model": model, "messages": HI, **extra},
                          headers=extra.pop("headers", None))


def test_a_chat_completion_answers_through_the_configured_provider_with_its_cost(gateway, provider):
    provider.forget()
    response = chat(gateway)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["choices"][0]["message"]["content"] == "echo: hello there"
    assert body["usage"] == {"prompt_tokens": 2, "completion_tokens": 5, "total_tokens": 7}
    # 2 tokens at 0.5/1k + 5 at 1.5/1k = 0.001 + 0.0075
    assert response.headers["X-Modelkeep-Cost"] == "0.0085 USD"
    assert response.headers["X-Modelkeep-Version"] == "1.0.0"
    assert float(response.headers["X-Modelkeep-Overhead-Ms"]) >= 0
    [sent] = provider.received()
    assert sent["authorization"] == f"Bearer {KEY}"
    assert sent["body"]["model"] == "fake-small" and sent["body"]["max_tokens"] == 16


def test_a_stream_passes_the_upstreams_chunks_on(gateway):
    with gateway.client.stream("POST", "/v1/chat/completions",
                               json={"model": "chat", "messages": HI, "stream": True}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line[6:]) for line in lines[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "echo: hello there"
    assert chunks[-1]["usage"]["completion_tokens"] == 5


def test_predict_answers_from_a_hosted_version_too(gateway):
    response = gateway.predict("chat", {"prompt": "two words"})
    assert response.status_code == 200, response.text
    assert response.json()["outputs"] == {"text": "echo: two words",
                                          "usage": {"prompt_tokens": 2, "completion_tokens": 5}}
    assert gateway.predict("chat", {"nothing": 1}).json()["error"]["code"] == "invalid_model_input"


def test_429_and_5xx_are_retried_with_backoff(gateway, provider):
    provider.forget()
    provider.script("429", "503")
    started = time.monotonic()
    response = chat(gateway)
    assert response.status_code == 200
    assert len(provider.received()) == 3
    assert time.monotonic() - started >= 0.05 * 0.8 + 0.1 * 0.8  # two backoffs waited


@pytest.mark.parametrize("steps, status, code, fragment", [
    (("429",) * 3, 502, "upstream_failed", "answered 429 (3 tries)"),
    (("500", "502", "503"), 502, "upstream_failed", "answered 503 (3 tries)"),
    (("malformed",) * 3, 502, "upstream_failed", "malformed JSON (3 tries)"),
    (("timeout",) * 3, 504, "upstream_timeout", "did not answer within 2 s (3 tries)"),
])
@pytest.mark.parametrize("stream", [False, True])
def test_an_upstream_that_keeps_failing_is_one_clear_error(gateway, provider, steps, status, code,
                                                          fragment, stream):
    provider.forget()
    provider.script(*steps, hang=4.0)
    response = chat(gateway, stream=stream)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code and fragment in error["message"]
    assert "provider 'fake'" in error["message"] and KEY not in response.text
    assert len(provider.received()) == 3  # bounded: 1 + retries


def test_a_stream_the_upstream_cuts_off_ends_with_an_error_event(gateway, provider):
    provider.script("cut")
    with gateway.client.stream("POST", "/v1/chat/completions",
                               json={"model": "chat", "messages": HI, "stream": True}) as response:
        assert response.status_code == 200
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    assert len(lines) == 3  # two chunks passed on, then the error; never retried mid-stream
    error = json.loads(lines[-1][6:])["error"]
    assert error["code"] == "upstream_failed" and "broke off the connection" in error["message"]


def test_upstream_failures_count_as_the_versions_errors_for_the_gates(gateway, keep, provider):
    time.sleep(1.2)  # the earlier tests' counts reach the keep
    before = keep.serving_stats("chat")["1.0.0"]
    provider.script("500", "500", "500")
    assert chat(gateway).status_code == 502
    assert chat(gateway).status_code == 200
    gateway.wait_for(lambda: keep.serving_stats("chat")["1.0.0"].requests >= before.requests + 2,
                     timeout=5)
    after = keep.serving_stats("chat")["1.0.0"]
    assert after.errors == before.errors + 1


def test_no_request_can_point_the_gateway_at_another_host(gateway, provider, evil):
    provider.forget()
    evil.forget()
    hostile = {"model": "chat", "messages": HI, "base_url": evil.url, "api_base": evil.url,
               "url": evil.url + "/chat/completions", "provider": "evil", "api_key": "sk-evil",
               "extra_headers": {"Host": f"127.0.0.1:{evil.port}"}}
    headers = {"Host": f"127.0.0.1:{evil.port}", "X-Forwarded-Host": f"127.0.0.1:{evil.port}",
               "X-Upstream-Url": evil.url, "Authorization": "Bearer sk-evil",
               "OpenAI-Base-URL": evil.url}
    response = gateway.client.post("/v1/chat/completions", json=hostile, headers=headers)
    assert response.status_code == 200
    assert evil.received() == []
    [sent] = provider.received()
    assert sent["host"] == f"127.0.0.1:{provider.port}"
    assert sent["authorization"] == f"Bearer {KEY}"
    assert set(sent["body"]) <= {"model", "messages", "max_tokens", "stream"}
    # nor a model name that looks like a URL
    bad = gateway.client.post("/v1/chat/completions", json={"model": evil.url, "messages": HI})
    assert bad.status_code == 404 and evil.received() == []


@pytest.mark.parametrize("body, fragment", [
    (b"not json", "not valid JSON"),
    (b'{"messages": []}', '"model"'),
    (b'{"model": "chat"}', "messages must be"),
    (b'{"model": "chat", "messages": [{"role": "user"}]}', "messages must be"),
])
def test_bad_chat_requests_are_400(gateway, body, fragment):
    response = gateway.client.post("/v1/chat/completions", content=body)
    assert response.status_code == 400
    assert fragment in response.json()["error"]["message"]


def test_a_local_model_answers_chat_too(gateway):
    response = chat(gateway, "mix")
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "local: hello there"


def test_costs_are_recorded_per_version_day_and_arm(gateway, keep):
    gateway.wait_for(lambda: keep.cost_report("chat").lines, timeout=5)
    time.sleep(1.2)  # the last flush
    [line] = keep.cost_report("chat").lines
    assert line.group == "1.0.0" and line.currency == "USD" and line.calls >= 10
    assert line.errors >= 8 and line.cost_micros > 0
    out = subprocess.run([sys.executable, "-m", "modelkeep", "cost", "chat", "--by", "day",
                          "--json"], capture_output=True, text=True, check=True,
                         env={**os.environ, "MODELKEEP_KEEP": str(keep.settings.root)})
    [day] = json.loads(out.stdout)["lines"]
    assert day["group"] == time.strftime("%Y-%m-%d", time.gmtime())
    assert float(day["cost"]) == line.cost_micros / 1e6
    per_1k = 1000 * line.cost_micros / 1e6 / line.calls
    assert float(day["cost_per_1k_requests"]) == pytest.approx(per_1k, abs=1e-6)
    arms = keep.cost_report("chat", by="arm").lines
    assert {a.group for a in arms} == {"stable 1.0.0"}


def test_a_caller_hanging_up_on_a_stream_still_settles_the_budget(gateway, keep, provider):
    keep.set_budget("chat@1.0.0", "100", "USD")
    time.sleep(1.2)  # the gateway re-reads the budgets
    provider.script("slow")
    with gateway.client.stream("POST", "/v1/chat/completions",
                               json={"model": "chat", "messages": HI, "stream": True}) as response:
        assert response.status_code == 200
        next(response.iter_lines())
        # hung up here, mid-stream
    gateway.wait_for(lambda: keep.budgets("chat")[0].reserved_micros == 0
                     and keep.budgets("chat")[0].spent_micros > 0, timeout=10)


def test_the_api_key_is_in_none_of_the_keeps_files_exports_or_the_gateways_output(
        keep, gateway, provider):
    assert chat(gateway).status_code == 200
    root = keep.settings.root
    for path in root.rglob("*"):
        if path.is_file():  # nor any prompt or answer: costs are counts and money
            data = path.read_bytes()
            assert KEY.encode() not in data and b"hello there" not in data, path
    env = {**os.environ, "MODELKEEP_KEEP": str(root), KEY_ENV: KEY}
    request = root.parent / "request.json"
    request.write_text('{"prompt": "hi"}')
    for args in (["export", "chat@1.0.0"], ["export", "chat@1.0.0", "--format", "yaml"],
                 ["show", "chat@1.0.0", "--json"], ["cost", "--json"], ["budget", "list"],
                 ["predict", "chat@1.0.0", "--input", str(request)]):
        out = subprocess.run([sys.executable, "-m", "modelkeep", *args], capture_output=True,
                             text=True, env=env)
        assert out.returncode == 0, out.stderr
        assert KEY not in out.stdout + out.stderr, args
    assert "echo: hi" in out.stdout  # predict called the provider, with the key
    gateway.client.close()
    gateway.proc.terminate()  # its whole output, to the end
    out, err = gateway.proc.communicate(timeout=10)
    assert KEY not in out + err
