"""What a saved model remembers of its data, so that it is scored honestly.

A model written by ``sklmlp fit`` or ``sklmlp tune`` carries a provenance
record in its ``sklmlp_provenance`` attribute: the data set (a name or a
file's absolute path), the seed of the train/test split, the sizes of both
parts, a SHA-256 fingerprint of the test rows and labels, and the versions
that trained it. ``sklmlp evaluate`` reloads the data with that seed and
scores the model only if the test rows are the ones recorded.
"""

import hashlib
from pathlib import Path

import numpy as np
import sklearn

from ._version import __version__
from .datasets import DATA_SET_NAMES

__all__ = [
    "PROVENANCE_ATTRIBUTE",
    "data_set_name",
    "get_provenance",
    "record_provenance",
    "split_fingerprint",
]

PROVENANCE_ATTRIBUTE = "sklmlp_provenance"


def data_set_name(data):
    """A data set's name as recorded: the name itself, or a file's absolute path.

    Parameters
    ----------
    data : str or path-like
        One of :data:`sklmlp.datasets.DATA_SET_NAMES`, or a data file.

    Returns
    -------
    name : str
    """
    return data if data in DATA_SET_NAMES else str(Path(data).resolve())


def split_fingerprint(data):
    """SHA-256 of a split's test rows and labels (dtypes and shapes included).

    Parameters
    ----------
    data : Bunch
        A loader's result, with ``X_test`` and ``y_test``.

    Returns
    -------
    fingerprint : str
        64 hexadecimal digits; equal for the same test rows only.

    Examples
    --------
    >>> from sklmlp.datasets import load_digits
    >>> from sklmlp.provenance import split_fingerprint
    >>> split_fingerprint(load_digits()) == split_fingerprint(load_digits())
    True
    >>> split_fingerprint(load_digits()) == split_fingerprint(
    ...     load_digits(random_state=1))
    False
    """
    digest = hashlib.sha256()
    for array in (data.X_test, data.y_test):
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def record_provenance(model, data, name, *, data_home=None, random_state=0, **extra):
    """Attach a provenance record to ``model`` and return it.

    Parameters
    ----------
    model : estimator
        The fitted model (a Pipeline or a TwoLayerClassifier).
    data : Bunch
        The split it was trained on, as a loader returned it.
    name : str or path-like
        The data set's name or file, as given to
        :func:`~sklmlp.datasets.load_dataset`.
    data_home : str or path-like, default=None
        Where the data set's files were found, if given.
    random_state : int, default=0
        The seed of the split.
    **extra
        More entries for the record (e.g. ``command="fit"``).

    Returns
    -------
    record : dict
        JSON-serialisable; also stored as ``model.sklmlp_provenance``.
    """
    record = {
        **extra,
        "data": data_set_name(name),
        "data_home": None if data_home is None else str(Path(data_home).resolve()),
        "description": data.DESCR,
        "random_state": random_state,
        "n_train": len(data.y_train),
        "n_test": len(data.y_test),
        "test_fingerprint": split_fingerprint(data),
        "sklmlp_version": __version__,
        "sklearn_version": sklearn.__version__,
    }
    setattr(model, PROVENANCE_ATTRIBUTE, record)
    return record


def get_provenance(model):
    """The provenance record of ``model``, or None if it has none.

    Parameters
    ----------
    model : object
        A loaded model.

    Returns
    -------
    record : dict or None
    """
    record = getattr(model, PROVENANCE_ATTRIBUTE, None)
    if isinstance(record, dict) and "test_fingerprint" in record:
        return record
    return None
