"""scikit-learn's conformance checks, over several configurations."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklmlp import TwoLayerClassifier

# The default solver is 'adam'; the others cover the remaining code paths.
# (Minibatches smaller than the checks' data sets are left out on purpose:
# sample-weight equivalence only holds exactly for full-batch training.)
CONFIGURATIONS = [
    TwoLayerClassifier(),
    TwoLayerClassifier(solver="sgd", learning_rate=0.05),
    TwoLayerClassifier(solver="sgd", learning_rate=0.05, nesterov=False),
    TwoLayerClassifier(early_stopping=True),
    TwoLayerClassifier(class_weight="balanced"),
    TwoLayerClassifier(learning_rate_decay=0.99, warm_start=True),
]


@parametrize_with_checks(CONFIGURATIONS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
