"""Registering a hosted version: its checked spec stored as the version's one artifact.

The spec is written in its canonical JSON form (``hosted.json``) to a private folder and
registered like any files, with the ``hosted`` loader declared in the metadata; the same spec
registered twice makes no new version, as for files.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from modelkeep.db.database import Database
from modelkeep.registry.hosted import SPEC_FILE, read_spec_file
from modelkeep.registry.versions import Bump, VersionInfo
from modelkeep.storage.objects import ObjectStore


def hosted_metadata(name: str, metadata: Any) -> Any:
    """``metadata`` (a ``ModelMetadata`` or None) declaring the ``hosted`` loader."""
    from modelkeep.schema.loading import LoaderSpec
    from modelkeep.schema.metadata import ModelMetadata

    if metadata is None:
        metadata = ModelMetadata.model_validate({"identity": {"name": name, "version": "0.0.0"}})
    metadata = metadata.model_copy(deep=True)
    technical = metadata.technical.model_copy()
    technical.loader = LoaderSpec(kind="hosted", file=SPEC_FILE)
    metadata.technical = technical
    return metadata


def register_hosted(db: Database, store: ObjectStore, name: str, spec_path: Path, *, author: str,
                    version: str | None = None, bump: Bump | None = None, metadata: Any = None,
                    allow_same: bool = False) -> VersionInfo:
    """Check the spec in ``spec_path`` and register it as a new version of ``name``."""
    from modelkeep.registry.registration import register_path

    spec = read_spec_file(spec_path)  # refused before anything is written
    folder = Path(tempfile.mkdtemp(prefix="modelkeep-hosted-"))
    try:
        (folder / SPEC_FILE).write_bytes(spec.to_json())
        return register_path(db, store, name, folder, author=author, version=version, bump=bump,
                             metadata=hosted_metadata(name, metadata), allow_same=allow_same)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
