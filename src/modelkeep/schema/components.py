"""The five components behind a model version: code, datasets, pipeline, hyperparameters, artifacts.

Bulky content (source snapshots, datasets, scripts, weights) is never inlined: each is a tree or
blob id in the object store (BLAKE3-256, 64 lowercase hex digits), so the metadata stays small
and every id can be checked out and verified.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from modelkeep.schema.types import (
    Count,
    Flag,
    GitCommit,
    MetadataModel,
    Name,
    ObjectId,
    ScalarMap,
    Text,
)

DatasetRole = Literal["train", "validation", "test"]


class CodeComponent(MetadataModel):
    """The architecture and training code: where it came from and an exact snapshot of it."""

    repository: Text | None = Field(None, description="Git remote URL the code was cloned from.")
    commit: GitCommit | None = Field(None, description="Git commit checked out (full hex).")
    branch: Text | None = Field(None, description="Git branch name, when on one.")
    dirty: Flag = Field(False, description="True when the working tree had uncommitted changes.")
    diff: ObjectId | None = Field(
        None, description="Blob id of the uncommitted diff against the commit (when dirty)."
    )
    snapshot: ObjectId | None = Field(
        None, description="Tree id of the source files exactly as they were used."
    )


class ProcessingStep(MetadataModel):
    """One preprocessing or augmentation step applied to a dataset, in order."""

    name: Name = Field(description="What the step does, e.g. 'normalize' or 'random_crop'.")
    params: ScalarMap = Field(default_factory=dict, description="The step's parameters.")


class DatasetComponent(MetadataModel):
    """A dataset version the model was trained, validated or tested on."""

    name: Name = Field(description="Dataset name; performance.dataset_metrics is keyed by it.")
    role: DatasetRole = Field(description="What the dataset was used for.")
    tree: ObjectId | None = Field(None, description="Tree id of the dataset version's files.")
    source: Text | None = Field(None, description="Where the data came from (URL or path).")
    preprocessing: list[ProcessingStep] = Field(
        default_factory=list, description="Steps applied to every example, in order."
    )
    augmentation: list[ProcessingStep] = Field(
        default_factory=list, description="Random augmentations applied in training, in order."
    )


class PipelineComponent(MetadataModel):
    """The scripts and configuration that produced the model, and how they were run."""

    tree: ObjectId | None = Field(None, description="Tree id of the scripts and config files.")
    scripts: list[Text] = Field(
        default_factory=list, description="Paths of the scripts within the tree."
    )
    config_files: list[Text] = Field(
        default_factory=list, description="Paths of the configuration files within the tree."
    )
    command: list[Text] = Field(
        default_factory=list, description="Entry command as an argument vector."
    )


class ArtifactsComponent(MetadataModel):
    """The files that are the model: weights, tokenizer, config."""

    tree: ObjectId | None = Field(None, description="Tree id of the artifact files.")
    format: Text | None = Field(
        None, description="Serialization format, e.g. 'safetensors', 'onnx', 'gguf'."
    )
    size_bytes: Count | None = Field(None, description="Total size of the artifact files.")


class Components(MetadataModel):
    """Everything needed to reproduce the model version."""

    code: CodeComponent = Field(default_factory=CodeComponent)
    datasets: list[DatasetComponent] = Field(default_factory=list)
    pipeline: PipelineComponent = Field(default_factory=PipelineComponent)
    hyperparameters: ScalarMap = Field(
        default_factory=dict, description="Training hyperparameters (JSON scalars)."
    )
    artifacts: ArtifactsComponent = Field(default_factory=ArtifactsComponent)
