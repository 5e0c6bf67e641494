"""Behaviour of TwoLayerClassifier beyond scikit-learn's generic checks."""

import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError

from sklmlp import TwoLayerClassifier


def test_is_a_classifier():
    assert is_classifier(TwoLayerClassifier())


def test_learns_digits_with_defaults(digits_split):
    X_train, X_test, y_train, y_test = digits_split
    clf = TwoLayerClassifier(random_state=0).fit(X_train, y_train)
    assert clf.score(X_test, y_test) >= 0.97


def test_fitted_attributes(small_problem):
    X, y = small_problem
    clf = TwoLayerClassifier(hidden_size=7, learning_rate_decay=0.9, random_state=0)
    clf.fit(X, y)
    W1, W2 = clf.coefs_
    b1, b2 = clf.intercepts_
    assert (W1.shape, W2.shape, b1.shape, b2.shape) == ((5, 7), (7, 3), (7,), (3,))
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    assert clf.n_features_in_ == 5
    assert len(clf.loss_curve_) == clf.n_iter_
    assert clf.loss_ == clf.loss_curve_[-1]
    assert clf.t_ == clf.n_iter_ * X.shape[0]
    assert clf.learning_rate_ == pytest.approx(1e-3 * 0.9**clf.n_iter_)
    assert clf.validation_scores_ is None
    assert clf.validation_loss_curve_ is None
    assert clf.best_validation_score_ is None


