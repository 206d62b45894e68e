"""How a model version is called (its loader) and what identifies its architecture.

A version names one loader ``kind``: ``python`` (an entry point from its code snapshot or
artifacts), ``onnx`` (ONNX Runtime), ``skops`` (scikit-learn), ``safetensors`` (weights handed
to a user loader function) or ``pickle`` (refused unless the keep trusts the model by name).
The command line writes the same spec as ``--loader KIND[:TARGET]``: TARGET is the entry point
for ``python`` and ``safetensors``, the artifact file for the others (docs/running.md).

Signatures and fingerprints say where they came from: ``declared`` (the user wrote them) or
``inferred`` (modelkeep read them from the files at register time); a declared one always wins.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import Field

from modelkeep.errors import InvalidInputError
from modelkeep.schema.entry_point import ENTRY_POINT
from modelkeep.schema.types import MetadataModel, Text

LoaderKind = Literal["python", "onnx", "skops", "safetensors", "pickle", "hosted"]
SpecSource = Literal["declared", "inferred"]

LOADER_KINDS: tuple[str, ...] = get_args(LoaderKind)
# kinds whose TARGET on the command line is an entry point rather than an artifact file
ENTRY_POINT_KINDS = ("python", "safetensors")


class LoaderSpec(MetadataModel):
    """How the version is loaded and called."""

    kind: LoaderKind | None = Field(
        None, description="Loader: python, onnx, skops, safetensors, pickle, hosted.")
    file: Text | None = Field(
        None, description="Artifact file the loader reads (path in the artifacts tree); default: "
        "the only file with the kind's suffix.")
    entry_point: Text | None = Field(
        None, description="'module:function' or 'module:Class' (python), or the user loader "
        "'module:function' that receives the tensors (safetensors).")
    example_input: Text | None = Field(
        None, description="JSON file in the artifacts holding one example input (.jsonl: one a line).")


class Fingerprint(MetadataModel):
    """An architecture fingerprint: retraining keeps it, a new layer changes it."""

    value: Text | None = Field(None, description="Hex digest of the architecture's structure.")
    source: SpecSource | None = Field(None, description="'declared' or 'inferred'.")
    inferred_from: Text | None = Field(
        None, description="What it was inferred from, e.g. 'safetensors header'.")


def parse_loader_option(text: str) -> LoaderSpec:
    """``--loader KIND[:TARGET]`` as a spec: ``python:pkg.mod:predict``, ``onnx:model.onnx``,
    ``safetensors:build:load``, ``skops``."""
    kind, _, target = text.partition(":")
    if kind not in LOADER_KINDS:
        raise InvalidInputError(
            f"unknown loader kind '{kind}' in --loader {text!r}",
            hint=f"use one of {', '.join(LOADER_KINDS)}, e.g. --loader onnx:model.onnx")
    if kind in ENTRY_POINT_KINDS:
        if not ENTRY_POINT.fullmatch(target):
            raise InvalidInputError(
                f"--loader {text!r}: a {kind} loader needs an entry point 'module:function'",
                hint=f"e.g. --loader {kind}:predict:{'load' if kind == 'safetensors' else 'run'}")
        return LoaderSpec(kind=kind, entry_point=target)  # type: ignore[arg-type]
    return LoaderSpec(kind=kind, file=target or None)  # type: ignore[arg-type]


def with_loader(meta: Any, name: str, loader: str | None, example_input: str | None) -> Any:
    """``meta`` (a ``ModelMetadata`` or None) with the command line's ``--loader`` and
    ``--example-input`` set over the file's (marked as given, so they are not inherited)."""
    if loader is None and example_input is None:
        return meta
    from modelkeep.schema.metadata import ModelMetadata

    if meta is None:
        meta = ModelMetadata.model_validate({"identity": {"name": name, "version": "0.0.0"}})
    meta = meta.model_copy(deep=True)
    spec = parse_loader_option(loader) if loader else meta.technical.loader.model_copy()
    if example_input is not None:
        spec.example_input = example_input
    technical = meta.technical.model_copy()
    technical.loader = spec
    meta.technical = technical
    return meta
