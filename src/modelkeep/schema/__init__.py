"""The metadata schema: pydantic models, the single source of truth for a model version's metadata.

Read, write and convert metadata in JSON, YAML and Protocol Buffers; publish the JSON Schema.
Field meanings and format rules are in docs/metadata.md.

Names load lazily: checking a snapshot (``schema.validation``) needs the pydantic models
only, not the JSON, YAML and Protocol Buffers readers (whose imports cost ~0.1 s a process).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelkeep import _lazy

if TYPE_CHECKING:
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
    from modelkeep.schema.loading import Fingerprint, LoaderKind, LoaderSpec
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

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "ArtifactsComponent": "modelkeep.schema.components",
    "CodeComponent": "modelkeep.schema.components",
    "Components": "modelkeep.schema.components",
    "DatasetComponent": "modelkeep.schema.components",
    "DatasetRole": "modelkeep.schema.components",
    "Deployment": "modelkeep.schema.specs",
    "Fingerprint": "modelkeep.schema.loading",
    "Framework": "modelkeep.schema.specs",
    "Hardware": "modelkeep.schema.specs",
    "Identity": "modelkeep.schema.metadata",
    "Latency": "modelkeep.schema.specs",
    "MetadataFormat": "modelkeep.schema.formats",
    "LoaderKind": "modelkeep.schema.loading",
    "LoaderSpec": "modelkeep.schema.loading",
    "Metric": "modelkeep.schema.types",
    "ModelMetadata": "modelkeep.schema.metadata",
    "Performance": "modelkeep.schema.specs",
    "PipelineComponent": "modelkeep.schema.components",
    "ProcessingStep": "modelkeep.schema.components",
    "ResourceUse": "modelkeep.schema.specs",
    "RolloutRecord": "modelkeep.schema.specs",
    "SCHEMA_VERSION": "modelkeep.schema.metadata",
    "SUFFIXES": "modelkeep.schema.formats",
    "Scalar": "modelkeep.schema.types",
    "Signature": "modelkeep.schema.specs",
    "Technical": "modelkeep.schema.specs",
    "TensorSpec": "modelkeep.schema.specs",
    "dump_metadata": "modelkeep.schema.formats",
    "format_for_path": "modelkeep.schema.formats",
    "json_schema": "modelkeep.schema.formats",
    "load_metadata": "modelkeep.schema.formats",
    "parse_metadata": "modelkeep.schema.formats",
    "save_metadata": "modelkeep.schema.formats",
    "update_yaml_file": "modelkeep.schema.formats",
}

__all__ = [
    "SCHEMA_VERSION",
    "SUFFIXES",
    "ArtifactsComponent",
    "CodeComponent",
    "Components",
    "DatasetComponent",
    "DatasetRole",
    "Deployment",
    "Fingerprint",
    "Framework",
    "Hardware",
    "Identity",
    "Latency",
    "LoaderKind",
    "LoaderSpec",
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


def __getattr__(name: str) -> Any:
    return _lazy.load(globals(), _EXPORTS, name)


def __dir__() -> list[str]:
    return _lazy.names(globals(), __all__)
