"""The pickle loader: refused unless the keep trusts the model by name; a hostile pickle never
runs when it is not trusted (not at register, not at load)."""

from __future__ import annotations

import pickle

import pytest

from modelkeep.errors import InvalidInputError, SignatureUnknownError, UntrustedPickleError
from modelkeep.keep import Keep
from modelkeep.schema import ModelMetadata
from modelkeep.schema.loading import with_loader

SIGNATURE = {"inputs": [{"name": "x", "dtype": "float64", "shape": [-1]}]}


class Payload:
    """Unpickling this runs ``open(marker, 'w')``: the code a hostile pickle would carry."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _hostile(tmp_path, name="evil"):
    folder = tmp_path / name
    folder.mkdir()
    marker = tmp_path / "UNPICKLED"
    (folder / "model.pkl").write_bytes(pickle.dumps(Payload(str(marker))))
    meta = ModelMetadata.model_validate({"name": name, "version": "1.0.0",
                                         "technical": {"signature": SIGNATURE}})
    return folder, marker, with_loader(meta, name, "pickle", None)


def test_an_untrusted_pickle_is_never_unpickled(keep, tmp_path):
    folder, marker, meta = _hostile(tmp_path)
    keep.register("evil", folder, metadata=meta)
    assert not marker.exists()
    with pytest.raises(UntrustedPickleError) as info:
        keep.load("evil@1.0.0")
    assert "does not trust model 'evil'" in str(info.value)
    assert "[loaders] trusted_pickles" in info.value.hint
    assert info.value.http_status == 403
    assert not marker.exists()


def test_a_pickle_without_a_declared_signature_is_refused_without_unpickling(keep, tmp_path):
    folder, marker, _ = _hostile(tmp_path)
    with pytest.raises(SignatureUnknownError, match="never unpickles"):
        keep.register("evil", folder, metadata=with_loader(None, "evil", "pickle", None))
    assert not marker.exists()


def _trust(keep: Keep, *names: str) -> Keep:
    config = keep.settings.keep_dir / "config.toml"
    listed = ", ".join(f'"{n}"' for n in names)
    text = config.read_text().split("\n[loaders]")[0]
    config.write_text(text + f"\n[loaders]\ntrusted_pickles = [{listed}]\n")
    return Keep.open(keep.settings.root)


def test_trust_is_by_name_and_only_for_that_model(keep, tmp_path):
    folder, marker, meta = _hostile(tmp_path)
    keep.register("evil", folder, metadata=meta)
    trusting_other = _trust(keep, "somebody-else")
    with pytest.raises(UntrustedPickleError):
        trusting_other.load("evil")
    assert not marker.exists()
    trusted = _trust(keep, "somebody-else", "evil")
    assert trusted.settings.trusted_pickles == ("somebody-else", "evil")
    with pytest.raises(Exception):  # noqa: B017  (the payload is not a model)
        trusted.load("evil")
    assert marker.exists()  # trusted: it was unpickled (so the refusals above were real)


class Doubler:
    def predict(self, rows):
        return rows * 2


def test_a_trusted_pickle_answers_predict(keep, tmp_path):
    folder = tmp_path / "ok"
    folder.mkdir()
    (folder / "model.pkl").write_bytes(pickle.dumps(Doubler()))
    meta = ModelMetadata.model_validate({"name": "ok", "version": "1.0.0",
                                         "technical": {"signature": SIGNATURE}})
    keep.register("ok", folder, metadata=with_loader(meta, "ok", "pickle", None))
    with _trust(keep, "ok").load("ok") as loaded:
        assert loaded.predict([1.5, 2]) == [3.0, 4.0]


def test_a_malformed_trust_list_is_one_line_naming_the_key(keep):
    config = keep.settings.keep_dir / "config.toml"
    config.write_text(config.read_text() + "\n[loaders]\ntrusted_pickles = \"evil\"\n")
    with pytest.raises(InvalidInputError, match=r"\[loaders\] trusted_pickles must be list"):
        Keep.open(keep.settings.root)
    config.write_text(config.read_text().replace('"evil"', '["evil", 3]'))
    with pytest.raises(InvalidInputError, match="a list of strings"):
        Keep.open(keep.settings.root)
