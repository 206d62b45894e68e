"""A new version starts from its predecessor's declared metadata; params and metrics do not carry."""

from __future__ import annotations

import pytest

from modelkeep.errors import InvalidVersionError
from modelkeep.schema.metadata import ModelMetadata


def _meta(**sections):
    return ModelMetadata.model_validate({"identity": {"name": "bert", "version": "0.0.0",
                                                      **sections.pop("identity", {})},
                                         **sections})


FULL = {
    "identity": {"description": "sentiment of reviews", "tags": ["nlp"], "team": "search"},
    "technical": {"framework": {"name": "pytorch", "version": "2.3.1"},
                  "signature": {"inputs": [{"name": "ids", "dtype": "int64", "shape": [-1]}],
                                "outputs": [{"name": "label", "dtype": "int64"},
                                            {"name": "probs", "dtype": "float32"}]}},
    "deployment": {"config": {"replicas": 2}},
}


def test_a_new_version_keeps_what_is_not_given_again(any_keep, make_model, tmp_path):
    model = make_model(tmp_path / "m")
    any_keep.register("bert", model, metadata=_meta(**FULL), params={"lr": 0.1},
                      metrics={"accuracy": 0.9})
    (model / "model.bin").write_bytes(b"retrained")
    second = any_keep.register("bert", model)  # no metadata: nothing declared vanishes
    assert second.version == "1.0.1"  # a retrain is a patch, not a "breaking" signature loss
    view = any_keep.show("bert@1.0.1")
    meta = view["metadata"]
    assert meta["identity"]["description"] == "sentiment of reviews"
    assert meta["identity"]["tags"] == ["nlp"]
    assert [o["name"] for o in meta["technical"]["signature"]["outputs"]] == ["label", "probs"]
    assert meta["technical"]["framework"]["name"] == "pytorch"
    assert meta["deployment"]["config"] == {"replicas": 2}
    assert view["params"] == {} and view["metrics"] == {}  # per version, never inherited
    assert view["inherited"]["from"] == "1.0.0"
    assert {"identity.description", "technical.signature", "technical.framework",
            "deployment.config"} <= set(view["inherited"]["fields"])
    assert any_keep.show("bert@1.0.0")["inherited"] is None


def test_what_is_given_again_replaces_only_itself(keep, make_model, tmp_path):
    model = make_model(tmp_path / "m")
    keep.register("bert", model, metadata=_meta(**FULL))
    (model / "model.bin").write_bytes(b"retrained")
    keep.register("bert", model, metadata=_meta(identity={"description": "v2", "tags": []}))
    view = keep.show("bert@latest")
    assert view["metadata"]["identity"]["description"] == "v2"
    assert view["metadata"]["identity"]["tags"] == []  # given (empty) is given
    assert "identity.description" not in view["inherited"]["fields"]
    assert "technical.signature" in view["inherited"]["fields"]


def test_the_bump_refusal_names_the_change(keep, make_model, tmp_path):
    model = make_model(tmp_path / "m")
    keep.register("bert", model, metadata=_meta(**FULL))
    fewer = {**FULL, "technical": {**FULL["technical"], "signature": {
        "inputs": FULL["technical"]["signature"]["inputs"],
        "outputs": [{"name": "label", "dtype": "int64"}]}}}
    (model / "model.bin").write_bytes(b"retrained")
    with pytest.raises(InvalidVersionError, match="output 'probs' removed") as caught:
        keep.register("bert", model, metadata=_meta(**fewer), bump="minor")
    assert "need a major bump" in caught.value.message
    wider = {**FULL, "technical": {**FULL["technical"], "signature": {
        "inputs": [{"name": "ids", "dtype": "int32", "shape": [-1]}],
        "outputs": FULL["technical"]["signature"]["outputs"]}}}
    with pytest.raises(InvalidVersionError, match="input 'ids' changed"):
        keep.register("bert", model, metadata=_meta(**wider), bump="patch")
    assert [v.version for v in keep.versions("bert")] == ["1.0.0"]
