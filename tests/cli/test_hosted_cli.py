"""``register --hosted``, ``cost`` and ``budget`` from the command line, with their bad inputs."""

from __future__ import annotations

import json

import pytest
from support import cli_run, one_line_error

from modelkeep.keep import Keep
from modelkeep.registry.costs import CallCost

SPEC = "provider: fake\nmodel: small\nprice: {currency: USD, per_call: 0.01}\n"


@pytest.fixture
def hosted(project):
    (project / "spec.yaml").write_text(SPEC)
    cli_run("register", "chat", "--hosted", "spec.yaml")
    return project


def test_register_hosted_stores_the_spec_as_the_version(hosted):
    shown = cli_run("show", "chat@1.0.0").stdout
    assert "hosted:hosted.json" in shown
    again = cli_run("register", "chat", "--hosted", "spec.yaml").stdout
    assert "no new version" in again


@pytest.mark.parametrize("spec, fragment", [
    ("provider: fake\nmodel: small\nprice: {currency: USD, per_call: ten}\n",
     "price.per_call must be a number, got 'ten'"),
    ("provider: fake\nmodel: small\nprice: {currency: USD, per_call: .nan}\n", "finite amount"),
    ("provider: fake\nmodel: small\nbase_url: http://evil/v1\nprice: {currency: USD, per_call: 1}\n",
     "never from a version"),
    ("provider: fake\nmodel: small\nprice: {currency: dollars, per_call: 1}\n", "ISO 4217"),
    ("[unclosed", "not valid YAML or JSON"),
])
def test_a_bad_spec_is_one_line_and_registers_nothing(project, spec, fragment):
    (project / "bad.yaml").write_text(spec)
    result = cli_run("register", "chat", "--hosted", "bad.yaml", code=2)
    one_line_error(result, fragment)
    assert "no models" in cli_run("list").stdout.lower() or "chat" not in cli_run("list").stdout


def test_register_wants_a_path_or_a_spec_not_both(project):
    (project / "spec.yaml").write_text(SPEC)
    result = cli_run("register", "chat", "model", "--hosted", "spec.yaml", code=2)
    assert "PATH" in result.stderr and "--hosted" in result.stderr


def test_budgets_are_set_listed_and_bad_amounts_refused(hosted):
    out = cli_run("budget", "set", "chat@1.0.0", "10.00", "--currency", "USD").stdout
    assert "Budget of chat@1.0.0: 10.00 USD" in out
    listed = json.loads(cli_run("budget", "list", "--json").stdout)
    assert listed == [{"ref": "chat@1.0.0", "currency": "USD", "limit": "10.00", "spent": "0.00",
                       "reserved": "0.00", "exhausted": False, "updated_at": listed[0]["updated_at"]}]
    for amount, fragment in (("ten", "the budget must be a number, got 'ten'"),
                             ("-1", "at least 0"), ("nan", "finite amount"), ("1e400", "too large")):
        one_line_error(cli_run("budget", "set", "--currency", "USD", "chat@1.0.0", "--", amount,
                               code=2), fragment)
    one_line_error(cli_run("budget", "set", "chat@1.0.0", "5", "--currency", "usd", code=2), "ISO 4217")
    one_line_error(cli_run("budget", "set", "chat@1.0.0", "5", "--currency", "EUR", code=2),
                   "already has a budget in USD")
    one_line_error(cli_run("budget", "set", "chat@9.9.9", "5", "--currency", "USD", code=3), "not found")
    assert json.loads(cli_run("budget", "list", "--json").stdout)[0]["limit"] == "10.00"


def test_cost_shows_spend_per_version_day_and_arm_with_cost_per_1000_requests(hosted):
    keep = Keep.open(hosted)
    keep.record_costs("chat", [CallCost("1.0.0", "stable", "2026-12-01", "USD", 3, 1, 30, 60, 20_000),
                               CallCost("1.0.0", "candidate", "2026-12-02", "USD", 1, 0, 5, 5, 10_000)],
                      "gw1")
    keep.close()
    data = json.loads(cli_run("cost", "chat", "--json").stdout)
    assert data["lines"] == [{"model": "chat", "group": "1.0.0", "currency": "USD", "calls": 4,
                              "errors": 1, "input_tokens": 35, "output_tokens": 65,
                              "cost": "0.03", "cost_per_1k_requests": "7.50"}]
    by_day = json.loads(cli_run("cost", "--by", "day", "--json").stdout)["lines"]
    assert [(d["group"], d["cost"]) for d in by_day] == [("2026-12-01", "0.02"), ("2026-12-02", "0.01")]
    by_arm = json.loads(cli_run("cost", "chat", "--by", "arm", "--json").stdout)["lines"]
    assert {a["group"] for a in by_arm} == {"stable 1.0.0", "candidate 1.0.0"}
    assert json.loads(cli_run("cost", "--since", "2099-01-01", "--json").stdout)["lines"] == []
    table = cli_run("cost", "chat").stdout
    assert "0.03 USD" in table and "7.50 USD" in table
    cli_run("cost", "--by", "week", code=2)
    one_line_error(cli_run("cost", "nochat", code=3), "model 'nochat' not found")


def test_predict_on_a_provider_the_config_lacks_is_one_clear_error(hosted):
    (hosted / "request.json").write_text('{"prompt": "hi"}')
    result = cli_run("predict", "chat@1.0.0", "--input", "request.json", code=1)
    one_line_error(result, "provider 'fake' is not configured")


def test_a_key_written_into_the_config_is_refused(hosted):
    config = hosted / ".modelkeep" / "config.toml"
    config.write_text(config.read_text() + '\n[providers.fake]\nbase_url = "http://127.0.0.1:9/v1"\n'
                      'api_key = "sk-do-not-store"\n')
    result = cli_run("list", code=2)
    line = one_line_error(result, "api_key must be absent")
    assert "sk-do-not-store" not in line


def test_budgets_in_the_config_are_set_when_a_gateway_starts_and_bad_ones_refused(hosted):
    config = hosted / ".modelkeep" / "config.toml"
    text = config.read_text()
    config.write_text(text + '\n[budgets]\n"chat@1.0.0" = {amount = "2.50", currency = "USD"}\n')
    keep = Keep.open(hosted)
    try:
        [budget] = keep.apply_configured_budgets()
        assert (budget.ref, budget.limit_micros, budget.currency) == ("chat@1.0.0", 2_500_000, "USD")
    finally:
        keep.close()
    config.write_text(text + '\n[budgets]\n"chat@1.0.0" = {amount = "ten", currency = "USD"}\n')
    one_line_error(cli_run("gateway", "--port", "0", code=2), "the budget must be a number")
    config.write_text(text + '\n[budgets]\n"chat@1.0.0" = "10 USD"\n')
    one_line_error(cli_run("budget", "list", code=2), '[budgets] "chat@1.0.0" must be')
