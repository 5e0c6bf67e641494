"""sklmlp: a hand-written NumPy two-layer network as a scikit-learn classifier."""

from ._classifier import InconsistentVersionWarning, TwoLayerClassifier
from ._version import __version__

__all__ = ["InconsistentVersionWarning", "TwoLayerClassifier", "__version__"]
