"""Standard formats out: a version as other tools read it.

``export_standard`` writes one version as

- ``mlmodel``: an MLflow ``MLmodel`` file (YAML) describing the version (``mlmodel.py``);
- ``hf-card``: a Hugging Face model card with model-index (``hfcard.py``, the card ``docs``
  stores);
- ``cyclonedx``: a CycloneDX 1.6 ML-BOM in JSON: the model, its datasets and dependencies
  (``cyclonedx.py``);
- ``openlineage``: OpenLineage run events, START and COMPLETE, one JSON object a line:
  datasets -> run -> version (``openlineage.py``).

Each writer is a pure function of ``VersionFacts`` and imports none of those tools: the tests
read every output back with the format's own reference library (docs/documents.md).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from modelkeep.db.database import Database
from modelkeep.errors import UnknownFormatError, did_you_mean
from modelkeep.registry.refs import parse_ref
from modelkeep.registry.standards.facts import VersionFacts, gather_facts
from modelkeep.registry.versions import resolve

# name -> (module:function, what it writes); modules load only when their format is asked for
FORMATS: dict[str, tuple[str, str]] = {
    "mlmodel": ("modelkeep.registry.standards.mlmodel:mlmodel", "MLflow MLmodel file (YAML)"),
    "hf-card": ("modelkeep.registry.standards.hfcard:model_card",
                "Hugging Face model card with model-index (Markdown)"),
    "cyclonedx": ("modelkeep.registry.standards.cyclonedx:ml_bom", "CycloneDX 1.6 ML-BOM (JSON)"),
    "openlineage": ("modelkeep.registry.standards.openlineage:run_events",
                    "OpenLineage START and COMPLETE run events (JSON lines)"),
}
METADATA_FORMATS = ("json", "yaml", "proto")  # modelkeep's own: ``export --format``


def check_format(fmt: str) -> Callable[[VersionFacts], str]:
    """The writer of format ``fmt``; UnknownFormatError (with "did you mean") otherwise."""
    if fmt not in FORMATS:
        near = did_you_mean(fmt, FORMATS)
        own = fmt in METADATA_FORMATS
        raise UnknownFormatError(
            f"unknown export format '{fmt}'" + (f"; {near}" if near else ""),
            hint=(f"modelkeep's own metadata formats go with --format: export REF --format {fmt}"
                  if own else f"--as takes one of: {', '.join(FORMATS)}"),
            format=fmt)
    module, function = FORMATS[fmt][0].split(":")
    writer: Callable[[VersionFacts], str] = getattr(importlib.import_module(module), function)
    return writer


def export_standard(db: Database, ref: str, fmt: str) -> bytes:
    """Version ``ref`` written in standard format ``fmt`` (UTF-8)."""
    writer = check_format(fmt)  # a wrong format is said before a wrong version
    return writer(gather_facts(db, resolve(db, parse_ref(ref)))).encode("utf-8")
