"""The metadata schema: pydantic models, the single source of truth for a model version's metadata.

Read, write and convert metadata in JSON, YAML and Protocol Buffers; publish the JSON Schema.
Field meanings and format rules are in docs/metadata.md.
"""

from modelkeep.schema.components import (
    ArtifactsComponent,
    CodeComponent,
    Components,
    DatasetComponent,
    DatasetRole,
    PipelineComponent,
    ProcessingStep,
)
from modelkeep.schema.formats import (
    SUFFIXES,
    MetadataFormat,
    dump_metadata,
    format_for_path,
    json_schema,
    load_metadata,
    parse_metadata,
    save_metadata,
    update_yaml_file,
)
from modelkeep.schema.metadata import SCHEMA_VERSION, Identity, ModelMetadata
from modelkeep.schema.specs import (
    Deployment,
    Framework,
    Hardware,
    Latency,
    Performance,
    ResourceUse,
    RolloutRecord,
    Signature,
    Technical,
    TensorSpec,
)
from modelkeep.schema.types import Metric, Scalar

__all__ = [
    "SCHEMA_VERSION",
    "SUFFIXES",
    "ArtifactsComponent",
    "CodeComponent",
    "Components",
    "DatasetComponent",
    "DatasetRole",
    "Deployment",
    "Framework",
    "Hardware",
    "Identity",
    "Latency",
    "MetadataFormat",
    "Metric",
    "ModelMetadata",
    "Performance",
    "PipelineComponent",
    "ProcessingStep",
    "ResourceUse",
    "RolloutRecord",
    "Scalar",
    "Signature",
    "Technical",
    "TensorSpec",
    "dump_metadata",
    "format_for_path",
    "json_schema",
    "load_metadata",
    "parse_metadata",
    "save_metadata",
    "update_yaml_file",
]
