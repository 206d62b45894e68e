"""A versioned model with rich, partly hostile metadata, shared by the document tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelkeep.keep import Keep
from modelkeep.schema.metadata import ModelMetadata

HOSTILE = ("Ranks search results.\n---\nlicense: evil\n---\n# Owned\n<script>alert(1)</script> "
           "| a | b |\n[click](javascript:alert(1)) \x1b[2J `code` *bold*")


def metadata(**changes: Any) -> ModelMetadata:
    """Metadata of model ``ranker`` with every section filled; ``changes`` override sections."""
    data: dict[str, Any] = {
        "name": "ranker", "version": "0.0.0", "description": HOSTILE, "team": "search",
        "tags": ["search", "task:text-classification", "license:apache-2.0", "ta\"g: ---"],
        "components": {"datasets": [
            {"name": "clicks", "role": "train", "tree": "a" * 64, "source": "s3://bucket/clicks",
             "preprocessing": [{"name": "normalize"}]},
            {"name": "holdout", "role": "test", "tree": "b" * 64}],
            "pipeline": {"command": ["python", "train.py", "--epochs", "3"]}},
        "technical": {"framework": {"name": "sklearn", "version": "1.5.2"},
                      "dependencies": ["scikit-learn>=1.5", "numpy"],
                      "signature": {"inputs": [{"name": "features", "dtype": "float32", "shape": [-1, 4]}],
                                    "outputs": [{"name": "label", "dtype": "int64", "shape": [-1]}]}},
        "performance": {"dataset_metrics": {"holdout": {"f1": 0.8}},
                        "latency": {"p95_ms": 3.5}},
        "deployment": {"config": {"replicas": 2, "batch": 0}, "environment": {"LOG_LEVEL": "info"},
                       "dependencies_lock": ["scikit-learn==1.5.2", "numpy==2.1.0"]},
    }
    data.update(changes)
    return ModelMetadata.model_validate(data)


def model_folder(root: Path, weights: bytes) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "model.bin").write_bytes(weights)
    (root / "config.json").write_text('{"layers": 2}')
    return root


def two_versions(keep: Keep, tmp_path: Path) -> None:
    """ranker@1.0.0 and ranker@1.1.0: new lr, env var, dependency, metric, weights."""
    keep.register("ranker", model_folder(tmp_path / "v1", b"w1"), metadata=metadata(),
                  params={"lr": 0.1}, metrics={"accuracy": 0.90, "loss": float("nan")})
    meta = metadata()
    meta.deployment.environment = {"LOG_LEVEL": "debug"}
    meta.technical.dependencies = ["scikit-learn>=1.5", "numpy", "scipy>=1.13"]
    keep.register("ranker", model_folder(tmp_path / "v2", b"w2"), metadata=meta, bump="minor",
                  params={"lr": 0.01}, metrics={"accuracy": 0.93, "loss": 0.2})
