"""Provenance records: what a saved model remembers of its data and split."""

import json
import pickle

import numpy as np
from sklearn.linear_model import LogisticRegression

from sklmlp.datasets import load_digits
from sklmlp.provenance import (
    data_set_name,
    get_provenance,
    record_provenance,
    split_fingerprint,
)


def test_a_record_travels_with_the_pickled_model(tmp_path):
    data = load_digits(random_state=3)
    model = LogisticRegression(max_iter=200).fit(data.X_train, data.y_train)
    record = record_provenance(model, data, "digits", random_state=3, command="fit")
    loaded = pickle.loads(pickle.dumps(model))
    assert get_provenance(loaded) == record
    assert json.loads(json.dumps(record)) == record  # JSON-serialisable
    assert record["random_state"] == 3 and record["command"] == "fit"
    assert (record["n_train"], record["n_test"]) == (1347, 450)
    assert record["test_fingerprint"] == split_fingerprint(load_digits(random_state=3))


def test_the_fingerprint_tells_splits_and_files_apart():
    a, b = load_digits(random_state=0), load_digits(random_state=1)
    assert split_fingerprint(a) != split_fingerprint(b)
    changed = load_digits(random_state=0)
    changed.X_test = changed.X_test.copy()
    changed.X_test[0, 0] += 1
    assert split_fingerprint(changed) != split_fingerprint(a)
    # same values, other dtype: another file, another fingerprint
    changed.X_test = a.X_test.astype(np.float32)
    assert split_fingerprint(changed) != split_fingerprint(a)


def test_names_and_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert data_set_name("digits") == "digits"
    assert data_set_name("d.npz") == str(tmp_path / "d.npz")
    assert get_provenance(LogisticRegression()) is None
