"""scikit-learn's conformance checks, over several configurations."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklmlp import TwoLayerClassifier

# The default solver is 'adam'; the others cover the remaining code paths.
# SGD takes MLPClassifier's default step, 1e-3: some checks fit unscaled data
# (features around 100), on which a step of 1e-2 or more truly diverges.
# (Minibatches smaller than the checks' data sets are left out on purpose:
# sample-weight equivalence only holds exactly for full-batch training.)
CONFIGURATIONS = [
    TwoLayerClassifier(),
    TwoLayerClassifier(solver="sgd", learning_rate=1e-3),
    TwoLayerClassifier(solver="sgd", learning_rate=1e-3, nesterov=False),
    TwoLayerClassifier(early_stopping=True),
    TwoLayerClassifier(class_weight="balanced"),
    TwoLayerClassifier(learning_rate_decay=0.99, warm_start=True),
]


@parametrize_with_checks(CONFIGURATIONS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
