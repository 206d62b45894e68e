"""What running a model version takes and gives: technical specs, performance, deployment.

Units are in the field names: ``_bytes``, ``_ms``, ``_percent``, ``_per_second``. Measured
floats are ``Metric`` values, so NaN and infinity are allowed (a diverged loss is a fact worth
keeping); configuration values are ``Scalar`` values.
"""

from __future__ import annotations

from pydantic import Field

from modelkeep.schema.loading import Fingerprint, LoaderSpec, SpecSource
from modelkeep.schema.types import (
    Count,
    Dimension,
    Flag,
    MetadataModel,
    Metric,
    MetricMap,
    MetricTable,
    Name,
    ScalarMap,
    Text,
    TextMap,
    Timestamp,
)


class Framework(MetadataModel):
    """The ML framework the model runs on."""

    name: Text | None = Field(None, description="Framework name, e.g. 'pytorch', 'onnxruntime'.")
    version: Text | None = Field(None, description="Framework version, e.g. '2.3.1'.")


class Hardware(MetadataModel):
    """The least hardware the model needs to serve."""

    min_ram_bytes: Count | None = Field(None, description="Minimum host memory.")
    gpu_required: Flag = Field(False, description="True when the model cannot run on CPU.")
    gpu_count: Count | None = Field(None, description="Number of GPUs needed.")
    gpu_memory_bytes: Count | None = Field(None, description="Memory needed on each GPU.")
    gpu_type: Text | None = Field(None, description="GPU model or class, e.g. 'A100'.")


class TensorSpec(MetadataModel):
    """One named input or output of the model."""

    name: Name = Field(description="Input or output name.")
    dtype: Name = Field(description="Element type, e.g. 'float32', 'int64', 'string'.")
    shape: list[Dimension] | None = Field(
        None, description="Dimensions, -1 for a dynamic one; [] is a scalar, null an unknown rank."
    )


class Signature(MetadataModel):
    """The model's call signature."""

    inputs: list[TensorSpec] = Field(default_factory=list)
    outputs: list[TensorSpec] = Field(default_factory=list)
    source: SpecSource | None = Field(
        None, description="'declared' (written by the user) or 'inferred' (read from the files "
        "by modelkeep at register time); absent means declared.")
    inferred_from: Text | None = Field(
        None, description="What an inferred signature was read from, e.g. 'onnx graph'.")


class Technical(MetadataModel):
    """What the model needs to run."""

    framework: Framework = Field(default_factory=Framework)
    dependencies: list[Text] = Field(
        default_factory=list, description="Runtime requirements, PEP 508 strings."
    )
    hardware: Hardware = Field(default_factory=Hardware)
    signature: Signature = Field(default_factory=Signature)
    model_size_bytes: Count | None = Field(None, description="Size of the loaded weights.")
    parameters: Count | None = Field(None, description="Number of trainable parameters.")
    memory_bytes: Count | None = Field(None, description="Peak memory used while serving.")
    loader: LoaderSpec = Field(default_factory=LoaderSpec, description="How the version is called.")
    fingerprint: Fingerprint = Field(
        default_factory=Fingerprint, description="Architecture fingerprint (declared or inferred).")


class Latency(MetadataModel):
    """Measured inference latency."""

    p50_ms: Metric | None = None
    p95_ms: Metric | None = None
    p99_ms: Metric | None = None
    mean_ms: Metric | None = None
    batch_size: Count | None = Field(None, description="Batch size the latency was measured at.")


class ResourceUse(MetadataModel):
    """Measured resource use while serving."""

    cpu_percent: Metric | None = Field(None, description="CPU use, 100 = one core.")
    memory_bytes: Count | None = Field(None, description="Peak resident memory.")
    gpu_memory_bytes: Count | None = Field(None, description="Peak GPU memory.")
    throughput_per_second: Metric | None = Field(None, description="Predictions per second.")


class Performance(MetadataModel):
    """How well and how fast the model does."""

    metrics: MetricMap = Field(
        default_factory=dict, description="Headline metrics, e.g. accuracy, loss."
    )
    dataset_metrics: MetricTable = Field(
        default_factory=dict, description="Metrics per dataset name."
    )
    latency: Latency = Field(default_factory=Latency)
    resources: ResourceUse = Field(default_factory=ResourceUse)


class RolloutRecord(MetadataModel):
    """One step of the version's road to production, appended and never edited."""

    at: Timestamp = Field(description="When the step happened (UTC).")
    environment: Text | None = Field(None, description="Target, e.g. 'staging', 'production'.")
    strategy: Text | None = Field(
        None, description="How traffic moved: 'full', 'canary', 'ab', 'shadow', 'rollback'."
    )
    traffic_percent: Metric | None = Field(None, description="Share of traffic after the step.")
    status: Text | None = Field(None, description="Outcome, e.g. 'started', 'promoted'.")
    actor: Text | None = Field(None, description="Who or what made the step.")
    note: Text | None = Field(None, description="Free text.")


class Deployment(MetadataModel):
    """How the model version is deployed."""

    config: ScalarMap = Field(
        default_factory=dict, description="Serving configuration, e.g. replicas, batch size."
    )
    environment: TextMap = Field(
        default_factory=dict, description="Environment variables set for the server."
    )
    dependencies_lock: list[Text] = Field(
        default_factory=list, description="Pinned requirements, one 'name==version' each."
    )
    rollouts: list[RolloutRecord] = Field(default_factory=list, description="Oldest first.")
