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
