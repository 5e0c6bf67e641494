"""Random search instead of a hand-written tuning loop.

The exercise this package descends from tuned its network with a loop: draw a
hidden size, a learning rate and a regularisation strength, train, keep the
best by hand. With a scikit-learn estimator the loop is RandomizedSearchCV,
which cross-validates every draw and runs the fits in parallel.
"""

from scipy.stats import loguniform, randint
from sklearn.datasets import load_digits
from sklearn.model_selection import RandomizedSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklmlp import TwoLayerClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)

model = make_pipeline(StandardScaler(), TwoLayerClassifier(max_iter=50, random_state=0))
search = RandomizedSearchCV(
    model,
    {
        "twolayerclassifier__hidden_size": randint(32, 257),
        "twolayerclassifier__learning_rate": loguniform(3e-4, 3e-2),
        "twolayerclassifier__reg": loguniform(1e-6, 1e-1),
    },
    n_iter=8,
    cv=3,
    n_jobs=-1,
    random_state=0,
)
search.fit(X_train, y_train)
print("best parameters:", search.best_params_)
print(f"best CV accuracy: {search.best_score_:.4f}")
print(f"test accuracy: {search.score(X_test, y_test):.4f}")
