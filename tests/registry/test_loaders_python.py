"""The python loader: entry points from a version's own, verified files, and nothing else."""

from __future__ import annotations

import json
import os
import sys

import pytest
from loader_models import python_model, write_example

from modelkeep.errors import (
    CorruptObjectError,
    EntryPointError,
    InvalidInputError,
    LoaderFailedError,
    LoaderMissingError,
    SignatureUnknownError,
)
from modelkeep.schema import ModelMetadata
from modelkeep.schema.loading import with_loader

SIGNATURE = {"inputs": [{"name": "x", "dtype": "float64", "shape": [-1]}],
             "outputs": [{"name": "doubled", "dtype": "float64", "shape": [-1]}]}


def _meta(name: str, loader: str, **technical) -> ModelMetadata:
    meta = ModelMetadata.model_validate({"name": name, "version": "1.0.0", "technical": {
        "signature": SIGNATURE, **technical}})
    return with_loader(meta, name, loader, None)


def test_a_function_entry_point_answers_predict(keep, tmp_path):
    folder = python_model(tmp_path / "fn")
    keep.register("fn", folder, metadata=_meta("fn", "python:predict:run"))
    with keep.load("fn") as loaded:
        assert loaded.predict({"x": [1, 2.5]}) == {"doubled": [2, 5.0]}


def test_a_class_is_built_with_its_artifacts_folder(keep, tmp_path):
    folder = python_model(tmp_path / "cls")
    write_example(folder, [1, 2])
    keep.register("cls", folder, metadata=with_loader(None, "cls", "python:predict:Model",
                                                       "example.json"))
    with keep.load("cls@1.0.0") as loaded:
        assert loaded.predict([1, 2]) == [3.0, 6.0]  # scale.txt, read from the checkout
    signature = keep.show("cls@1.0.0")["metadata"]["technical"]["signature"]
    assert signature["source"] == "inferred" and signature["inferred_from"] == "example input"
    assert signature["inputs"] == [{"name": "input", "dtype": "int64", "shape": [-1]}]
    assert signature["outputs"] == [{"name": "output", "dtype": "float64", "shape": [-1]}]


def test_code_is_imported_from_the_code_snapshot(keep, tmp_path):
    code = python_model(tmp_path / "code", module="serve")
    from modelkeep.storage.tree import add_path

    tree = add_path(keep.store, code).tree_id  # the code snapshot is a tree in the store
    weights = tmp_path / "weights"
    weights.mkdir()
    (weights / "w.bin").write_bytes(b"w")
    meta = ModelMetadata.model_validate({"name": "snap", "version": "1.0.0",
                                         "components": {"code": {"snapshot": tree}},
                                         "technical": {"signature": SIGNATURE}})
    keep.register("snap", weights, metadata=with_loader(meta, "snap", "python:serve:run", None))
    with keep.load("snap") as loaded:
        assert loaded.predict({"x": [4]}) == {"doubled": [8]}


def test_files_are_checked_out_privately_never_into_the_working_folder(keep, tmp_path,
                                                                       monkeypatch):
    folder = python_model(tmp_path / "fn")
    keep.register("fn", folder, metadata=_meta("fn", "python:predict:run"))
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    loaded = keep.load("fn")
    checkout = loaded.folder
    assert not checkout.is_relative_to(work) and os.listdir(work) == []
    assert checkout.stat().st_mode & 0o077 == 0  # only this user may read it
    assert (checkout / "artifacts" / "predict.py").is_file()
    loaded.close()
    assert not checkout.exists()


def test_two_versions_with_the_same_module_name_answer_for_themselves(keep, tmp_path):
    for n, factor in ((1, 2), (2, 10)):
        folder = python_model(tmp_path / f"v{n}", body=f"""
            def run(inputs):
                return {{"doubled": [{factor} * v for v in inputs["x"]]}}
            """)
        keep.register("same", folder, metadata=_meta("same", "python:predict:run"),
                      version=f"1.0.{n - 1}")
    first, second = keep.load("same@1.0.0"), keep.load("same@1.0.1")
    assert first.predict({"x": [1]}) == {"doubled": [2]}
    assert second.predict({"x": [1]}) == {"doubled": [10]}
    assert "predict" not in sys.modules
    first.close()
    second.close()


def test_a_module_named_like_the_standard_library_does_not_replace_it(keep, tmp_path):
    folder = python_model(tmp_path / "shadow", module="json", body="""
        def run(inputs):
            return {"doubled": [0 for _ in inputs["x"]]}
        """)
    keep.register("shadow", folder, metadata=_meta("shadow", "python:json:run"))
    with keep.load("shadow") as loaded:
        assert loaded.predict({"x": [5]}) == {"doubled": [0]}
    assert sys.modules["json"] is json and json.dumps([1]) == "[1]"


