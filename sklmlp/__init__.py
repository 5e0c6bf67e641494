"""sklmlp: a hand-written NumPy two-layer network as a scikit-learn classifier."""

from ._classifier import TwoLayerClassifier

__version__ = "0.1.0"

__all__ = ["TwoLayerClassifier", "__version__"]
