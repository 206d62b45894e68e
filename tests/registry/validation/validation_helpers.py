"""Helpers for validation tests."""

from __future__ import annotations

from modelkeep.schema.metadata import ModelMetadata


def metadata(inputs: list[str], outputs: list[str] = ("label",), **extra) -> ModelMetadata:
    """Metadata with a signature of float32 inputs and int64 outputs, plus ``extra`` fields."""
    data = {"name": "m", "version": "0.0.0", "description": "a test model",
            "technical": {"framework": {"name": "scikit-learn", "version": "1.5"},
                          "signature": {
                              "inputs": [{"name": n, "dtype": "float32", "shape": [-1]}
                                         for n in inputs],
                              "outputs": [{"name": n, "dtype": "int64"} for n in outputs]}},
            **extra}
    return ModelMetadata.model_validate(data)


# declared, so registering runs nothing (inference would call the loader in this process)
SIGNATURE = {"inputs": [{"name": "x", "dtype": "float64", "shape": [-1]}],
             "outputs": [{"name": "y", "dtype": "float64", "shape": [-1]}]}


def python_version(keep, folder, body: str, *, example: object = None, **register) -> str:
    """Register ``body`` as ``predict.py`` with a python entry point ``predict:run`` (and an
    example input file when ``example`` is given); returns the version's ref."""
    import json
    import textwrap

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "predict.py").write_text(textwrap.dedent(body))
    spec: dict = {"kind": "python", "entry_point": "predict:run"}
    if example is not None:
        (folder / "example.json").write_text(json.dumps(example))
        spec["example_input"] = "example.json"
    meta = ModelMetadata.model_validate({"name": "m", "version": "0.0.0",
                                         "description": "a python model",
                                         "technical": {"loader": spec, "signature": SIGNATURE}})
    return keep.register("m", folder, metadata=meta, **register).ref


DOUBLE = '''
def run(inputs):
    return {"y": [2 * v for v in inputs["x"]]}
'''