def test_stops_on_a_training_loss_plateau(small_problem):
    X, y = small_problem
    clf = TwoLayerClassifier(
        solver="sgd", learning_rate=0.1, max_iter=500, tol=1e-3, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.n_iter_ < 500
    last = clf.loss_curve_[-clf.n_iter_no_change - 1 :]
    assert min(last[1:]) > min(clf.loss_curve_[: -clf.n_iter_no_change]) - 1e-3


@pytest.mark.parametrize("shuffle", [True, False])
def test_each_epoch_visits_every_sample_once(small_problem, monkeypatch, shuffle):
    import sklmlp._fastpath as module

    X, y = small_problem
    X = np.column_stack([X, np.arange(len(y))])  # the last column is the row id
    seen = []

    def recording(params, X_batch, *args, **kwargs):
        seen.append(X_batch[:, -1].astype(int))
        return real(params, X_batch, *args, **kwargs)

    real = module.fused_loss_and_grads
    monkeypatch.setattr(module, "fused_loss_and_grads", recording)
    clf = TwoLayerClassifier(batch_size=16, max_iter=3, shuffle=shuffle)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    assert [len(rows) for rows in seen] == [16, 16, 16, 12] * 3
    epochs = [np.concatenate(seen[i : i + 4]) for i in (0, 4, 8)]
    for order in epochs:
        np.testing.assert_array_equal(np.sort(order), np.arange(len(y)))
    if shuffle:
        assert not np.array_equal(epochs[0], epochs[1])
        assert not np.array_equal(epochs[0], np.arange(len(y)))
    else:
        for order in epochs:
            np.testing.assert_array_equal(order, np.arange(len(y)))


def test_warns_when_max_iter_runs_out(small_problem):
    X, y = small_problem
    with pytest.warns(ConvergenceWarning, match="max_iter=3"):
        clf = TwoLayerClassifier(max_iter=3, random_state=0).fit(X, y)
    assert clf.n_iter_ == 3


def test_early_stopping_restores_the_best_epoch(digits_split):
    X_train, _, y_train, _ = digits_split
    params = dict(
        early_stopping=True, n_iter_no_change=3, tol=0.0, max_iter=100, random_state=0
    )
    clf = TwoLayerClassifier(**params).fit(X_train, y_train)
    scores = clf.validation_scores_
    assert len(scores) == len(clf.validation_loss_curve_) == clf.n_iter_ < 100
    assert clf.best_validation_score_ == max(scores)
    best_epoch = int(np.argmax(scores)) + 1
    assert clf.n_iter_ == best_epoch + 3

    # The same seed, stopped by max_iter at the best epoch, follows the same
    # path: its weights are the ones early stopping restored.
    params["max_iter"] = best_epoch
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference = TwoLayerClassifier(**params).fit(X_train, y_train)
    for restored, expected in zip(clf.coefs_, reference.coefs_, strict=True):
        np.testing.assert_array_equal(restored, expected)


def test_early_stopping_holds_out_a_stratified_fraction(digits_split, capsys):
    X_train, _, y_train, _ = digits_split
    clf = TwoLayerClassifier(
        early_stopping=True, validation_fraction=0.2, max_iter=2, random_state=0
    )
    with pytest.warns(ConvergenceWarning):
        clf.fit(X_train, y_train)
    n_train = X_train.shape[0] - int(np.ceil(0.2 * X_train.shape[0]))
    assert clf.t_ == 2 * n_train


def test_early_stopping_on_tiny_data_warns_and_trains_on_everything(small_problem):
    X, y = small_problem
    clf = TwoLayerClassifier(early_stopping=True, max_iter=5, random_state=0)
    with pytest.warns(UserWarning, match="validation_fraction"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
    assert clf.t_ == 5 * X.shape[0]
    assert clf.best_validation_score_ is None


def test_verbose_prints_one_line_per_epoch(digits_split, capsys):
    X_train, _, y_train, _ = digits_split
    clf = TwoLayerClassifier(
        early_stopping=True, max_iter=3, verbose=1, learning_rate_decay=0.5
    )
    with pytest.warns(ConvergenceWarning):
        clf.fit(X_train, y_train)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    pattern = (
        r"Epoch 3: loss \d+\.\d+, validation accuracy \d\.\d{4}, "
        r"step 0\.000125, \d+\.\d+ s"
    )
    assert re.fullmatch(pattern, lines[-1])


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_int_random_state_gives_bit_identical_weights(small_problem, solver):
    X, y = small_problem
    params = dict(solver=solver, learning_rate=0.01, max_iter=20, random_state=42)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        first = TwoLayerClassifier(**params).fit(X, y)
        second = TwoLayerClassifier(**params).fit(X, y)
        other = TwoLayerClassifier(**{**params, "random_state": 1}).fit(X, y)
    for a, b in zip(
        first.coefs_ + first.intercepts_,
        second.coefs_ + second.intercepts_,
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first.coefs_[0], other.coefs_[0])


def test_float32_trains_and_predicts_in_float32(small_problem):
    X, y = small_problem
    clf = TwoLayerClassifier(random_state=0).fit(X.astype(np.float32), y)
    assert all(W.dtype == np.float32 for W in clf.coefs_ + clf.intercepts_)
    assert clf.predict_proba(X).dtype == np.float32  # float64 input is cast
    assert clf.predict_log_proba(X.astype(np.float32)).dtype == np.float32
    assert clf.score(X, y) == 1.0


@pytest.mark.parametrize("dtype", [np.int64, np.float16, np.float64])
def test_other_dtypes_train_in_float64(small_problem, dtype):
    X, y = small_problem
    clf = TwoLayerClassifier(random_state=0).fit(np.round(X).astype(dtype), y)
    assert clf.coefs_[0].dtype == np.float64
    assert clf.predict_proba(X.astype(np.float32)).dtype == np.float64


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_sparse_input_is_not_densified(small_problem, fmt, monkeypatch):
    X, y = small_problem
    X = np.where(X > 0, X, 0.0)
    dense = TwoLayerClassifier(random_state=0).fit(X, y)

    def refuse(*args, **kwargs):
        raise AssertionError("sparse input was densified")

    for cls in (sp.csr_matrix, sp.csc_matrix, sp.coo_matrix):
        monkeypatch.setattr(cls, "toarray", refuse)
        monkeypatch.setattr(cls, "todense", refuse)
    X_sparse = sp.csr_matrix(X) if fmt == "csr" else sp.csc_matrix(X)
    clf = TwoLayerClassifier(random_state=0).fit(X_sparse, y)
    proba = clf.predict_proba(X_sparse)
    np.testing.assert_allclose(proba, dense.predict_proba(X), rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(clf.predict(X_sparse), dense.predict(X))


@pytest.mark.parametrize(
    "learning_rate, scale, dtype",
    [(100.0, 1.0, np.float64), (1e4, 1e3, np.float32), (1e30, 1e30, np.float64)],
    ids=["loss-explodes", "float32-overflow", "non-finite"],
)
def test_divergence_raises_a_clear_error_and_keeps_finite_weights(
    small_problem, learning_rate, scale, dtype
):
    X, y = small_problem
    clf = TwoLayerClassifier(solver="sgd", learning_rate=learning_rate, random_state=0)
    with pytest.raises(ValueError, match=r"diverged.*smaller learning_rate"):
        clf.fit((X * scale).astype(dtype), y)
    assert all(np.isfinite(W).all() for W in clf.coefs_ + clf.intercepts_)
    assert all(np.isfinite(v).all() for v in clf._optimizer.velocities)


def test_inputs_are_not_modified(small_problem):
    X, y = small_problem
    sample_weight = np.linspace(0.5, 2.0, len(y))
    copies = X.copy(), y.copy(), sample_weight.copy()
    for array in (X, y, sample_weight):
        array.setflags(write=False)
    clf = TwoLayerClassifier(early_stopping=True, class_weight="balanced")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y, sample_weight=sample_weight)
    clf.predict_proba(X)
    for original, array in zip(copies, (X, y, sample_weight), strict=True):
        np.testing.assert_array_equal(original, array)


@pytest.mark.parametrize(
    "param, value",
    [
        ("hidden_size", 0),
        ("solver", "lbfgs"),
        ("learning_rate", 0.0),
        ("learning_rate_decay", 1.5),
        ("momentum", -0.1),
        ("reg", -1.0),
        ("batch_size", 0),
        ("max_iter", 0),
        ("n_iter_no_change", 0),
        ("validation_fraction", 1.0),
        ("class_weight", "auto"),
        ("early_stopping", "yes"),
    ],
)
def test_bad_parameters_name_the_parameter(small_problem, param, value):
    X, y = small_problem
    clf = TwoLayerClassifier(**{param: value})
    with pytest.raises(InvalidParameterError, match=f"'{param}' parameter"):
        clf.fit(X, y)
    with pytest.raises(InvalidParameterError, match=f"'{param}' parameter"):
        clf.partial_fit(X, y, classes=[0, 1, 2])


def test_one_class_is_an_error():
    with pytest.raises(ValueError, match="only one class"):
        TwoLayerClassifier().fit(np.ones((5, 2)), np.zeros(5))


def test_all_zero_sample_weights_are_an_error(small_problem):
    X, y = small_problem
    with pytest.raises(ValueError, match="[Ss]ample weights"):
        TwoLayerClassifier().fit(X, y, sample_weight=np.zeros(len(y)))


def test_partial_fit_runs_one_epoch_per_call(small_problem):
    X, y = small_problem
    clf = TwoLayerClassifier(random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[:30], y[:30], classes=[0, 1, 2])  # classes 0 and 1 only
    assert (clf.n_iter_, clf.t_) == (1, 30)
    for _ in range(200):
        clf.partial_fit(X, y)
    assert (clf.n_iter_, clf.t_) == (201, 30 + 200 * 60)
    assert clf.loss_curve_[-1] < clf.loss_curve_[1]
    assert clf.score(X, y) == 1.0
    with pytest.raises(ValueError, match=r"not in classes_"):
        clf.partial_fit(X[:2], np.array([0, 7]))
    with pytest.raises(ValueError, match="differ from the classes_"):
        clf.partial_fit(X, y, classes=[0, 1, 2, 3])


def test_warm_start_continues_training(small_problem):
    X, y = small_problem
    clf = TwoLayerClassifier(max_iter=5, warm_start=True, random_state=0)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    W1_after_first_fit = clf.coefs_[0].copy()
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    assert clf.n_iter_ == 10 and len(clf.loss_curve_) == 10
    assert clf.loss_curve_[5] < clf.loss_curve_[0]
    assert not np.array_equal(clf.coefs_[0], W1_after_first_fit)

    cold = TwoLayerClassifier(max_iter=5, random_state=0)
    with pytest.warns(ConvergenceWarning):
        cold.fit(X, y)
        cold.fit(X, y)
    assert cold.n_iter_ == 5


def test_class_weight_shifts_predictions(small_problem):
    X, y = small_problem
    rng = np.random.RandomState(0)
    X_noisy = X + rng.normal(scale=4.0, size=X.shape)
    params = dict(max_iter=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = TwoLayerClassifier(**params).fit(X_noisy, y)
        heavy = TwoLayerClassifier(class_weight={2: 50.0}, **params).fit(X_noisy, y)
    assert np.mean(heavy.predict(X_noisy) == 2) > np.mean(plain.predict(X_noisy) == 2)
    with pytest.raises(ValueError, match="class_weight has the key 5"):
        TwoLayerClassifier(class_weight={5: 1.0}).fit(X, y)


def test_balanced_class_weight_equals_explicit_weights(small_problem):
    X, y = small_problem
    keep = np.r_[0:20, 20:25, 40:60]  # class 1 has 5 samples, the others 20
    X, y = X[keep], y[keep]
    weights = {0: 45 / (3 * 20), 1: 45 / (3 * 5), 2: 45 / (3 * 20)}
    params = dict(max_iter=30, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        balanced = TwoLayerClassifier(class_weight="balanced", **params).fit(X, y)
        explicit = TwoLayerClassifier(class_weight=weights, **params).fit(X, y)
    np.testing.assert_allclose(balanced.coefs_[0], explicit.coefs_[0], rtol=1e-12)


@pytest.mark.parametrize(
    "labels",
    [np.array(["cat", "dog", "emu"]), np.array([-5, 3, 10]), np.array([True, False])],
    ids=["strings", "negative-ints", "bools"],
)
def test_label_types(small_problem, labels):
    X, y = small_problem
    y_labels = labels[y % len(labels)]
    clf = TwoLayerClassifier(random_state=0).fit(X, y_labels)
    np.testing.assert_array_equal(clf.classes_, np.unique(labels))
    assert set(clf.predict(X)) <= set(labels)
    assert clf.predict(X).dtype == y_labels.dtype


def test_predict_log_proba_is_finite_where_proba_underflows(small_problem):
    X, y = small_problem
    clf = TwoLayerClassifier(random_state=0).fit(X, y)
    clf.coefs_[1] *= 1e3  # push the scores apart so that exp underflows
    proba = clf.predict_proba(X)
    log_proba = clf.predict_log_proba(X)
    assert (proba == 0).any()
    assert np.isfinite(log_proba).all()
    positive = proba > 1e-300
    np.testing.assert_allclose(log_proba[positive], np.log(proba[positive]), atol=1e-9)
    np.testing.assert_array_equal(proba.argmax(axis=1), clf.predict(X))


def test_predict_is_chunked_consistently(small_problem, monkeypatch):
    import sklmlp._classifier as module

    X, y = small_problem
    clf = TwoLayerClassifier(random_state=0).fit(X, y)
    expected = clf.predict_proba(X)
    monkeypatch.setattr(module, "PREDICT_CHUNK_SIZE", 7)
    np.testing.assert_allclose(clf.predict_proba(X), expected, rtol=1e-12)


def test_refit_may_change_the_classes_but_warm_start_may_not(small_problem):
    X, y = small_problem
    clf = TwoLayerClassifier(random_state=0).fit(X, y)
    clf.fit(X[:40], y[:40])
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    clf.set_params(warm_start=True)
    with pytest.raises(ValueError, match=r"labels \[2\] that are not in classes_"):
        clf.fit(X, y)


@pytest.mark.parametrize("weight", [-1.0, np.nan, "heavy"])
def test_bad_class_weight_values(small_problem, weight):
    X, y = small_problem
    with pytest.raises(ValueError, match=r"class_weight\[1\]"):
        TwoLayerClassifier(class_weight={1: weight}).fit(X, y)


def test_continued_training_keeps_the_dtype_of_the_weights(small_problem):
    X, y = small_problem
    clf = TwoLayerClassifier(random_state=0).fit(X.astype(np.float32), y)
    clf.partial_fit(X, y)  # float64 input
    assert all(W.dtype == np.float32 for W in clf.coefs_ + clf.intercepts_)
    assert all(v.dtype == np.float32 for v in clf._optimizer.first_moments)


def test_concurrent_predict_proba_calls_agree(digits_split):
    from concurrent.futures import ThreadPoolExecutor

    X_train, X_test, y_train, _ = digits_split
    clf = TwoLayerClassifier(random_state=0).fit(X_train, y_train)
    expected = clf.predict_proba(X_test)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(clf.predict_proba, [X_test] * 16))
    for result in results:
        np.testing.assert_array_equal(result, expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fit_makes_no_copy_of_X(dtype):
    import tracemalloc

    rng = np.random.RandomState(0)
    X = rng.rand(20000, 100).astype(dtype)  # 8 or 16 MB
    y = rng.randint(0, 3, size=20000)
    clf = TwoLayerClassifier(hidden_size=50, max_iter=2, random_state=0)
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    weights = sum(p.nbytes for p in clf.coefs_ + clf.intercepts_)
    batch = 200 * (100 + 3 * 50 + 3) * np.dtype(dtype).itemsize
    # the per-epoch order, labels and optimizer state, but nothing like X
    assert peak < 0.25 * X.nbytes
    assert peak < 20 * (weights + batch) + 10 * 20000 * 8


def test_predict_proba_memory_is_bounded_by_chunks():
    import tracemalloc

    rng = np.random.RandomState(0)
    clf = TwoLayerClassifier(hidden_size=64, max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(rng.rand(300, 20).astype(np.float32), rng.randint(0, 3, 300))
    X = rng.rand(100_000, 20).astype(np.float32)
    tracemalloc.start()
    try:
        proba = clf.predict_proba(X)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    hidden_all_rows = X.shape[0] * 64 * 4  # what an unchunked forward would hold
    assert peak < proba.nbytes + hidden_all_rows / 4


def test_keyboard_interrupt_keeps_the_last_completed_epoch(small_problem, monkeypatch):
    import sklmlp._fastpath as module

    X, y = small_problem
    params = dict(batch_size=16, max_iter=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference = TwoLayerClassifier(**{**params, "max_iter": 2}).fit(X, y)

    real, calls = module.fused_loss_and_grads, []

    def interrupted_in_epoch_3(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2 * 4 + 2:  # 4 minibatches per epoch; mid-epoch 3
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "fused_loss_and_grads", interrupted_in_epoch_3)
    clf = TwoLayerClassifier(**params)
    with pytest.warns(UserWarning, match=r"interrupted .* in epoch 3.*epoch \(2\)"):
        assert clf.fit(X, y) is clf
    assert clf.n_iter_ == 2 and len(clf.loss_curve_) == 2
    for kept, expected in zip(
        clf.coefs_ + clf.intercepts_,
        reference.coefs_ + reference.intercepts_,
        strict=True,
    ):
        np.testing.assert_array_equal(kept, expected)
    monkeypatch.undo()
    # usable: it predicts, and from the weights of epoch 2
    np.testing.assert_array_equal(clf.predict_proba(X), reference.predict_proba(X))
    clf.partial_fit(X, y)  # and trainable
    assert clf.n_iter_ == 3
