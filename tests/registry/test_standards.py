"""export --as: each standard format read back with the format's own reference library
(mlflow-skinny, huggingface_hub, cyclonedx-python-lib, openlineage-python), never with a schema
of ours; plus the bad inputs: unknown format, existing output, hostile metadata."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mlflow.models
import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from documents_support import metadata, model_folder
from huggingface_hub import ModelCard
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.generated.dataset_version_dataset import DatasetVersionDatasetFacet
from openlineage.client.serde import Serde
from support import cli_run, one_line_error

from modelkeep.errors import OutputExistsError, UnknownFormatError, UnsafePathError
from modelkeep.keep import Keep


def mlmodel(keep: Keep, ref: str, folder: Path) -> mlflow.models.Model:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "MLmodel").write_bytes(keep.export_as(ref, "mlmodel"))
    return mlflow.models.Model.load(str(folder))


# -- MLflow ------------------------------------------------------------------------------------

def test_mlmodel_loads_in_mlflow_with_a_tensor_signature(ranker: Keep, tmp_path: Path) -> None:
    model = mlmodel(ranker, "ranker@1.1.0", tmp_path / "m")
    assert model.flavors["modelkeep"]["ref"] == "ranker@1.1.0"
    assert model.flavors["modelkeep"]["framework"] == "sklearn"
    inputs = model.signature.inputs.inputs
    assert [(i.name, str(i.type), i.shape) for i in inputs] == [("features", "float32", (-1, 4))]
    assert model.signature.outputs.inputs[0].name == "label"
    assert model.metadata["metrics"] == {"accuracy": 0.93, "loss": 0.2}
    assert model.metadata["description"].startswith("Ranks search results.\n---\nlicense: evil")
    assert model.model_size_bytes == ranker.resolve("ranker@1.1.0").size
    assert len(model.model_uuid) == 32 and model.utc_time_created.startswith("20")


def test_mlmodel_column_signature_and_none(keep: Keep, tmp_path: Path) -> None:
    columns = metadata(technical={"signature": {"inputs": [{"name": "text", "dtype": "string"}],
                                                "outputs": [{"name": "score", "dtype": "float64"}]}})
    keep.register("ranker", model_folder(tmp_path / "a", b"1"), metadata=columns)
    model = mlmodel(keep, "ranker@1.0.0", tmp_path / "m1")
    assert [(c.name, c.type.name) for c in model.signature.inputs.inputs] == [("text", "string")]
    assert model.signature.outputs.inputs[0].type.name == "double"
    odd = metadata(technical={"signature": {"inputs": [{"name": "img", "dtype": "jpeg"}]}})
    keep.register("ranker", model_folder(tmp_path / "b", b"2"), metadata=odd, version="2.0.0")
    model = mlmodel(keep, "ranker@2.0.0", tmp_path / "m2")
    assert model.signature is None and "'img' (jpeg)" in model.metadata["signature_omitted"]


# -- Hugging Face ------------------------------------------------------------------------------

def test_hf_card_export_is_the_card_docs_writes(ranker: Keep, tmp_path: Path) -> None:
    path = tmp_path / "README.md"
    path.write_bytes(ranker.export_as("ranker@1.1.0", "hf-card"))
    card = ModelCard.load(path)
    assert {(r.dataset_name, r.metric_type, r.metric_value) for r in card.data.eval_results} == {
        ("holdout", "accuracy", 0.93), ("holdout", "loss", 0.2), ("holdout", "f1", 0.8)}
    assert path.read_text() == ranker.docs("ranker@1.1.0").card
    # export only reads: nothing was stored by it (docs, just above, stored one)
    assert [r["kind"] for r in ranker.show("ranker@1.1.0")["records"]].count("model_card") == 1


# -- CycloneDX ---------------------------------------------------------------------------------

def test_cyclonedx_ml_bom_passes_the_strict_1_6_schema(ranker: Keep) -> None:
    text = ranker.export_as("ranker@1.1.0", "cyclonedx").decode()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    bom = json.loads(text)
    model = bom["metadata"]["component"]
    assert model["type"] == "machine-learning-model" and model["version"] == "1.1.0"
    assert model["licenses"] == [{"license": {"name": "apache-2.0"}}]
    assert bom["metadata"]["tools"]["components"][0]["version"] not in ("", "unknown")
    datasets = {c["name"]: c for c in bom["components"] if c["type"] == "data"}
    assert datasets["clicks"]["version"] == "a" * 64
    assert [d["ref"] for d in model["modelCard"]["modelParameters"]["datasets"]] == [
        datasets["clicks"]["bom-ref"], datasets["holdout"]["bom-ref"]]
    libraries = {c["name"]: c for c in bom["components"] if c["type"] == "library"}
    assert libraries["scikit-learn"]["purl"] == "pkg:pypi/scikit-learn@1.5.2"
    assert "version" not in libraries["scipy"] and libraries["scipy"]["purl"] == "pkg:pypi/scipy"
    (graph,) = [d for d in bom["dependencies"] if d["ref"] == model["bom-ref"]]
    assert len(graph["dependsOn"]) == 2 + 3
    analysis = model["modelCard"]["quantitativeAnalysis"]
    metrics = {m["type"]: m["value"] for m in analysis["performanceMetrics"]}
    assert metrics == {"accuracy": "0.93", "loss": "0.2"}


def test_the_validator_does_catch_a_broken_bom(ranker: Keep) -> None:
    """The check above can fail: the same validator refuses a BOM with a wrong component type."""
    bom = json.loads(ranker.export_as("ranker@1.1.0", "cyclonedx"))
    bom["metadata"]["component"]["type"] = "ml-model"
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(bom)) is not None


def test_a_version_with_no_datasets_metrics_or_dependencies_is_a_valid_bom(keep: Keep,
                                                                          tmp_path: Path) -> None:
    keep.register("bare", model_folder(tmp_path / "m", b"w"))
    text = keep.export_as("bare@1.0.0", "cyclonedx").decode()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None


def test_odd_datasets_and_requirements_still_make_a_valid_bom(keep: Keep, tmp_path: Path) -> None:
    odd = metadata(components={"datasets": [{"name": "d\n---\n<x>", "role": "train"}] * 2},
                   technical={"dependencies": ["Weird_Name.pkg[extra]>=1; python_version<'3.12'",
                                               "!!not a requirement", "weird-name-pkg"]},
                   deployment={"dependencies_lock": ["Weird-Name-Pkg==1.0", "garbage line"]})
    keep.register("ranker", model_folder(tmp_path / "m", b"w"), metadata=odd)
    text = keep.export_as("ranker@1.0.0", "cyclonedx").decode()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    bom = json.loads(text)
    refs = [c["bom-ref"] for c in bom["components"]]
    assert len(refs) == len(set(refs)) == 2  # one dataset, one library: duplicates merged
    (library,) = [c for c in bom["components"] if c["type"] == "library"]
    assert library["purl"] == "pkg:pypi/weird-name-pkg@1.0"


# -- OpenLineage -------------------------------------------------------------------------------

def _dataset(cls: Any, data: dict[str, Any]) -> Any:
    version = data["facets"]["version"]
    facets = {"version": DatasetVersionDatasetFacet(datasetVersion=version["datasetVersion"],
                                                    producer=version["_producer"])}
    return cls(namespace=data["namespace"], name=data["name"], facets=facets)


def parse_event(data: dict[str, Any]) -> RunEvent:
    """The event as openlineage-python's own classes, whose validators check ids and times."""
    return RunEvent(eventType=RunState(data["eventType"]), eventTime=data["eventTime"],
                    producer=data["producer"], run=Run(runId=data["run"]["runId"]),
                    job=Job(namespace=data["job"]["namespace"], name=data["job"]["name"]),
                    inputs=[_dataset(InputDataset, d) for d in data["inputs"]],
                    outputs=[_dataset(OutputDataset, d) for d in data["outputs"]])


