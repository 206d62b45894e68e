"""The skops loader: a real fitted scikit-learn estimator, saved with skops, called through Keep."""

from __future__ import annotations

import numpy as np
import pytest
import skops.io as sio
from loader_models import sklearn_model

from modelkeep.errors import InvalidModelInputError, UntrustedPickleError
from modelkeep.schema.loading import with_loader


@pytest.fixture
def sk_version(keep, tmp_path):
    folder = sklearn_model(tmp_path / "clf")
    keep.register("clf", folder, metadata=with_loader(None, "clf", "skops", None))
    return keep, folder


def test_predict_matches_the_estimator_itself(sk_version):
    keep, folder = sk_version
    rows = [[1.0, 2.0, 0.0, 0.0], [-2.0, -1.0, 0.5, 0.1]]
    expected = sio.load(folder / "model.skops").predict(np.asarray(rows)).tolist()
    with keep.load("clf@1.0.0") as loaded:
        assert loaded.predict(rows) == {"label": expected}
        assert sorted(set(expected)) == ["no", "yes"]


def test_signature_is_features_in_and_classes_out(sk_version):
    keep, _ = sk_version
    signature = keep.show("clf@1.0.0")["metadata"]["technical"]["signature"]
    assert signature == {
        "inputs": [{"name": "X", "dtype": "float64", "shape": [-1, 4]}],
        "outputs": [{"name": "label", "dtype": "string", "shape": [-1]}],
        "source": "inferred", "inferred_from": "scikit-learn estimator"}


def test_a_row_of_the_wrong_width_is_refused(sk_version):
    keep, _ = sk_version
    with keep.load("clf@1.0.0") as loaded, pytest.raises(InvalidModelInputError, match=r"\[-1, 4\]"):
        loaded.predict([[1.0, 2.0, 3.0]])


def test_named_features_take_records_and_columns(keep, tmp_path):
    from sklearn.tree import DecisionTreeRegressor

    folder = tmp_path / "reg"
    folder.mkdir()
    est = DecisionTreeRegressor(random_state=0)
    x = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0], [3.0, 1.0]])
    est.fit(x, x[:, 0] * 10)
    est.feature_names_in_ = np.array(["age", "height"], dtype=object)
    sio.dump(est, folder / "model.skops")
    keep.register("reg", folder, metadata=with_loader(None, "reg", "skops", None))
    signature = keep.show("reg@1.0.0")["metadata"]["technical"]["signature"]
    assert [s["name"] for s in signature["inputs"]] == ["age", "height"]
    assert signature["outputs"] == [{"name": "prediction", "dtype": "float64", "shape": [-1]}]
    with keep.load("reg@1.0.0") as loaded:
        by_records = loaded.predict([{"age": 3.0, "height": 1.0}, {"age": 0.0, "height": 1.0}])
        by_columns = loaded.predict({"age": [3.0, 0.0], "height": [1.0, 1.0]})
        assert by_records == by_columns == {"prediction": [30.0, 0.0]}
        with pytest.raises(InvalidModelInputError, match="input 'height' is missing"):
            loaded.predict([{"age": 1.0}])


class Sneaky:
    """Not a type skops trusts: loading it would mean running this module's code."""

    def predict(self, rows):
        return rows


def test_a_skops_file_holding_untrusted_types_is_never_loaded(keep, tmp_path):
    folder = tmp_path / "sneaky"
    folder.mkdir()
    sio.dump(Sneaky(), folder / "model.skops")
    with pytest.raises(UntrustedPickleError, match="holds types skops does not trust") as info:
        keep.register("sneaky", folder, metadata=with_loader(None, "sneaky", "skops", None))
    assert "Sneaky" in str(info.value)
    assert keep.models() == []
