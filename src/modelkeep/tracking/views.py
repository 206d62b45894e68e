"""What reading runs and datasets returns: frozen result types, each with its JSON form.

``to_dict()`` is the one JSON form of each (``modelkeep runs ... --json``, a server, a
client); the nested payloads that are JSON by nature (params, the environment, the code
snapshot, a metric's summary row) stay plain JSON values.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from modelkeep.results import Result
from modelkeep.tracking.runs import RunInfo


@dataclass(frozen=True)
class RunSummary(Result):
    """A run as ``runs list`` shows it: its row, its params and its final metrics."""

    info: RunInfo
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: the run's fields, then ``params`` and ``metrics``."""
        return {**self.info.to_dict(), "params": self.params, "metrics": self.metrics}


@dataclass(frozen=True)
class RunView(Result):
    """Everything known about one run (``runs show``)."""

    info: RunInfo
    params: dict[str, Any]
    tags: dict[str, str]
    metrics: list[dict[str, Any]]  # per series: name, points, last_step, last_value
    datasets: list[dict[str, Any]]  # schema.components.DatasetComponent dicts
    artifacts: list[dict[str, Any]]  # name, tree_id, size, files, logged_at
    code: dict[str, Any] | None
    pipeline: dict[str, Any] | None
    command: list[str] | None
    frameworks: dict[str, str]
    output_tail: str | None
    versions: list[str]  # NAME@VERSION registered from this run
    environment: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        """JSON form: the run's fields, then everything recorded about it."""
        data = asdict(self)
        del data["info"]
        return {**self.info.to_dict(), **data}


@dataclass(frozen=True)
class RunComparison(Result):
    """Params and final metrics of several runs side by side, and the keys that differ."""

    runs: list[RunInfo]
    params: dict[str, list[Any]]  # key -> one value per run
    metrics: dict[str, list[Any]]
    changed_params: list[str]
    changed_metrics: list[str]

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``runs`` (id, name, model, status), ``params``, ``metrics``, ``changed``."""
        return {
            "runs": [{"id": i.id, "name": i.name, "model": i.model, "status": i.status}
                     for i in self.runs],
            "params": self.params, "metrics": self.metrics,
            "changed": {"params": self.changed_params, "metrics": self.changed_metrics},
        }


@dataclass(frozen=True)
class DatasetSummary(Result):
    """A dataset version (a stored tree) and how many runs used it."""

    id: int
    tree_id: str
    name: str
    size: int
    files: int
    created_at: str
    author: str
    runs: int = 0


@dataclass(frozen=True)
class DatasetRunUse(Result):
    """A run that used a dataset version, in which role and from where."""

    run: str
    model: str | None
    name: str
    status: str
    role: str
    source: str | None
    logged_at: str


@dataclass(frozen=True)
class DatasetVersionUse(Result):
    """A model version trained or evaluated on a dataset version."""

    ref: str
    created_at: str
    roles: list[str]
    run: str | None


@dataclass(frozen=True)
class DatasetView(Result):
    """A dataset version with the runs and model versions that used it (``datasets show``)."""

    id: int
    tree_id: str
    name: str
    size: int
    files: int
    created_at: str
    author: str
    runs: list[DatasetRunUse]
    versions: list[DatasetVersionUse]

