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


@pytest.fixture
def sharded(tmp_path: Path) -> tuple[Keep, dict[str, np.ndarray]]:
    """A Hugging Face sharded checkpoint: three shards and ``model.safetensors.index.json``
    (as transformers writes it: sorted keys, indent 2), registered in a keep."""
    rng = np.random.default_rng(5)
    tensors = {f"model.layers.{i}.{part}": rng.standard_normal((256, 128), dtype=np.float32)
               for i in range(6) for part in ("attn.weight", "mlp.weight")}
    model = tmp_path / "sharded"
    model.mkdir()
    names = sorted(tensors)
    weight_map = {}
    for s in range(3):
        shard = f"model-{s + 1:05d}-of-00003.safetensors"
        part = names[s * 4:(s + 1) * 4]
        save_file({n: tensors[n] for n in part}, str(model / shard), metadata={"format": "pt"})
        weight_map.update({n: shard for n in part})
    index = {"metadata": {"total_size": sum(t.nbytes for t in tensors.values()), "format": "pt"},
             "weight_map": weight_map}
    (model / "model.safetensors.index.json").write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")
    (model / "config.json").write_text('{"num_hidden_layers": 6}')
    keep = Keep.init(tmp_path / "k")
    keep.register("llm", model)
    return keep, tensors


def load_by_index(folder: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """Load every tensor the way a sharded loader does: the index names each tensor's shard."""
    index = json.loads((folder / "model.safetensors.index.json").read_text())
    loaded: dict[str, np.ndarray] = {}
    for shard in sorted(set(index["weight_map"].values())):
        content = load_file(str(folder / shard))  # fails if the index names a shard not written
        assert sorted(content) == sorted(n for n, s in index["weight_map"].items() if s == shard)
        loaded.update(content)
    return index, loaded


def test_a_partial_checkout_of_a_sharded_model_writes_an_index_of_what_it_wrote(sharded, tmp_path):
    keep, tensors = sharded
    out = tmp_path / "partial"
    keep.checkout("llm@1.0.0", out, tensor_patterns=["model.layers.0.*", "model.layers.1.attn.*"])
    index, loaded = load_by_index(out)
    want = ["model.layers.0.attn.weight", "model.layers.0.mlp.weight", "model.layers.1.attn.weight"]
    assert sorted(loaded) == sorted(index["weight_map"]) == want
    for name in want:
        np.testing.assert_array_equal(loaded[name], tensors[name])
    assert index["metadata"] == {"format": "pt", "total_size": sum(tensors[n].nbytes for n in want)}
    assert sorted(p.name for p in out.glob("*.safetensors")) == sorted(set(index["weight_map"].values()))


def test_a_partial_checkout_by_file_lists_only_the_shards_chosen(sharded, tmp_path):
    keep, tensors = sharded
    out = tmp_path / "two-files"
    keep.checkout("llm@1.0.0", out, patterns=["model-00003-of-00003.safetensors", "*.index.json"])
    index, loaded = load_by_index(out)
    assert set(index["weight_map"].values()) == {"model-00003-of-00003.safetensors"}
    assert sorted(loaded) == sorted(tensors)[8:]


def test_a_full_checkout_keeps_the_index_byte_for_byte(sharded, tmp_path):
    keep, tensors = sharded
    keep.checkout("llm@1.0.0", tmp_path / "full")
    src = tmp_path / "sharded" / "model.safetensors.index.json"
    assert (tmp_path / "full" / "model.safetensors.index.json").read_bytes() == src.read_bytes()
    assert sorted(load_by_index(tmp_path / "full")[1]) == sorted(tensors)
    keep.checkout("llm@1.0.0", tmp_path / "all-tensors", tensor_patterns=["*"])
    assert (tmp_path / "all-tensors" / "model.safetensors.index.json").read_bytes() == src.read_bytes()


def test_a_tensor_pattern_on_a_version_without_cut_safetensors_says_why(tmp_path):
    small = tmp_path / "small"
    small.mkdir()
    save_file({"w": np.ones((4, 4), dtype=np.float32)}, str(small / "model.safetensors"))
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "model.bin").write_bytes(b"weights")
    a = Keep.init(tmp_path / "a")
    a.register("small", small)
    a.register("plain", plain)
    a.add_remote("origin", str(tmp_path / "remote"))
    a.push()
    b = Keep.init(tmp_path / "b")
    b.add_remote("origin", str(tmp_path / "remote"))
    with pytest.raises(InvalidInputError, match=r"stored whole: pull without --tensor"):
        b.pull(["small@1.0.0"], remote="origin", tensor_patterns=["w"])
    with pytest.raises(InvalidInputError, match=r"hold no safetensors file"):
        b.pull(["plain@1.0.0"], remote="origin", tensor_patterns=["encoder.*"])
