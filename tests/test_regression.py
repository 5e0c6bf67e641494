"""Training results pinned to those of the engine before its restructuring.

The values were recorded with sklmlp at commit d612533 (SGD's velocity update
folded into the gradient products, the loss and gradients in one buffered
function), one BLAS thread, float64. The restructured engine (textbook
loss_and_grads, FusedGradient, optimizers on plain gradients) must reproduce
them to 1e-6 relative: a user's fitted models do not change. float32 runs are
not pinned: the Nesterov update's arithmetic changed order, which moves
float32 weights by about 1e-6 after 15 epochs.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits
from threadpoolctl import threadpool_limits

from sklmlp import TwoLayerClassifier

# loss_curve_ at epochs 1, 5, 10 and 15; norms of W1, W2, b1, b2 after 15
PINNED = {
    "sgd-nesterov-dense": (
        dict(solver="sgd", learning_rate=0.05),
        [2.15326271914, 0.508534288667, 0.231897722199, 0.166100542178],
        [10.3134743636, 7.37156990431, 0.662414430203, 0.310536831191],
    ),
    "sgd-classical-csr": (
        dict(solver="sgd", learning_rate=0.05, nesterov=False),
        [2.18130156626, 0.534498884873, 0.239063813452, 0.167260154129],
        [10.3387858098, 7.38319165851, 0.663546510731, 0.322969232041],
    ),
    "adam-reg-weighted": (
        dict(solver="adam", learning_rate=3e-3, reg=1e-2),
        [2.79533941135, 1.69171237227, 1.14867489646, 0.989773339794],
        [5.71669493217, 4.66593300661, 0.696498669157, 0.193559834909],
    ),
    "sgd-early-stopping": (
        dict(solver="sgd", learning_rate=0.05, early_stopping=True, n_iter_no_change=3),
        [2.17907070656, 0.52128387365, 0.235576282533, 0.173408393723],
        [10.2503903533, 7.2820539803, 0.636685448058, 0.300697775132],
    ),
}


@pytest.mark.parametrize("name", list(PINNED))
def test_fits_match_the_previous_engine(name):
    params, losses, norms = PINNED[name]
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    sample_weight = None
    if name.endswith("weighted"):
        sample_weight = np.random.RandomState(1).rand(len(y))
    if name.endswith("csr"):
        X = sp.csr_matrix(X)
    clf = TwoLayerClassifier(hidden_size=32, max_iter=15, random_state=0, **params)
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y, sample_weight=sample_weight)
    assert clf.n_iter_ == 15
    curve = np.array(clf.loss_curve_)[[0, 4, 9, 14]]
    np.testing.assert_allclose(curve, losses, rtol=1e-6)
    weights = clf.coefs_ + clf.intercepts_
    np.testing.assert_allclose([np.linalg.norm(w) for w in weights], norms, rtol=1e-6)