def test_openlineage_events_parse_with_the_client_classes(ranker: Keep) -> None:
    lines = ranker.export_as("ranker@1.1.0", "openlineage").decode().splitlines()
    events = [json.loads(line) for line in lines]
    parsed = [parse_event(e) for e in events]
    assert [e.eventType for e in parsed] == [RunState.START, RunState.COMPLETE]
    for raw, event in zip(events, parsed, strict=True):
        # the client writes the event back exactly as exported: same schema URLs, same facets
        assert Serde.to_dict(event) == raw
    start = parsed[0]
    assert [d.name for d in start.inputs] == ["datasets/clicks", "datasets/holdout"]
    assert start.inputs[0].facets["version"].datasetVersion == "a" * 64
    assert start.outputs[0].name == "models/ranker"
    assert start.outputs[0].facets["version"].datasetVersion == "1.1.0"
    assert parsed[0].run.runId == parsed[1].run.runId


def test_openlineage_uses_the_versions_run(keep: Keep, tmp_path: Path) -> None:
    with keep.start_run(model="ranker") as run:
        run.log_metric("loss", 0.5)
    keep.register("ranker", model_folder(tmp_path / "m", b"w"), run_id=run.id)
    events = [json.loads(x) for x in keep.export_as("ranker@1.0.0", "openlineage").splitlines()]
    assert {e["run"]["runId"] for e in events} == {run.id}
    assert events[0]["eventTime"] <= events[1]["eventTime"]
    parse_event(events[0])


