"""The model card: Markdown with YAML front matter in the Hugging Face model-card style.

The front matter is what the Hub and ``huggingface_hub.ModelCard`` read: ``tags``, ``datasets``,
``metrics``, ``library_name``, ``license`` and ``pipeline_tag`` (from ``license:ID`` and
``task:TYPE`` tags) and a ``model-index``
of results: one per dataset with per-dataset metrics, and the headline metrics (registered and
appended since) on the version's test dataset (else its validation dataset, else "unspecified").
Non-finite metrics (a NaN loss) stay in the body's table; the model-index holds numbers only.
A version with no metrics has no model-index, and is still a valid card. Every string from
metadata goes through ``text`` (quoted YAML, escaped Markdown): no description can end the
front matter or inject Markdown.
"""

from __future__ import annotations

import math
from typing import Any

from modelkeep.registry.standards.facts import LICENSE_TAG, TASK_TAG, VersionFacts
from modelkeep.registry.standards.text import (
    format_value,
    md_block,
    md_inline,
    md_table,
    size_text,
    yaml_document,
)

UNSPECIFIED = "unspecified"


def card_metadata(facts: VersionFacts) -> dict[str, Any]:
    """The front matter, as data (the order is the order written)."""
    tags = [t for t in facts.get("identity", "tags") or [] if not t.startswith((TASK_TAG, LICENSE_TAG))]
    task = facts.tagged(TASK_TAG)
    data: dict[str, Any] = {}
    if facts.tagged(LICENSE_TAG):
        data["license"] = facts.tagged(LICENSE_TAG)
    if facts.get("technical", "framework", "name"):
        data["library_name"] = facts.get("technical", "framework", "name")
    data["tags"] = ["modelkeep", *tags]
    datasets = [d["name"] for d in facts.get("components", "datasets") or []]
    if datasets:
        data["datasets"] = datasets
    results = _results(facts, task)
    names = {m["type"] for r in results for m in r["metrics"]} | set(facts.metrics)
    if names:
        data["metrics"] = sorted(names)
    if task:
        data["pipeline_tag"] = task
    if results:
        data["model-index"] = [{"name": facts.info.name, "results": results}]
    data["modelkeep"] = {"ref": facts.info.ref, "version": facts.info.version,
                         "created": facts.info.created_at, "tree": facts.info.tree_id}
    return data


def _results(facts: VersionFacts, task: str | None) -> list[dict[str, Any]]:
    datasets = facts.get("components", "datasets") or []
    by_name = {d["name"]: d for d in datasets}
    evaluation = next((d for role in ("test", "validation") for d in datasets if d["role"] == role), None)
    per_dataset = {name: {k: float(v) for k, v in metrics.items()}
                   for name, metrics in (facts.get("performance", "dataset_metrics") or {}).items()}
    # the headline metrics belong to the evaluation dataset, beside its own per-dataset ones
    key = evaluation["name"] if evaluation else UNSPECIFIED
    per_dataset[key] = {**facts.metrics, **per_dataset.get(key, {})}
    results = []
    for name in [key, *sorted(n for n in per_dataset if n != key)]:
        values = _metrics(per_dataset[name])
        if values:
            results.append(_result(task, evaluation if name == key else by_name.get(name)
                                   or {"name": name}, values))
    return results


def _metrics(values: dict[str, float]) -> list[dict[str, Any]]:
    return [{"type": k, "value": v, "name": k} for k, v in sorted(values.items()) if math.isfinite(v)]


def _result(task: str | None, dataset: dict[str, Any] | None, metrics: list[dict[str, Any]]
            ) -> dict[str, Any]:
    name = dataset["name"] if dataset else UNSPECIFIED
    described: dict[str, Any] = {"type": name, "name": name}
    if dataset and dataset.get("role"):
        described["split"] = dataset["role"]
    if dataset and dataset.get("tree"):
        described["revision"] = dataset["tree"]
    return {"task": {"type": task or "other"}, "dataset": described, "metrics": metrics}


def model_card(facts: VersionFacts) -> str:
    """The whole card: front matter, then sections for what the metadata holds."""
    ident = facts.get("identity") or {}
    parts = [f"---\n{yaml_document(card_metadata(facts))}---", f"# {md_inline(facts.info.ref)}"]
    if ident.get("description"):
        parts.append(md_block(ident["description"]))
    parts += [s for s in (_details(facts), _data(facts), _training(facts), _evaluation(facts),
                          _technical(facts), _deployment(facts), _validation(facts),
                          _notes(facts)) if s]
    parts.append(f"<sub>Written by modelkeep from the metadata of {md_inline(facts.info.ref)} "
                 f"(artifacts tree {facts.info.tree_id}).</sub>")
    return "\n\n".join(parts) + "\n"


def _section(title: str, *blocks: str) -> str:
    body = [b for b in blocks if b]
    return "\n\n".join([f"## {title}", *body]) if body else ""


