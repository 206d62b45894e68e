"""OpenLineage run events for a version: its datasets went into a run that made the version.

Two ``RunEvent`` objects, one JSON object a line (what OpenLineage's file transport writes):
START at the run's start and COMPLETE at its end (the version's creation time when this keep
does not know the run), each with the same inputs and outputs:

- job: namespace ``modelkeep``, name ``NAME.train``;
- run: the version's run id when it has one (a UUID), else a UUID derived from the version;
- inputs: each dataset as ``datasets/NAME`` with a ``version`` facet holding its tree id;
- output: the model as ``models/NAME`` with a ``version`` facet holding the version number.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from modelkeep.registry.standards.facts import NAMESPACE, VersionFacts

NAMESPACE_NAME = "modelkeep"
PRODUCER = "https://github.com/modelkeep/modelkeep"
RUN_EVENT_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
VERSION_FACET_SCHEMA = ("https://openlineage.io/spec/facets/1-0-1/DatasetVersionDatasetFacet.json"
                        "#/$defs/DatasetVersionDatasetFacet")


def _dataset(name: str, version: str | None, side: str) -> dict[str, Any]:
    facets = {} if version is None else {"version": {
        "_producer": PRODUCER, "_schemaURL": VERSION_FACET_SCHEMA, "datasetVersion": version}}
    return {"namespace": NAMESPACE_NAME, "name": name, "facets": facets, f"{side}Facets": {}}


def run_id(facts: VersionFacts) -> str:
    """The run's UUID: the version's own run, or one derived from the version."""
    if facts.info.run_id:
        return facts.info.run_id
    return str(uuid.uuid5(NAMESPACE, f"run:{facts.info.ref}:{facts.info.tree_id}"))


def run_events(facts: VersionFacts) -> str:
    """START and COMPLETE events, one JSON object a line."""
    info = facts.info
    inputs = [_dataset(f"datasets/{d['name']}", d.get("tree"), "input")
              for d in facts.get("components", "datasets") or []]
    outputs = [_dataset(f"models/{info.name}", info.version, "output")]
    started = facts.run.started_at if facts.run else info.created_at
    ended = (facts.run.ended_at if facts.run else None) or info.created_at
    job = {"namespace": NAMESPACE_NAME, "name": f"{info.name}.train", "facets": {}}
    events = [{"eventType": kind, "eventTime": at, "producer": PRODUCER,
               "schemaURL": RUN_EVENT_SCHEMA, "run": {"runId": run_id(facts), "facets": {}},
               "job": job, "inputs": inputs, "outputs": outputs}
              for kind, at in (("START", started), ("COMPLETE", max(ended, started)))]
    return "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events)