# -- bad input and the command -----------------------------------------------------------------

@pytest.mark.parametrize("fmt,near", [("mlmodl", "mlmodel"), ("hf_card", "hf-card"),
                                      ("cyclone-dx", "cyclonedx"), ("openlinage", "openlineage")])
def test_an_unknown_format_says_did_you_mean(ranker: Keep, fmt: str, near: str) -> None:
    with pytest.raises(UnknownFormatError, match=f"did you mean '{near}'"):
        ranker.export_as("ranker@1.1.0", fmt)
    with pytest.raises(UnknownFormatError) as caught:  # said before the unknown version is
        ranker.export_as("ranker@9.9.9", fmt)
    assert caught.value.code == "unknown_format"


def test_exports_are_deterministic(ranker: Keep) -> None:
    for fmt in ("mlmodel", "hf-card", "cyclonedx", "openlineage"):
        assert ranker.export_as("ranker@1.1.0", fmt) == ranker.export_as("ranker@1.1.0", fmt)


def test_export_as_through_the_command(cli_project: Path) -> None:
    result = cli_run("export", "ranker@1.1.0", "--as", "cyclonedx", "--out", "bom.json")
    assert "Wrote bom.json (cyclonedx" in result.stderr
    validator = JsonStrictValidator(SchemaVersion.V1_6)
    assert validator.validate_str((cli_project / "bom.json").read_text()) is None
    refused = cli_run("export", "ranker@1.1.0", "--as", "mlmodel", "--out", "bom.json", code=4)
    one_line_error(refused, "bom.json exists already")
    assert json.loads((cli_project / "bom.json").read_text())["bomFormat"] == "CycloneDX"
    cli_run("export", "ranker@1.1.0", "--as", "mlmodel", "--out", "bom.json", "--force")
    assert (cli_project / "bom.json").read_text().startswith("flavors:")
    stdout = cli_run("export", "ranker@1.1.0", "--as", "openlineage").stdout
    assert [json.loads(x)["eventType"] for x in stdout.splitlines()] == ["START", "COMPLETE"]
    # the metadata formats work as before
    assert json.loads(cli_run("export", "ranker@1.1.0").stdout)["identity"]["version"] == "1.1.0"
    cli_run("export", "ranker@1.1.0", "--format", "yaml", "-o", "m.yaml")


def test_export_to_a_folder_or_a_new_folder(ranker: Keep, tmp_path: Path) -> None:
    with pytest.raises(UnsafePathError, match="is a folder"):
        ranker.export_as("ranker@1.1.0", "mlmodel", tmp_path, force=True)
    data = ranker.export_as("ranker@1.1.0", "mlmodel", tmp_path / "new" / "MLmodel")
    assert mlflow.models.Model.load(str(tmp_path / "new")).flavors["modelkeep"]["version"] == "1.1.0"
    assert (tmp_path / "new" / "MLmodel").read_bytes() == data
    with pytest.raises(OutputExistsError):
        ranker.export_as("ranker@1.1.0", "hf-card", tmp_path / "new" / "MLmodel")
    assert (tmp_path / "new" / "MLmodel").read_bytes() == data


def test_export_bad_input_is_one_line(cli_project: Path) -> None:
    wrong = cli_run("export", "ranker@1.1.0", "--as", "mlflow", code=2)
    one_line_error(wrong, "unknown export format 'mlflow'")
    own = cli_run("export", "ranker@1.1.0", "--as", "yaml", code=2)
    assert "--format yaml" in own.stderr
    both = cli_run("export", "ranker@1.1.0", "--as", "mlmodel", "--format", "json", code=2)
    assert "exclude each other" in both.output
    assert not any(cli_project.glob("*.json"))
