"""Partial pull and checkout by tensor name: only the chunks of matching tensors travel."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from modelkeep.errors import InvalidInputError, ObjectNotFoundError
from modelkeep.keep import Keep


@pytest.fixture
def published(tmp_path: Path) -> tuple[Keep, Keep, dict[str, np.ndarray]]:
    """Keep A registers an 8 MiB checkpoint of 16 tensors and pushes it; keep B is empty."""
    rng = np.random.default_rng(3)
    tensors = {f"layer.{i}.weight": rng.standard_normal((512, 256), dtype=np.float32)
               for i in range(16)}
    model = tmp_path / "model"
    model.mkdir()
    save_file(tensors, str(model / "model.safetensors"))
    a = Keep.init(tmp_path / "a")
    a.register("llm", model)
    a.add_remote("origin", str(tmp_path / "remote"))
    a.push(["llm@1.0.0"], remote="origin")
    b = Keep.init(tmp_path / "b")
    b.add_remote("origin", str(tmp_path / "remote"))
    return a, b, tensors


def test_pull_by_tensor_fetches_only_their_chunks(published, tmp_path):
    _, b, tensors = published
    result = b.pull(["llm@1.0.0"], remote="origin", tensor_patterns=["layer.1.*", "layer.2.*"])
    one_tensor = tensors["layer.1.weight"].nbytes
    assert 2 * one_tensor <= result.transfer.bytes < 3 * one_tensor  # 2 of 16 tensors + header
    out = tmp_path / "partial"
    b.checkout("llm@1.0.0", out, tensor_patterns=["layer.1.*", "layer.2.*"])
    loaded = load_file(str(out / "model.safetensors"))
    assert sorted(loaded) == ["layer.1.weight", "layer.2.weight"]
    for name, value in loaded.items():
        np.testing.assert_array_equal(value, tensors[name])
    with pytest.raises(ObjectNotFoundError):
        b.checkout("llm@1.0.0", tmp_path / "full")  # the other tensors were never fetched
    assert not b.fsck().ok


def test_a_later_full_pull_completes_the_version(published, tmp_path):
    _, b, tensors = published
    b.pull(["llm@1.0.0"], remote="origin", tensor_patterns=["layer.0.*"])
    b.pull(["llm@1.0.0"], remote="origin")
    b.checkout("llm@1.0.0", tmp_path / "full")
    assert sorted(load_file(str(tmp_path / "full" / "model.safetensors"))) == sorted(tensors)
    assert b.fsck().ok


def test_a_tensor_pattern_matching_nothing_is_an_error(published):
    _, b, _ = published
    with pytest.raises(InvalidInputError, match="no tensor matches 'decoder.*'"):
        b.pull(["llm@1.0.0"], remote="origin", tensor_patterns=["decoder.*"])


def test_cli_checkout_by_tensor(published, tmp_path):
    from click.testing import CliRunner

    from modelkeep.cli.main import cli

    a, _, tensors = published
    out = tmp_path / "cli-out"
    result = CliRunner().invoke(cli, ["--keep", str(a.settings.root), "checkout", "llm@1.0.0",
                                      str(out), "--tensor", "layer.15.*", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["files_written"] == 1
    assert list(load_file(str(out / "model.safetensors"))) == ["layer.15.weight"]
