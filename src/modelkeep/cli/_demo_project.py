"""The demo's small real project: a generated dataset and a logistic-regression model trained on it.

Pure Python on purpose (no numpy/torch), so ``pip install modelkeep && modelkeep demo`` works on
any machine. The weights are written as a real safetensors file.
"""

from __future__ import annotations

import json
import math
import random
import struct
from pathlib import Path

FEATURES = ["x1", "x2", "x3"]


def make_dataset(folder: Path, seed: int = 7, rows: int = 600) -> dict[str, Path]:
    """Write train/validation/test CSV splits of two noisy classes; returns role -> path."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for _ in range(rows):
        label = rng.random() < 0.5
        centre = 1.0 if label else -1.0
        x = [rng.gauss(centre, 1.2), rng.gauss(centre * 0.5, 1.0), rng.gauss(0.0, 1.0)]
        x[2] += 0.8 * x[0] * x[1]  # a feature that only helps once it is used
        lines.append(",".join(f"{v:.5f}" for v in x) + f",{int(label)}")
    cut_a, cut_b = int(rows * 0.7), int(rows * 0.85)
    splits = {"train": lines[:cut_a], "validation": lines[cut_a:cut_b], "test": lines[cut_b:]}
    paths = {}
    for role, body in splits.items():
        path = folder / f"{role}.csv"
        path.write_text(",".join(FEATURES) + ",label\n" + "\n".join(body) + "\n")
        paths[role] = path
    return paths


def _read(path: Path, n_features: int) -> list[tuple[list[float], int]]:
    rows = path.read_text().splitlines()[1:]
    out = []
    for row in rows:
        values = row.split(",")
        out.append(([float(v) for v in values[:n_features]], int(values[-1])))
    return out


def train(data: dict[str, Path], *, epochs: int, lr: float, n_features: int
          ) -> tuple[list[float], float, dict[str, float]]:
    """Gradient descent on the log loss; returns weights, bias and metrics."""
    rows = _read(data["train"], n_features)
    w, b = [0.0] * n_features, 0.0
    for _ in range(epochs):
        for x, y in rows:
            p = 1 / (1 + math.exp(-(sum(wi * xi for wi, xi in zip(w, x, strict=True)) + b)))
            g = p - y
            w = [wi - lr * g * xi for wi, xi in zip(w, x, strict=True)]
            b -= lr * g
    metrics = {}
    for role in ("validation", "test"):
        held = _read(data[role], n_features)
        correct, loss = 0, 0.0
        for x, y in held:
            p = 1 / (1 + math.exp(-(sum(wi * xi for wi, xi in zip(w, x, strict=True)) + b)))
            correct += int((p > 0.5) == bool(y))
            loss -= math.log(max(p if y else 1 - p, 1e-12))
        metrics[f"{role}_accuracy"] = round(correct / len(held), 4)
        metrics[f"{role}_loss"] = round(loss / len(held), 4)
    return w, b, metrics


def write_safetensors(path: Path, tensors: dict[str, list[float]]) -> None:
    """A real safetensors file of float32 vectors (header length, JSON header, raw data)."""
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    blobs, offset = [], 0
    for name, values in tensors.items():
        raw = struct.pack(f"<{len(values)}f", *values)
        header[name] = {"dtype": "F32", "shape": [len(values)], "data_offsets": [offset,
                                                                               offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + b"".join(blobs))


def save_model(folder: Path, weights: list[float], bias: float, *, epochs: int, lr: float
               ) -> Path:
    """Write the model folder: safetensors weights plus a config file."""
    folder.mkdir(parents=True, exist_ok=True)
    write_safetensors(folder / "model.safetensors", {"linear.weight": weights,
                                                     "linear.bias": [bias]})
    (folder / "config.json").write_text(json.dumps(
        {"architecture": "logistic-regression", "inputs": FEATURES[:len(weights)],
         "epochs": epochs, "learning_rate": lr}, indent=2) + "\n")
    return folder


def write_metadata(path: Path, n_features: int) -> Path:
    """A YAML metadata file with comments, as a user would keep next to the model."""
    inputs = "\n".join(f"      - {{name: {f}, dtype: float32, shape: [-1]}}"
                       for f in FEATURES[:n_features])
    path.write_text(
        "# metadata for the demo classifier (comments survive modelkeep's YAML round trips)\n"
        "identity:\n  name: demo-classifier\n  version: 0.0.0  # the registry assigns it\n"
        "  team: ml-platform\n  description: logistic regression on generated data\n"
        "  tags: [demo, tabular]\n"
        "technical:\n  framework: {name: pure-python, version: '1'}\n"
        f"  signature:\n    inputs:\n{inputs}\n"
        "    outputs:\n      - {name: probability, dtype: float32, shape: [-1]}\n"
    )
    return path
