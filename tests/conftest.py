"""Shared fixtures for the sklmlp test suite."""

import os

# scikit-learn's check_array_api_input (run for every estimator by
# parametrize_with_checks) is skipped unless SciPy's array API mode is on; it
# must be set before SciPy is first imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")
