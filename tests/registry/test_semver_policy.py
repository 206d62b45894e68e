"""modelkeep enforces what MAJOR, MINOR and PATCH mean, from what changed since the predecessor."""

from __future__ import annotations

import pytest

from modelkeep.errors import InvalidVersionError
from modelkeep.schema.metadata import ModelMetadata


def _meta(inputs: list[str], outputs: list[str] = ("p",), datasets: str | None = None):
    data = {
        "name": "m", "version": "0.0.0",
        "technical": {"signature": {
            "inputs": [{"name": n, "dtype": "float32", "shape": [-1]} for n in inputs],
            "outputs": [{"name": n, "dtype": "float32", "shape": [-1]} for n in outputs]}},
    }
    if datasets:
        data["components"] = {"datasets": [{"name": "d", "role": "train", "tree": datasets}]}
    return ModelMetadata.model_validate(data)


@pytest.fixture
def base(keep, make_model, tmp_path):
    model = make_model(tmp_path / "m")
    keep.register("m", model, metadata=_meta(["a", "b"]))
    return keep, model


def test_breaking_signature_needs_major(base):
    keep, model = base
    with pytest.raises(InvalidVersionError, match="need a major bump") as info:
        keep.register("m", model, metadata=_meta(["a", "b", "c"]), bump="minor")
    assert "--bump major" in info.value.hint
    assert [v.version for v in keep.versions("m")] == ["1.0.0"]
    assert keep.register("m", model, metadata=_meta(["a", "b", "c"])).version == "2.0.0"


def test_new_output_needs_minor_and_auto_bump_picks_it(base):
    keep, model = base
    with pytest.raises(InvalidVersionError):
        keep.register("m", model, metadata=_meta(["a", "b"], ["p", "logits"]), version="1.0.1")
    assert keep.register("m", model, metadata=_meta(["a", "b"], ["p", "logits"])).version == "1.1.0"


def test_new_training_data_needs_minor(base):
    keep, model = base
    with pytest.raises(InvalidVersionError):
        keep.register("m", model, metadata=_meta(["a", "b"], datasets="ab" * 32), bump="patch")


def test_retrained_weights_are_a_patch(base):
    keep, model = base
    (model / "model.bin").write_bytes(b"retrained")
    assert keep.register("m", model, metadata=_meta(["a", "b"])).version == "1.0.1"


def test_a_larger_bump_than_needed_is_allowed(base):
    keep, model = base
    assert keep.register("m", model, metadata=_meta(["a", "b"]), bump="major",
                         allow_same=True).version == "2.0.0"


def test_backport_is_checked_against_its_own_predecessor(base):
    keep, model = base
    keep.register("m", model, metadata=_meta(["a", "b", "c"]), bump="major")  # 2.0.0
    (model / "model.bin").write_bytes(b"hotfix")
    assert keep.register("m", model, metadata=_meta(["a", "b"]), version="1.0.1").version == "1.0.1"


@pytest.mark.parametrize("taken, new", [("1.0.0", "1.0.0+b"), ("1.0.0+a", "1.0.0+b"),
                                        ("1.0.0+a", "1.0.0"), ("2.0.0-rc.1+x", "2.0.0-rc.1")])
def test_equal_precedence_with_any_existing_version_is_refused(keep, make_model, tmp_path,
                                                               taken, new):
    model = make_model(tmp_path / "eq")
    keep.register("eq", model, version=taken)
    (model / "model.bin").write_bytes(b"retrained")
    with pytest.raises(InvalidVersionError, match=f"same precedence as {taken.replace('+', '[+]')}"):
        keep.register("eq", model, version=new)
    assert [v.version for v in keep.versions("eq")] == [taken]


def test_build_metadata_after_a_higher_version_is_refused_too(base):
    keep, model = base  # 1.0.0
    (model / "model.bin").write_bytes(b"v2")
    keep.register("m", model, metadata=_meta(["a", "b"]), version="3.0.0")
    (model / "model.bin").write_bytes(b"v3")
    for build in ("3.0.0+b", "3.0.0+a"):  # above 1.0.0, but equal to 3.0.0 in precedence
        with pytest.raises(InvalidVersionError, match=r"same precedence as 3\.0\.0") as info:
            keep.register("m", model, metadata=_meta(["a", "b"]), version=build)
        assert "--bump patch" in (info.value.hint or "")
    assert [v.version for v in keep.versions("m")] == ["1.0.0", "3.0.0"]
