"""modelkeep docs: a model card and changelog per version, read back with huggingface_hub's own
card parser, stored with the version only when they changed, and carried by push and pull."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from documents_support import HOSTILE, metadata, model_folder
from huggingface_hub import ModelCard
from support import cli_run, one_line_error

from modelkeep.errors import OutputExistsError, UnsafePathError
from modelkeep.keep import Keep
from modelkeep.registry.records import append_record


def kinds(keep: Keep, ref: str) -> list[str]:
    return [r["kind"] for r in keep.show(ref)["records"]]


def test_the_card_is_a_hugging_face_card_with_a_model_index(ranker: Keep, tmp_path: Path) -> None:
    result = ranker.docs("ranker@1.1.0", tmp_path / "out")
    card = ModelCard.load(tmp_path / "out" / "CARD.md")
    data = card.data.to_dict()
    assert data["tags"] == ["modelkeep", "search", 'ta"g: ---']
    assert data["pipeline_tag"] == "text-classification" and data["license"] == "apache-2.0"
    assert data["library_name"] == "sklearn" and data["datasets"] == ["clicks", "holdout"]
    assert data["modelkeep"]["ref"] == "ranker@1.1.0"
    results = {(r.dataset_name, r.metric_type): r for r in card.data.eval_results}
    # headline metrics sit on the test dataset beside its own; the NaN loss of 1.0.0 is not here
    assert results[("holdout", "accuracy")].metric_value == 0.93
    assert results[("holdout", "loss")].metric_value == 0.2
    assert results[("holdout", "f1")].metric_value == 0.8
    assert results[("holdout", "f1")].dataset_split == "test"
    assert results[("holdout", "f1")].task_type == "text-classification"
    assert results[("holdout", "f1")].dataset_revision == "b" * 64
    assert card.data.model_name == "ranker"
    assert result.card == (tmp_path / "out" / "CARD.md").read_text()


def test_a_hostile_description_neither_breaks_the_front_matter_nor_injects_markdown(
        ranker: Keep, tmp_path: Path) -> None:
    ranker.docs("ranker@1.0.0", tmp_path / "out")
    text = (tmp_path / "out" / "CARD.md").read_text()
    card = ModelCard.load(tmp_path / "out" / "CARD.md")
    assert card.data.license == "apache-2.0"  # the tag's; the description's "license: evil" stayed text
    assert text.count("\n---\n") == 1 and text.startswith("---\n")  # only the front matter's
    body = card.text
    assert "<script>" not in body and "&lt;script&gt;" in body
    assert "\x1b" not in text and "\ufffd\\[2J" in body
    lines = body.splitlines()
    assert "# Owned" not in lines and "\\# Owned" in lines
    assert "\\---" in lines and "---" not in lines
    assert "[click](javascript" not in body and "\\[click\\](javascript" in body
    assert "\\| a \\| b \\|" in body and "\\`code\\` \\*bold\\*" in body
    # metadata's tag with a quote and "---" round-trips as data
    assert 'ta"g: ---' in card.data.tags


def test_a_version_with_no_metrics_still_has_a_valid_card(keep: Keep, tmp_path: Path) -> None:
    keep.register("bare", model_folder(tmp_path / "m", b"w"))
    result = keep.docs("bare@1.0.0", tmp_path / "out")
    card = ModelCard.load(tmp_path / "out" / "CARD.md")
    assert card.data.eval_results is None and "model-index" not in card.data.to_dict()
    assert "No metrics recorded." in card.text
    assert "First version." in result.changelog


def test_the_changelog_sorts_the_diff_into_sections(ranker: Keep, tmp_path: Path) -> None:
    result = ranker.docs("ranker", tmp_path / "out")
    text = (tmp_path / "out" / "CHANGELOG.md").read_text()
    assert text == result.changelog and text.startswith("# Changelog of ranker\n")
    newer, older = text.index("## ranker@1.1.0"), text.index("## ranker@1.0.0")
    assert newer < older  # newest first
    entry = text[newer:older]
    assert "Changes since 1.0.0." in entry and "- patch: hyperparameters changed" in entry
    assert "### Configuration changes" in entry and "- hyperparameter lr: 0.1 → 0.01" in entry
    assert "### Environment variables" in entry and "- LOG\\_LEVEL: info → debug" in entry
    assert "### Dependencies" in entry and "- runtime scipy&gt;=1.13 added" in entry
    assert "### Performance" in entry and "- accuracy: 0.9 → 0.93 (+0.03)" in entry
    assert "- loss: NaN → 0.2" in entry
    assert "### Files" in entry and "- changed: model.bin" in entry
    first = text[older:]
    assert "First version." in first and "- hyperparameter lr: 0.1 (new)" in first
    assert "- components.datasets: clicks train, holdout test (new)" in first
    assert "gpu\\_required" not in first and "rollouts" not in first  # defaults left out
    assert result.card_of == "ranker@1.1.0" and "# ranker@1.1.0" in result.card


def test_emptied_maps_show_as_their_removed_keys(ranker: Keep, tmp_path: Path) -> None:
    meta = metadata()
    meta.deployment.environment = {}
    meta.deployment.config = {}
    ranker.register("ranker", model_folder(tmp_path / "v3", b"w3"), metadata=meta, bump="patch")
    entry = ranker.docs("ranker@1.1.1").versions[0].changelog
    assert "- LOG\\_LEVEL: removed (was debug)" in entry
    assert "- deployment.config.replicas: removed (was 2)" in entry
    assert "deployment.environment:" not in entry and "deployment.config:" not in entry


def test_a_predecessor_without_artifacts_gets_an_entry_without_files(ranker: Keep,
                                                                      tmp_path: Path) -> None:
    ranker.store.delete(ranker.resolve("ranker@1.0.0").tree_id)  # as gc pruning leaves it
    entry = ranker.docs("ranker@1.1.0").versions[0].changelog
    assert "- not compared: the artifacts of one version are not in this keep" in entry
    assert "- hyperparameter lr: 0.1 → 0.01" in entry  # the metadata is still compared


def test_validation_records_are_read_generically(ranker: Keep, tmp_path: Path) -> None:
    vid = ranker.resolve("ranker@1.1.0").id
    append_record(ranker.db, vid, "validation", "policy.yaml",
                  {"passed": False,
                   "checks": [{"name": "a", "passed": True}, {"name": "b", "passed": False}]}, "ci")
    append_record(ranker.db, vid, "validation", "other.yaml", {"status": "skipped"}, "ci")
    # as modelkeep validate stores them: keyed by the policy's hash, naming the policy inside
    append_record(ranker.db, vid, "validation", "ab" * 32,
                  {"policy": "gate.yaml", "passed": True, "checks": [{"name": "x", "passed": True}]},
                  "ci")
    result = ranker.docs("ranker@1.1.0", tmp_path / "out")
    assert "| policy.yaml | failed | 2 checks, 1 failed |" in result.card
    assert "| other.yaml | skipped | - |" in result.card
    assert "| gate.yaml | passed | 1 checks, 0 failed |" in result.card
    assert ": policy.yaml failed (2 checks, 1 failed)" in result.changelog


def test_documents_are_stored_only_when_they_change(ranker: Keep, tmp_path: Path) -> None:
    first = ranker.docs("ranker@1.1.0", tmp_path / "a")
    assert first.versions[0].stored == ("model_card", "changelog")
    assert kinds(ranker, "ranker@1.1.0") == ["model_card", "changelog"]
    again = ranker.docs("ranker@1.1.0", tmp_path / "b")
    assert again.versions[0].stored == ()  # nothing new
    ranker.add_metric("ranker@1.1.0", "accuracy", 0.95)  # the card now says something else
    third = ranker.docs("ranker@1.1.0", tmp_path / "c")
    assert third.versions[0].stored == ("model_card", "changelog")
    stored = [r for r in ranker.show("ranker@1.1.0")["records"] if r["kind"] == "model_card"]
    assert len(stored) == 2 and stored[-1]["value"] == third.card and "0.95" in third.card


def test_an_existing_file_is_refused_before_anything_is_written_or_stored(ranker: Keep,
                                                                          tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "CHANGELOG.md").write_text("mine")
    with pytest.raises(OutputExistsError, match="CHANGELOG.md exists already"):
        ranker.docs("ranker@1.0.0", out)
    assert not (out / "CARD.md").exists() and (out / "CHANGELOG.md").read_text() == "mine"
    assert kinds(ranker, "ranker@1.0.0") == []  # no document stored
    (out / "CARD.md").symlink_to(tmp_path / "elsewhere")  # a dangling link counts as existing
    (out / "CHANGELOG.md").unlink()
    with pytest.raises(OutputExistsError):
        ranker.docs("ranker@1.0.0", out)
    ranker.docs("ranker@1.0.0", out, force=True)
    assert not (out / "CARD.md").is_symlink() and not (tmp_path / "elsewhere").exists()
    (tmp_path / "file").write_text("x")
    with pytest.raises(UnsafePathError):
        ranker.docs("ranker@1.0.0", tmp_path / "file")


def test_documents_reach_another_keep_through_push_and_pull(ranker: Keep, tmp_path: Path) -> None:
    ranker.add_remote("origin", str(tmp_path / "remote"))
    made = ranker.docs("ranker", tmp_path / "out")
    assert ranker.push().records == 4
    other = Keep.init(tmp_path / "other")
    try:
        other.add_remote("origin", str(tmp_path / "remote"))
        other.pull(["ranker@1.0.0", "ranker@1.1.0"])
        cards = [r["value"] for r in other.show("ranker@1.1.0")["records"] if r["kind"] == "model_card"]
        assert cards == [made.card]
        # the pulled keep writes the same documents from the same facts: nothing new to store
        assert other.docs("ranker", tmp_path / "again").versions[0].stored == ()
    finally:
        other.close()


# -- the command ------------------------------------------------------------------------------

def test_docs_command_writes_both_files_and_refuses_to_overwrite(cli_project: Path) -> None:
    out = cli_run("docs", "ranker@1.0.0", "--out", "docs").stdout
    assert "Wrote docs/CARD.md" in out and "2 document(s) stored" in out
    assert ModelCard.load(cli_project / "docs" / "CARD.md").data.model_name == "ranker"
    refused = cli_run("docs", "ranker@1.0.0", "--out", "docs", code=4)
    one_line_error(refused, "docs/CARD.md exists already")
    forced = json.loads(cli_run("docs", "ranker", "--out", "docs", "--force", "--json").stdout)
    assert forced["card_of"] == "ranker@1.1.0" and len(forced["versions"]) == 2
    assert [v["ref"] for v in forced["versions"]] == ["ranker@1.1.0", "ranker@1.0.0"]
    assert forced["versions"][0]["stored"] == ["model_card", "changelog"]
    assert forced["versions"][1]["stored"] == []  # stored by the first run, unchanged since
    shown = cli_run("show", "ranker@1.1.0").stdout
    assert "model_card  CARD.md = " in shown and "lines of Markdown" in shown
    missing = cli_run("docs", "rankr@1.0.0", "--out", "d2", code=3)
    one_line_error(missing, "rankr")
    assert not (cli_project / "d2").exists()


def test_docs_needs_an_out_folder(cli_project: Path) -> None:
    assert "Missing option '--out'" in cli_run("docs", "ranker", code=2).output


def test_the_description_is_the_one_from_metadata(ranker: Keep) -> None:
    assert ranker.show("ranker@1.0.0")["metadata"]["identity"]["description"] == HOSTILE
    assert metadata().identity.team == "search"
