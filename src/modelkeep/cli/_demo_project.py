"""The demo's training script: a logistic-regression classifier on a generated dataset.

``modelkeep demo`` copies this file into its project as ``train.py`` and runs it under
``modelkeep run exec``, so it is a real training script that uses the public tracking API.
Pure Python on purpose (no numpy/torch): ``pip install modelkeep && modelkeep demo`` works on
any machine. The weights are written as a real safetensors file. The script snapshots itself
as the version's code, so ``Classifier`` below is the version's ``python`` loader entry point
(``train:Classifier``): ``modelkeep predict`` and ``Keep.load`` call it.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import struct
from pathlib import Path

FEATURES = ["x1", "x2", "x3"]
NAME = "demo-classifier"
# the demo's validation gate (modelkeep validate --policy policy.yaml)
POLICY = """\
# what a version must show before it may become production (docs/validation.md)
required: [description, technical.loader]
metrics:
  - test_accuracy >= 0.83        # 2.0.0 fails here
  - val_loss <= 0.25
budgets:
  artifact_size_mb: 1
  latency_p95_ms: 200            # measured in a child process on the example input
measure: {runs: 20}
"""


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
        split = folder / role
        split.mkdir(exist_ok=True)
        (split / "data.csv").write_text(",".join(FEATURES) + ",label\n" + "\n".join(body) + "\n")
        paths[role] = split
    return paths


def read_rows(split: Path, n_features: int) -> list[tuple[list[float], int]]:
    """(features, label) rows of a split, standardised by a fixed scale (the preprocessing)."""
    out = []
    for row in (split / "data.csv").read_text().splitlines()[1:]:
        values = row.split(",")
        out.append(([float(v) / 2.0 for v in values[:n_features]], int(values[-1])))
    return out


def _predict(w: list[float], b: float, x: list[float]) -> float:
    z = sum(wi * xi for wi, xi in zip(w, x, strict=True)) + b
    return 1 / (1 + math.exp(-max(min(z, 50.0), -50.0)))


def train_epoch(rows: list[tuple[list[float], int]], w: list[float], b: float, lr: float
                ) -> tuple[list[float], float, float]:
    """One pass of gradient descent on the log loss; returns weights, bias, mean loss."""
    loss = 0.0
    for x, y in rows:
        p = _predict(w, b, x)
        loss -= math.log(max(p if y else 1 - p, 1e-12))
        w = [wi - lr * (p - y) * xi for wi, xi in zip(w, x, strict=True)]
        b -= lr * (p - y)
    return w, b, loss / len(rows)


def evaluate(rows: list[tuple[list[float], int]], w: list[float], b: float) -> dict[str, float]:
    """Accuracy and log loss on held-out rows."""
    correct, loss = 0, 0.0
    for x, y in rows:
        p = _predict(w, b, x)
        correct += int((p > 0.5) == bool(y))
        loss -= math.log(max(p if y else 1 - p, 1e-12))
    return {"accuracy": round(correct / len(rows), 4), "loss": round(loss / len(rows), 4)}


def write_safetensors(path: Path, tensors: dict[str, list[float]]) -> None:
    """A real safetensors file of float32 vectors (header length, JSON header, raw data)."""
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    blobs, offset = [], 0
    for name, values in tensors.items():
        raw = struct.pack(f"<{len(values)}f", *values)
        header[name] = {"dtype": "F32", "shape": [len(values)],
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + b"".join(blobs))


def read_safetensors(path: Path) -> dict[str, list[float]]:
    """The float32 vectors of a safetensors file as ``write_safetensors`` writes them."""
    raw = path.read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + size])
    body = raw[8 + size:]
    tensors = {}
    for name, spec in header.items():
        if name != "__metadata__":
            start, end = spec["data_offsets"]
            tensors[name] = list(struct.unpack(f"<{(end - start) // 4}f", body[start:end]))
    return tensors


class Classifier:
    """The version's loader entry point: built with its artifacts folder; ``predict`` takes
    ``{"x1": [...], "x2": [...]}`` (raw features, one value per row) and returns
    ``{"probability": [...]}``, preprocessed as in training."""

    def __init__(self, folder: Path) -> None:
        tensors = read_safetensors(Path(folder) / "model.safetensors")
        self.w, self.b = tensors["linear.weight"], tensors["linear.bias"][0]
        self.inputs = json.loads((Path(folder) / "config.json").read_text())["inputs"]

    def predict(self, inputs: dict[str, list[float]]) -> dict[str, list[float]]:
        """The probability of class 1 for each row."""
        rows = zip(*(inputs[name] for name in self.inputs), strict=True)
        return {"probability": [round(_predict(self.w, self.b, [v / 2.0 for v in row]), 6)
                                for row in rows]}


def example_input(n_features: int) -> dict[str, list[float]]:
    """Two rows of raw features: the version's example input and the demo's request."""
    return {name: [1.5 - i, -1.0 + 0.5 * i] for i, name in enumerate(FEATURES[:n_features])}


def write_metadata(path: Path, n_features: int) -> Path:
    """A YAML metadata file with comments, as a user would keep next to the model."""
    inputs = "\n".join(f"      - {{name: {f}, dtype: float32, shape: [-1]}}"
                       for f in FEATURES[:n_features])
    path.write_text(
        "# metadata for the demo classifier (comments survive modelkeep's YAML round trips)\n"
        f"identity:\n  name: {NAME}\n  version: 0.0.0  # the registry assigns it\n"
        "  team: ml-platform\n  description: logistic regression on generated data\n"
        "  tags: [demo, tabular]\n"
        "technical:\n  framework: {name: pure-python, version: '1'}\n"
        "  loader: {kind: python, entry_point: 'train:Classifier', example_input: example.json}\n"
        f"  signature:\n    inputs:\n{inputs}\n"
        "    outputs:\n      - {name: probability, dtype: float32, shape: [-1]}\n"
    )
    return path


def main() -> None:
    """Train, log everything to the run this process is attached to, register the model."""
    import modelkeep
    from modelkeep.schema import load_metadata

    parser = argparse.ArgumentParser(description="train the demo classifier")
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--features", type=int, default=2)
    parser.add_argument("--bump", choices=["major", "minor", "patch"], default=None)
    parser.add_argument("--out", type=Path, default=Path("model"))
    args = parser.parse_args()

    with modelkeep.start_run(model=NAME) as run:  # attaches to the run `run exec` started
        run.log_params({"epochs": args.epochs, "learning_rate": args.lr,
                        "features": args.features, "optimizer": "sgd"})
        splits = {role: args.data / role for role in ("train", "validation", "test")}
        for role, split in splits.items():
            run.log_dataset(split, role=role, preprocessing=[
                {"name": "scale", "params": {"divide_by": 2.0}}])
        train_rows = read_rows(splits["train"], args.features)
        val_rows = read_rows(splits["validation"], args.features)
        w, b = [0.0] * args.features, 0.0
        for epoch in range(args.epochs):
            w, b, loss = train_epoch(train_rows, w, b, args.lr)
            val = evaluate(val_rows, w, b)
            run.log_metrics({"train_loss": loss, "val_accuracy": val["accuracy"],
                             "val_loss": val["loss"]}, step=epoch)
            print(f"epoch {epoch}: train_loss={loss:.4f} val_accuracy={val['accuracy']}")
        test = evaluate(read_rows(splits["test"], args.features), w, b)
        run.log_metrics({"test_accuracy": test["accuracy"], "test_loss": test["loss"]},
                        step=args.epochs - 1)
        args.out.mkdir(parents=True, exist_ok=True)
        write_safetensors(args.out / "model.safetensors", {"linear.weight": w,
                                                           "linear.bias": [b]})
        (args.out / "config.json").write_text(json.dumps(
            {"inputs": FEATURES[:args.features], "epochs": args.epochs}, indent=2) + "\n")
        (args.out / "example.json").write_text(json.dumps(example_input(args.features)) + "\n")
        run.log_code(paths=[Path(__file__).name])  # the loader's entry point lives here
        run.log_pipeline(files=[Path(__file__).name])
        meta = load_metadata(write_metadata(Path("model.yaml"), args.features))
        try:
            version = run.register_model(args.out, bump=args.bump, metadata=meta)
        except modelkeep.ModelkeepError as exc:
            print(f"error: {exc.message}\nhint: {exc.hint}")
            raise SystemExit(2) from None
        if version.unchanged:  # a reproduction run (modelkeep reproduce --run) registers nothing
            print(f"reproduced {version.ref}: {version.notes[0]}")
        else:
            print(f"registered {version.ref}")


if __name__ == "__main__":
    main()