@pytest.mark.parametrize("target, fragment", [
    ("os:system", "module 'os' is not in the version's code snapshot or artifacts"),
    ("missing:run", "module 'missing' is not in the version's"),
    ("predict:nothing", "module 'predict' has no 'nothing'"),
])
def test_entry_points_outside_the_version_or_missing_are_refused(keep, tmp_path, target,
                                                                 fragment):
    folder = python_model(tmp_path / "ep")
    keep.register("ep", folder, metadata=_meta("ep", f"python:{target}"))
    with pytest.raises(EntryPointError) as info:
        keep.load("ep")
    assert fragment in str(info.value)


def test_a_symlinked_module_runs_as_stored_never_from_where_the_link_pointed(keep, tmp_path):
    outside = tmp_path / "outside.py"
    outside.write_text("def run(inputs):\n    return {'doubled': [1]}\n")
    folder = python_model(tmp_path / "link")
    (folder / "escape.py").symlink_to(outside)
    keep.register("link", folder, metadata=_meta("link", "python:escape:run"))
    outside.write_text("def run(inputs):\n    return {'doubled': [666]}\n")
    with keep.load("link") as loaded:
        assert not (loaded.folder / "artifacts" / "escape.py").is_symlink()
        assert loaded.predict({"x": [1]}) == {"doubled": [1]}


@pytest.mark.parametrize("loader", ["python:../evil:run", "python:/etc/passwd:x", "python:a b:c",
                                    "python:predict", "torch:model.pt"])
def test_malformed_loader_options_are_refused_before_anything_is_stored(loader):
    with pytest.raises(InvalidInputError):
        with_loader(None, "m", loader, None)


def test_a_model_that_raises_is_one_line_with_type_and_message(keep, tmp_path):
    folder = python_model(tmp_path / "boom", body="""
        def run(inputs):
            raise ValueError("the weights are\\nall wrong")
        """)
    keep.register("boom", folder, metadata=_meta("boom", "python:predict:run"))
    with keep.load("boom") as loaded, pytest.raises(LoaderFailedError) as info:
        loaded.predict({"x": [1]})
    assert str(info.value) == "boom@1.0.0 raised: ValueError: the weights are"
    assert info.value.fields["exception"] == "ValueError"


def test_a_module_that_fails_to_import_is_one_line(keep, tmp_path):
    folder = python_model(tmp_path / "syntax", body="def run(inputs) return 1\n")
    keep.register("syntax", folder, metadata=_meta("syntax", "python:predict:run"))
    with pytest.raises(LoaderFailedError, match="importing 'predict' failed: SyntaxError"):
        keep.load("syntax")


def test_a_version_without_a_loader_says_how_to_declare_one(keep, tmp_path, make_model):
    keep.register("plain", make_model(tmp_path / "plain"))
    with pytest.raises(LoaderMissingError, match="declares no loader") as info:
        keep.load("plain")
    assert "--loader" in info.value.hint


def test_a_signature_that_cannot_be_inferred_asks_for_a_declared_one(keep, tmp_path):
    folder = python_model(tmp_path / "nosig")
    with pytest.raises(SignatureUnknownError) as info:
        keep.register("nosig", folder, metadata=with_loader(None, "nosig", "python:predict:run",
                                                             None))
    assert "cannot infer the signature" in str(info.value)
    assert "declare technical.signature" in str(info.value)
    assert keep.models() == []


def test_code_from_tampered_bytes_never_runs(keep, tmp_path):
    marker = tmp_path / "RAN"
    folder = python_model(tmp_path / "tamper", body=f"""
        import pathlib
        pathlib.Path({str(marker)!r}).touch()

        def run(inputs):
            return inputs
        """)
    keep.register("tamper", folder, metadata=_meta("tamper", "python:predict:run"))
    assert not marker.exists()  # the signature is declared: registering ran nothing
    from modelkeep.storage.hashing import hash_bytes

    source = (folder / "predict.py").read_bytes()
    stored = keep.store.object_path(hash_bytes(source))
    os.chmod(stored, 0o644)
    stored.write_bytes(source.replace(b"return inputs", b"return 'evil'"))
    with pytest.raises(CorruptObjectError):
        keep.load("tamper")
    assert not marker.exists()


def test_inputs_are_checked_against_the_declared_signature_before_the_code_runs(keep, tmp_path):
    folder = python_model(tmp_path / "chk")
    keep.register("chk", folder, metadata=_meta("chk", "python:predict:run"))
    from modelkeep.errors import InvalidModelInputError

    with keep.load("chk") as loaded:
        with pytest.raises(InvalidModelInputError, match="input 'x' is missing"):
            loaded.predict({"y": [1]})
        with pytest.raises(InvalidModelInputError, match="wants float64 values, got string"):
            loaded.predict({"x": ["1"]})
