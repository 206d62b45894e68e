"""``ModelMetadata``: the single source of truth for what is known about one model version.

Only ``identity.name`` and ``identity.version`` are required; every other field has a default
(None, an empty list or map, or an empty sub-model), so ``{name: x, version: 1.0.0}`` is a whole
metadata file. The identity fields may be written at the top level, as in that example (the
"flat shorthand"); they are read into ``identity`` and always written back under it.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from modelkeep.schema.components import Components
from modelkeep.schema.specs import Deployment, Performance, Technical
from modelkeep.schema.types import Count, MetadataModel, Name, Text, Timestamp

SCHEMA_VERSION = 1


class Identity(MetadataModel):
    """Who and what the model version is."""

    id: Text | None = Field(None, description="Identifier the registry assigned to the version.")
    name: Name = Field(description="Model name.")
    version: Name = Field(description="Version string; the registry enforces SemVer.")
    created: Timestamp | None = Field(None, description="When the version was made (UTC).")
    author: Text | None = Field(None, description="Who made the version.")
    team: Text | None = Field(None, description="Team that owns the model.")
    project: Text | None = Field(None, description="Project the model belongs to.")
    description: Text | None = Field(None, description="What the model is for, in prose.")
    tags: list[Name] = Field(default_factory=list, description="Free-form labels.")


IDENTITY_FIELDS = tuple(Identity.model_fields)


def _document_shorthand(schema: dict[str, Any]) -> None:
    """Let the published JSON Schema accept the flat shorthand exactly as the loader does:
    each identity field at the top level or under ``identity`` (never both), name and version
    in one place or the other."""
    identity = Identity.model_json_schema()
    for name in IDENTITY_FIELDS:
        schema["properties"][name] = identity["properties"][name]
    schema["properties"]["identity"] = {k: v for k, v in identity.items() if k != "required"}
    # the versions of this schema that this modelkeep reads (``_known_schema_version``)
    schema["properties"]["schema_version"].update(minimum=1, maximum=SCHEMA_VERSION)
    schema.pop("required", None)
    nested: Any = lambda field: {"required": ["identity"],  # noqa: E731
                                 "properties": {"identity": {"required": [field]}}}
    schema["allOf"] = [
        *({"anyOf": [{"required": [field]}, nested(field)]} for field in ("name", "version")),
        *({"not": {"allOf": [{"required": [field]}, nested(field)]}} for field in IDENTITY_FIELDS),
    ]


class ModelMetadata(MetadataModel):
    """All metadata of one model version: identity, components, technical, performance, deployment.

    Build one in Python, or read one with ``load_metadata``/``parse_metadata``; write it with
    ``dump_metadata``. Equal models dump to identical bytes in every format.
    """

    model_config = {"json_schema_extra": _document_shorthand, "title": "ModelMetadata"}

    schema_version: Count = Field(
        SCHEMA_VERSION, description="Version of this metadata schema the document follows."
    )
    identity: Identity
    components: Components = Field(default_factory=Components)
    technical: Technical = Field(default_factory=Technical)
    performance: Performance = Field(default_factory=Performance)
    deployment: Deployment = Field(default_factory=Deployment)

    @model_validator(mode="before")
    @classmethod
    def _lift_flat_identity(cls, data: Any) -> Any:
        """Move top-level identity fields (the flat shorthand) under ``identity``."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        nested = data.get("identity", {})
        if not isinstance(nested, dict):
            return data
        nested = dict(nested)
        for name in IDENTITY_FIELDS:
            if name not in data:
                continue
            if name in nested:
                raise PydanticCustomError(
                    "identity_conflict",
                    "'{field}' is given both at the top level and under 'identity'",
                    {"field": name},
                )
            nested[name] = data.pop(name)
        data["identity"] = nested
        return data

    @field_validator("schema_version")
    @classmethod
    def _known_schema_version(cls, value: int) -> int:
        """Refuse documents written by a newer modelkeep rather than misread them."""
        if value < 1:
            raise PydanticCustomError("schema_version", "must be 1 or more")
        if value > SCHEMA_VERSION:
            raise PydanticCustomError(
                "schema_version",
                "version {found} is newer than this modelkeep reads ({known}): upgrade modelkeep",
                {"found": value, "known": SCHEMA_VERSION},
            )
        return value