def _details(f: VersionFacts) -> str:
    ident = f.get("identity") or {}
    framework = " ".join(x for x in (f.get("technical", "framework", "name"),
                                     f.get("technical", "framework", "version")) if x)
    code = f.get("components", "code") or {}
    rows = [["Version", f.info.version], ["Created", f.info.created_at],
            ["Author", ident.get("author") or f.info.author], ["Team", ident.get("team")],
            ["Project", ident.get("project")], ["Framework", framework or None],
            ["Artifacts", f"{f.info.files} files, {size_text(f.info.size)}, format "
                          f"{f.get('components', 'artifacts', 'format') or 'not stated'}"],
            ["Artifacts tree", f.info.tree_id], ["Code commit", code.get("commit")],
            ["Code repository", code.get("repository")], ["Run", f.info.run_id]]
    return _section("Model details", md_table(["Field", "Value"], [r for r in rows if r[1]]))


def _data(f: VersionFacts) -> str:
    datasets = f.get("components", "datasets") or []
    rows = [[d["name"], d["role"], d.get("tree"), d.get("source"),
             [s["name"] for s in d.get("preprocessing") or []],
             [s["name"] for s in d.get("augmentation") or []]] for d in datasets]
    return _section("Training data", md_table(
        ["Dataset", "Role", "Tree", "Source", "Preprocessing", "Augmentation"], rows) if rows else "")


def _training(f: VersionFacts) -> str:
    params = md_table(["Hyperparameter", "Value"], [[k, v] for k, v in sorted(f.params.items())]
                      ) if f.params else ""
    pipeline = f.get("components", "pipeline") or {}
    command = f"Command: {md_inline(' '.join(pipeline['command']))}" if pipeline.get("command") else ""
    return _section("Training procedure", params, command)


def _evaluation(f: VersionFacts) -> str:
    rows = [[k, v, "headline"] for k, v in sorted(f.metrics.items())]
    for dataset, metrics in sorted((f.get("performance", "dataset_metrics") or {}).items()):
        rows += [[k, float(v), dataset] for k, v in sorted(metrics.items())]
    return _section("Evaluation results",
                    md_table(["Metric", "Value", "Dataset"], rows) if rows else "No metrics recorded.",
                    _pairs("Latency", f.get("performance", "latency")),
                    _pairs("Resource", f.get("performance", "resources")))


def _pairs(title: str, mapping: dict[str, Any] | None, *, unset: tuple[Any, ...] = (None,)) -> str:
    """A two-column table of the values of ``mapping`` that are set ("" when none is)."""
    rows = [[k, v] for k, v in (mapping or {}).items() if not any(v is u for u in unset)]
    return md_table([title, "Value"], rows) if rows else ""


def _technical(f: VersionFacts) -> str:
    signature = f.get("technical", "signature") or {}
    rows = [[side[:-1], s["name"], s["dtype"], "unknown" if s.get("shape") is None else s["shape"]]
            for side in ("inputs", "outputs") for s in signature.get(side) or []]
    deps = f.get("technical", "dependencies") or []
    return _section("Technical specifications",
                    md_table(["Side", "Name", "Type", "Shape"], rows) if rows else "",
                    "\n".join(f"- {md_inline(d)}" for d in deps),
                    _pairs("Hardware", f.get("technical", "hardware"), unset=(None, False)))


def _deployment(f: VersionFacts) -> str:
    lock = f.get("deployment", "dependencies_lock") or []
    return _section("Deployment",
                    _pairs("Setting", f.get("deployment", "config")),
                    _pairs("Environment variable", f.get("deployment", "environment")),
                    ("Pinned dependencies: " + md_inline(lock)) if lock else "")


def validation_rows(f: VersionFacts) -> list[list[Any]]:
    """One row per validation record: date, policy, outcome, summary (read generically: the
    ``policy`` it names or else its key, a ``passed`` flag or ``status`` word, and ``checks``
    counted when present)."""
    rows = []
    for r in f.validations:
        value = r.value if isinstance(r.value, dict) else {}
        passed = value.get("passed")
        outcome = ("passed" if passed else "failed") if isinstance(passed, bool) else \
            str(value.get("status") or "recorded")
        checks = value.get("checks")
        summary = ""
        if isinstance(checks, list):
            failed = sum(1 for c in checks if isinstance(c, dict) and c.get("passed") is False)
            summary = f"{len(checks)} checks, {failed} failed"
        policy = value.get("policy") if isinstance(value.get("policy"), str) else r.key
        rows.append([r.created_at, policy, outcome, summary or format_value(None)])
    return rows


def _validation(f: VersionFacts) -> str:
    rows = validation_rows(f)
    return _section("Validation", md_table(["Date", "Policy", "Outcome", "Summary"], rows)) if rows else ""


def _notes(f: VersionFacts) -> str:
    return _section("Notes", "\n".join(f"- {r.created_at}: {md_inline(r.value)}" for r in f.notes))
