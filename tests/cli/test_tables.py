"""Tables fit the terminal: `diff` of long metadata wraps within COLUMNS instead of running on."""

from __future__ import annotations

import json

from support import cli_run as run


def _meta(path, description: str, outputs: list[str]) -> None:
    path.write_text(json.dumps({"identity": {"name": "bert", "version": "0.0.0",
                                             "description": description},
                                "technical": {"signature": {"outputs": [
                                    {"name": o, "dtype": "float32", "shape": [-1, 768]}
                                    for o in outputs]}}}))


def test_diff_tables_fit_the_terminal_width(project, monkeypatch):
    long_a = "classifies support tickets by urgency " * 6
    long_b = "classifies support tickets by urgency and by product area " * 5
    _meta(project / "a.json", long_a, ["logits", "probs"])
    _meta(project / "b.json", long_b, ["logits", "probs", "pooled_embedding_of_the_cls_token"])
    run("register", "bert", "model", "--metadata", "a.json", "--param", "lr=0.001")
    (project / "model" / "model.bin").write_bytes(b"retrained")
    run("register", "bert", "model", "--metadata", "b.json", "--param", "lr=0.002")
    monkeypatch.setenv("COLUMNS", "100")
    out = run("diff", "bert@1.0.0", "bert@1.1.0").stdout
    widths = [len(line) for line in out.splitlines()]
    assert max(widths) <= 100, max(widths)
    assert " ".join(_column(out, "identity.description", 2).split()) == long_b.strip()
    outputs = _column(out, "technical.signature.outputs", 2).replace(" ", "")
    assert "pooled_embedding_of_the_cls_token" in outputs  # wrapped, not cut
    monkeypatch.setenv("COLUMNS", "60")
    assert max(len(line) for line in run("diff", "bert@1.0.0", "bert@1.1.0").stdout.splitlines()) <= 60


def _column(out: str, key: str, index: int) -> str:
    """The text of one cell of a wrapped table row: its lines joined."""
    parts, inside = [], False
    for line in out.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) <= index:
            inside = False
            continue
        if cells[0]:
            inside = cells[0] == key
        if inside:
            parts.append(cells[index])
    return " ".join(parts)
