"""Benchmark: tuning TwoLayerClassifier by hand versus with parallel searches.

In one run, on a 10,000-sample Fashion-MNIST subset (scikit-learn's digits if
Fashion-MNIST is not installed, saying so):

1. the exercise's sequential loop: 20 candidates, each trained on 2/3 of the
   data and scored on the rest, the best kept by hand;
2. RandomizedSearchCV over the same 20 candidates, 3-fold CV, n_jobs=1;
3. the same with n_jobs=2 (loky: one BLAS thread per worker on 2 cores);
4. HalvingRandomSearchCV over 20 candidates with epochs as the resource,
   n_jobs=2.

Goals on 2 cores: (3) at least 1.7x faster than (2); (4) within 0.5 points of
(3)'s best CV accuracy in at most 40 % of its wall time.

Run by hand: ``python benchmarks/bench_search.py`` (``--smoke`` for a
seconds-long check of the script itself).
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import ParameterSampler, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklmlp import TwoLayerClassifier
from sklmlp.datasets import load_digits, load_fashion_mnist
from sklmlp.search import default_search_space, make_search, parallel_backend

PREFIX = "twolayerclassifier"


def load_subset(n_samples, random_state):
    try:
        data = load_fashion_mnist()
        X, y, name = data.X_train, data.y_train, "Fashion-MNIST"
    except FileNotFoundError:
        data = load_digits()
        X, y = data.X_train, data.y_train
        name = "digits (Fashion-MNIST is not installed: apt-get install "
        name += "dataset-fashion-mnist)"
    if n_samples < len(y):
        X, _, y, _ = train_test_split(
            X, y, train_size=n_samples, stratify=y, random_state=random_state
        )
    return X, y, name


def seed_loop(model, X, y, n_candidates, max_iter, random_state):
    """The exercise's hand-written tuning loop."""
    X_train, X_val, y_train, y_val = train_test_split(
        X, y, test_size=1 / 3, stratify=y, random_state=random_state
    )
    space = default_search_space(PREFIX)
    best_score, best_params = -np.inf, None
    for params in ParameterSampler(space, n_candidates, random_state=random_state):
        candidate = clone(model).set_params(
            **params, **{f"{PREFIX}__max_iter": max_iter}
        )
        score = candidate.fit(X_train, y_train).score(X_val, y_val)
        if score > best_score:
            best_score, best_params = score, params
    return best_score, best_params


def timed(function):
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=10_000)
    parser.add_argument("--n-candidates", type=int, default=20)
    parser.add_argument("--max-iter", type=int, default=27)
    parser.add_argument("--cv", type=int, default=3)
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", help="tiny settings")
    args = parser.parse_args(argv)
    if args.smoke:
        args.n_samples, args.n_candidates, args.max_iter, args.cv = 300, 3, 3, 2

    X, y, name = load_subset(args.n_samples, args.random_state)
    print(f"data: {name}, {X.shape[0]} samples x {X.shape[1]} features")
    print(
        f"{args.n_candidates} candidates, {args.cv}-fold CV, up to "
        f"{args.max_iter} epochs per fit"
    )
    model = make_pipeline(
        StandardScaler(), TwoLayerClassifier(random_state=args.random_state)
    )

    def search(kind, n_jobs):
        s = make_search(
            model,
            search=kind,
            n_iter=args.n_candidates,
            cv=args.cv,
            n_jobs=n_jobs,
            max_iter=args.max_iter,
            prefix=PREFIX,
            random_state=args.random_state,
        )
        with parallel_backend("loky"):
            s.fit(X, y)
        refit_seconds[kind, n_jobs] = s.refit_time_
        return s.best_score_

    results, refit_seconds = {}, {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        (loop_score, _), results["loop"] = timed(
            lambda: seed_loop(
                model, X, y, args.n_candidates, args.max_iter, args.random_state
            )
        )
        random1, results["random1"] = timed(lambda: search("random", 1))
        random2, results["random2"] = timed(lambda: search("random", 2))
        halving, results["halving"] = timed(lambda: search("halving", 2))

    print()
    print(f"{'run':<42} {'wall s':>8}  {'best accuracy':>13}")
    rows = [
        ("seed loop (sequential, hold-out score)", results["loop"], loop_score),
        ("RandomizedSearchCV n_jobs=1", results["random1"], random1),
        ("RandomizedSearchCV n_jobs=2", results["random2"], random2),
        ("HalvingRandomSearchCV n_jobs=2", results["halving"], halving),
    ]
    for label, seconds, score in rows:
        print(f"{label:<42} {seconds:>8.1f}  {score:>13.4f}")
    print()
    speedup = results["random1"] / results["random2"]
    gap = 100 * (random2 - halving)
    time_share = results["halving"] / results["random2"]
    print(f"n_jobs=2 speed-up over n_jobs=1: {speedup:.2f}x (goal >= 1.7x)")
    cv_speedup = (results["random1"] - refit_seconds["random", 1]) / (
        results["random2"] - refit_seconds["random", 2]
    )
    print(
        f"  the same without the final refit (serial in both, "
        f"{refit_seconds['random', 1]:.1f} s / {refit_seconds['random', 2]:.1f} s): "
        f"{cv_speedup:.2f}x"
    )
    print(f"halving's best CV accuracy vs random's: {-gap:+.2f} points (goal >= -0.5)")
    print(f"halving's wall time / random's: {time_share:.2f} (goal <= 0.40)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
