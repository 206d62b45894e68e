"""Stored payloads on a real keep: off by default, redacted and cut when stored, expired ones
deleted by every write, ``purge`` by model, age or all (and the bytes gone from the SQLite files),
the ``[gateway]`` settings and ``modelkeep purge`` from the command line."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import one_line_error

from modelkeep.cli.main import cli
from modelkeep.clock import to_iso
from modelkeep.errors import InvalidInputError, ModelNotFoundError
from modelkeep.keep import Keep
from modelkeep.registry.payloads import PayloadItem, parse_before


def _configure(keep: Keep, text: str) -> Keep:
    path = keep.settings.keep_dir / "config.toml"
    path.write_text(path.read_text() + "\n" + text)
    keep.close()
    return Keep.open(keep.settings.root)


def _rows(keep: Keep) -> list[dict]:
    return keep.db.query("SELECT * FROM payloads ORDER BY id")


def _keep_bytes(keep: Keep) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(keep.settings.keep_dir.rglob("*")) if p.is_file())


@pytest.fixture
def served(keep, make_model):
    keep.register("bert", make_model(keep.settings.root / "m"))
    keep.register("gpt", make_model(keep.settings.root / "m2"))
    return keep


def test_logging_is_off_unless_the_project_turns_it_on(served):
    policy = served.payload_policy()
    assert policy.enabled is False and policy.retention_days == 7
    on = _configure(served, "[gateway]\npayload_logging = true\npayload_retention_days = 0.5\n")
    assert on.payload_policy().enabled is True and on.payload_policy().retention_days == 0.5
    on.close()


def test_stored_payloads_are_redacted_and_cut(served):
    keep = _configure(served, "[gateway]\npayload_max_bytes = 100\n"
                      '[gateway.redact_patterns]\nticket = "TCK-[0-9]+"\n')
    stored = keep.record_payloads([
        PayloadItem("bert", "1.0.0", "r1", {"text": "mail zed@example.com about TCK-991"},
                    {"label": "ok"}),
        PayloadItem("bert", "1.0.0", "r2", {"text": "x" * 500}, None, "loader_failed"),
        PayloadItem("nobody", "1.0.0", "r3", {"text": "dropped"}, {}),
    ])
    assert stored == 2
    first, second = _rows(keep)
    assert json.loads(first["request_json"]) == {"text": "mail [redacted:email] about [redacted:ticket]"}
    assert json.loads(first["response_json"]) == {"label": "ok"} and first["error"] is None
    assert second["response_json"] is None and second["error"] == "loader_failed"
    assert second["request_json"].startswith('{"text": "xxx') and "[cut: " in second["request_json"]
    assert len(second["request_json"]) < 140
    keep.close()


def test_a_write_deletes_expired_payloads(served):
    served.record_payloads([PayloadItem("bert", "1.0.0", "old", {"t": "old"}, {})])
    eight_days_ago = to_iso(datetime.now(UTC) - timedelta(days=8))
    served.db.execute("UPDATE payloads SET at = :at", {"at": eight_days_ago})
    served.record_payloads([PayloadItem("bert", "1.0.0", "new", {"t": "new"}, {})])
    assert [r["request_id"] for r in _rows(served)] == ["new"]


def test_purge_by_age_model_and_all_says_how_many(served):
    items = [PayloadItem(m, "1.0.0", f"{m}{i}", {"i": i}, {}) for m in ("bert", "gpt") for i in range(3)]
    served.record_payloads(items)
    two_days_ago = to_iso(datetime.now(UTC) - timedelta(days=2))
    served.db.execute("UPDATE payloads SET at = :at WHERE request_id IN ('bert0', 'gpt0')",
                      {"at": two_days_ago})
    assert served.purge_payloads().deleted == 0  # nothing older than the 7-day retention
    result = served.purge_payloads(before="1d")
    assert result.deleted == 2 and result.model is None and result.before < to_iso(datetime.now(UTC))
    assert served.purge_payloads(model="bert", everything=True).to_dict() == {
        "deleted": 2, "model": "bert", "before": None}
    assert [r["request_id"] for r in _rows(served)] == ["gpt1", "gpt2"]
    assert served.purge_payloads(everything=True).deleted == 2 and _rows(served) == []


def test_record_and_purge_on_both_databases(any_keep, make_model):
    any_keep.register("bert", make_model(any_keep.settings.root / "m"))
    items = [PayloadItem("bert", "1.0.0", f"r{i}", {"mail": f"u{i}@example.com"}, {}) for i in range(4)]
    assert any_keep.record_payloads(items) == 4
    stored = any_keep.db.query("SELECT request_json FROM payloads")
    assert [json.loads(r["request_json"]) for r in stored] == [{"mail": "[redacted:email]"}] * 4
    assert any_keep.purge_payloads(model="bert", everything=True).deleted == 4


def test_purged_text_is_gone_from_every_byte_of_the_keep(served):
    marker = "purge-marker-zq"
    served.record_payloads([PayloadItem("bert", "1.0.0", f"r{i}", {"t": f"{marker} {i}"},
                                        {"o": marker * 50}) for i in range(200)])
    assert marker.encode() in _keep_bytes(served)
    assert served.purge_payloads(everything=True).deleted == 200
    assert marker.encode() not in _keep_bytes(served)


@pytest.mark.parametrize("text", ["3x", "", "yesterday", "-3d", "2026-13-01"])
def test_a_bad_time_is_one_clear_error(text):
    with pytest.raises(InvalidInputError, match="invalid time"):
        parse_before(text)


def test_an_age_and_a_date_are_both_understood():
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    assert parse_before("12h", now) == "2026-12-02T00:00:00.000000Z"
    assert parse_before("1.5d", now) == "2026-12-01T00:00:00.000000Z"
    assert parse_before("2026-12-01T06:00Z") == "2026-12-01T06:00:00.000000Z"


def test_purge_refuses_before_with_all_and_unknown_models(served):
    with pytest.raises(InvalidInputError, match="--before or --all"):
        served.purge_payloads(before="1d", everything=True)
    with pytest.raises(ModelNotFoundError, match="did you mean 'bert'"):
        served.purge_payloads(model="bertt")


@pytest.mark.parametrize("text, fragment", [
    ('payload_logging = "yes"', "payload_logging must be true or false"),
    ("payload_retention_days = -1", "payload_retention_days must be a number of at least 0"),
    ('payload_retention_days = "7d"', "payload_retention_days must be"),
    ("payload_max_bytes = 10", "payload_max_bytes must be a whole number of at least 64"),
    ("payload_max_bytes = 1.5e3", "payload_max_bytes must be a whole number"),
    ('redact = "email"', "redact must be a list of pattern names"),
])
def test_bad_gateway_settings_are_one_line_errors(served, text, fragment):
    path = served.settings.keep_dir / "config.toml"
    path.write_text(path.read_text() + f"\n[gateway]\n{text}\n")
    with pytest.raises(InvalidInputError) as caught:
        Keep.open(served.settings.root)
    assert fragment in caught.value.message


def test_a_user_config_cannot_turn_logging_on(served, tmp_path, monkeypatch):
    user = tmp_path / "user.toml"
    user.write_text("[gateway]\npayload_logging = true\n")
    monkeypatch.setenv("MODELKEEP_USER_CONFIG", str(user))
    reopened = Keep.open(served.settings.root)
    assert reopened.payload_policy().enabled is False
    reopened.close()


def test_the_purge_command(served, monkeypatch):
    monkeypatch.chdir(served.settings.root)
    served.record_payloads([PayloadItem("bert", "1.0.0", f"r{i}", {"i": i}, {}) for i in range(3)])
    runner = CliRunner()
    result = runner.invoke(cli, ["purge"])
    assert result.exit_code == 0 and result.stdout.startswith("purged 0 payloads stored before 20")
    result = runner.invoke(cli, ["purge", "--model", "bert", "--all", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"deleted": 3, "model": "bert", "before": None}
    served.record_payloads([PayloadItem("bert", "1.0.0", "r9", {"i": 9}, {})])
    assert runner.invoke(cli, ["purge", "--all"]).stdout == "purged 1 payload\n"
    bad = runner.invoke(cli, ["purge", "--before", "soon"])
    assert bad.exit_code != 0
    one_line_error(bad, "invalid time 'soon'")
    both = runner.invoke(cli, ["purge", "--before", "1d", "--all"])
    one_line_error(both, "--before or --all")


def test_payloads_are_no_version_records(served: Keep, tmp_path: Path):
    """push sends version records; payloads are in a table of their own that nothing reads."""
    served.record_payloads([PayloadItem("bert", "1.0.0", "r1", {"t": "push-marker-qq"}, {})])
    served.add_remote("origin", str(tmp_path / "remote"))
    served.push(["bert@1.0.0"], remote="origin")
    sent = b"".join(p.read_bytes() for p in (tmp_path / "remote").rglob("*") if p.is_file())
    assert sent and b"push-marker-qq" not in sent
