"""Offline loaders for the data sets the exercise used, as train/test splits.

Nothing here downloads anything. Every loader returns a :class:`~sklearn.utils.Bunch`
with ``X_train``, ``X_test`` (float32 pixel values, one row per image),
``y_train``, ``y_test`` (int64 labels), ``target_names`` and ``DESCR``, or with
``return_X_y=True`` the tuple ``(X_train, X_test, y_train, y_test)`` in the
order of :func:`~sklearn.model_selection.train_test_split`.

A missing file raises :class:`FileNotFoundError` and a truncated or corrupt one
:class:`ValueError`; both messages name the file and say how to get the data.
"""

import csv
import gzip
import os
import pickle
import zlib
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import sklearn.datasets
from sklearn.model_selection import train_test_split
from sklearn.utils import Bunch

__all__ = [
    "DATA_FILE_SUFFIXES",
    "DATA_SET_NAMES",
    "FASHION_MNIST_CLASSES",
    "load_cifar10",
    "load_data_file",
    "load_dataset",
    "load_digits",
    "load_fashion_mnist",
]

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")

# What load_dataset accepts: these names, or a file with one of these suffixes.
DATA_SET_NAMES = ("digits", "fashion-mnist", "cifar10")
DATA_FILE_SUFFIXES = (".npz", ".csv")

FASHION_MNIST_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]

FASHION_MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}

FASHION_MNIST_HELP = (
    "Install Debian's package (`apt-get install dataset-fashion-mnist`, files in "
    f"{DEBIAN_FASHION_MNIST}), or put the four IDX .gz files of Fashion-MNIST in a "
    "folder given as data_home or by $SKLMLP_DATA."
)

CIFAR10_HELP = (
    "Unpack the CIFAR-10 'python version' archive (cifar-10-python.tar.gz) and "
    "give the folder that holds data_batch_1..5 and test_batch (or its parent) "
    "as data_home."
)

CIFAR10_CLASSES = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
]


def load_fashion_mnist(data_home=None, *, return_X_y=False):
    """Load Fashion-MNIST (60,000 train and 10,000 test images of 28 x 28).

    The four standard IDX files are looked for in ``data_home``, then in
    ``$SKLMLP_DATA``, then in ``/usr/share/datasets/fashion-mnist`` (Debian's
    ``dataset-fashion-mnist`` package); the first folder that holds them all
    is used.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder with the ``*-idx?-ubyte.gz`` files.
    return_X_y : bool, default=False
        Return ``(X_train, X_test, y_train, y_test)`` instead of a Bunch.

    Returns
    -------
    data : Bunch or tuple
        ``X_*`` of shape (n, 784), float32 pixel values in [0, 255]; ``y_*``
        int64 labels 0-9 (see ``target_names``).
    """
    candidates = [data_home, os.environ.get("SKLMLP_DATA"), DEBIAN_FASHION_MNIST]
    folders = [Path(c) for c in candidates if c]
    for folder in folders:
        if all((folder / name).is_file() for name in FASHION_MNIST_FILES.values()):
            break
    else:
        searched = ", ".join(str(f) for f in folders)
        raise FileNotFoundError(
            f"Fashion-MNIST not found: no folder among [{searched}] holds all of "
            f"{', '.join(FASHION_MNIST_FILES.values())}. {FASHION_MNIST_HELP}"
        )

    arrays = {
        key: _read_idx(folder / name) for key, name in FASHION_MNIST_FILES.items()
    }
    for part in ("train", "test"):
        images, labels = arrays[f"{part}_images"], arrays[f"{part}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(
                f"Fashion-MNIST {part} files in {folder} disagree: images of shape "
                f"{images.shape}, labels of shape {labels.shape}. {FASHION_MNIST_HELP}"
            )
    return _bunch(
        arrays["train_images"].reshape(len(arrays["train_images"]), -1),
        arrays["test_images"].reshape(len(arrays["test_images"]), -1),
        arrays["train_labels"],
        arrays["test_labels"],
        FASHION_MNIST_CLASSES,
        f"Fashion-MNIST from {folder}",
        return_X_y,
    )


def load_cifar10(data_home=None, *, return_X_y=False):
    """Load CIFAR-10 (50,000 train and 10,000 test 32 x 32 colour images).

    Reads the pickled batches of the 'python version' of CIFAR-10 with an
    unpickler that only accepts plain containers and NumPy arrays.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder with ``data_batch_1`` .. ``data_batch_5`` and ``test_batch``, or
        its parent holding ``cifar-10-batches-py``; None means
        ``$SKLMLP_DATA``.
    return_X_y : bool, default=False
        Return ``(X_train, X_test, y_train, y_test)`` instead of a Bunch.

    Returns
    -------
    data : Bunch or tuple
        ``X_*`` of shape (n, 3072), float32 values in [0, 255], laid out as in
        the batches (1024 red, then green, then blue values, each row-major);
        ``y_*`` int64 labels 0-9.
    """
    folder = Path(data_home or os.environ.get("SKLMLP_DATA") or ".")
    if (folder / "cifar-10-batches-py").is_dir():
        folder = folder / "cifar-10-batches-py"
    train = [_read_cifar_batch(folder / f"data_batch_{i}") for i in range(1, 6)]
    X_test, y_test = _read_cifar_batch(folder / "test_batch")
    return _bunch(
        np.concatenate([X for X, _ in train]),
        X_test,
        np.concatenate([y for _, y in train]),
        y_test,
        CIFAR10_CLASSES,
        f"CIFAR-10 from {folder}",
        return_X_y,
    )


def load_digits(*, test_size=0.25, random_state=0, return_X_y=False):
    """scikit-learn's bundled 8 x 8 digits, split stratified into train/test.

    Parameters
    ----------
    test_size : float, default=0.25
        Fraction held out for testing.
    random_state : int, default=0
        Seed of the split.
    return_X_y : bool, default=False
        Return ``(X_train, X_test, y_train, y_test)`` instead of a Bunch.

    Returns
    -------
    data : Bunch or tuple
        ``X_*`` of shape (n, 64), float64 values in [0, 16]; ``y_*`` 0-9.

    Examples
    --------
    >>> from sklmlp.datasets import load_digits
    >>> data = load_digits()
    >>> data.X_train.shape, data.X_test.shape
    ((1347, 64), (450, 64))
    """
    X, y = sklearn.datasets.load_digits(return_X_y=True)
    return _split(X, y, test_size, random_state, "scikit-learn's digits", return_X_y)


def load_data_file(path, *, test_size=0.25, random_state=0, return_X_y=False):
    """Load a labelled data set from a ``.npz`` or ``.csv`` file.

    A ``.npz`` file holds either ``X_train``, ``y_train``, ``X_test``,
    ``y_test``, or ``X`` and ``y`` (then split stratified). A ``.csv`` file has
    one sample per row, numeric features and the label in the last column,
    with an optional header row; it is split stratified.

    Parameters
    ----------
    path : str or path-like
        The file.
    test_size : float, default=0.25
        Fraction held out when the file has no split of its own.
    random_state : int, default=0
        Seed of that split.
    return_X_y : bool, default=False
        Return ``(X_train, X_test, y_train, y_test)`` instead of a Bunch.

    Returns
    -------
    data : Bunch or tuple
        The split, with X as float32 if the file stores float32, else float64.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"data file {path} does not exist.")
    description = f"data file {path}"
    if path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as npz:
                arrays = {key: npz[key] for key in npz.files}
        except (OSError, ValueError, zlib.error, EOFError) as exc:
            raise ValueError(f"{path} is not a readable .npz file: {exc}") from exc
        if {"X_train", "y_train", "X_test", "y_test"} <= arrays.keys():
            return _bunch(
                arrays["X_train"],
                arrays["X_test"],
                arrays["y_train"],
                arrays["y_test"],
                None,
                description,
                return_X_y,
            )
        if {"X", "y"} <= arrays.keys():
            X, y = arrays["X"], arrays["y"]
            return _split(X, y, test_size, random_state, description, return_X_y)
        raise ValueError(
            f"{path} holds the arrays {sorted(arrays)}; expected X and y, or "
            "X_train, y_train, X_test and y_test."
        )
    if path.suffix == ".csv":
        X, y = _read_csv(path)
        return _split(X, y, test_size, random_state, description, return_X_y)
    raise ValueError(f"{path}: unknown data file type; use a .npz or .csv file.")


def load_dataset(name, *, data_home=None, random_state=0, return_X_y=False):
    """Load a data set by name ('digits', 'fashion-mnist', 'cifar10') or path.

    Parameters
    ----------
    name : str or path-like
        One of the names, or a ``.npz`` / ``.csv`` file
        (see :func:`load_data_file`).
    data_home : str or path-like, default=None
        Where the Fashion-MNIST or CIFAR-10 files are.
    random_state : int, default=0
        Seed of the split for data sets that have none.
    return_X_y : bool, default=False
        Return ``(X_train, X_test, y_train, y_test)`` instead of a Bunch.

    Returns
    -------
    data : Bunch or tuple
        See the individual loaders.

    Examples
    --------
    >>> from sklmlp.datasets import load_dataset
    >>> X_train, X_test, y_train, y_test = load_dataset("digits", return_X_y=True)
    >>> len(y_train) + len(y_test)
    1797
    """
    if name == "digits":
        return load_digits(random_state=random_state, return_X_y=return_X_y)
    if name == "fashion-mnist":
        return load_fashion_mnist(data_home, return_X_y=return_X_y)
    if name == "cifar10":
        return load_cifar10(data_home, return_X_y=return_X_y)
    if Path(name).suffix not in DATA_FILE_SUFFIXES:
        raise ValueError(
            f"unknown data set {str(name)!r}: use one of {', '.join(DATA_SET_NAMES)}, "
            f"or a {' or '.join(DATA_FILE_SUFFIXES)} file."
        )
    return load_data_file(name, random_state=random_state, return_X_y=return_X_y)


def _bunch(X_train, X_test, y_train, y_test, target_names, description, return_X_y):
    if X_train.dtype != np.float64:
        X_train, X_test = X_train.astype(np.float32), X_test.astype(np.float32)
    if y_train.dtype.kind in "ui":
        y_train, y_test = y_train.astype(np.int64), y_test.astype(np.int64)
    if return_X_y:
        return X_train, X_test, y_train, y_test
    return Bunch(
        X_train=X_train,
        X_test=X_test,
        y_train=y_train,
        y_test=y_test,
        target_names=target_names,
        DESCR=description,
    )


def _split(X, y, test_size, random_state, description, return_X_y):
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, stratify=y, random_state=random_state
    )
    return _bunch(X_train, X_test, y_train, y_test, None, description, return_X_y)


def _read_idx(path):
    """Read one gzipped IDX file of unsigned bytes into an ndarray."""
    try:
        with gzip.open(path, "rb") as f:
            content = f.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(
            f"{path} is truncated or not a gzip file ({exc}). {FASHION_MNIST_HELP}"
        ) from exc
    if len(content) < 4 or content[:2] != b"\0\0" or content[2] != 0x08:
        raise ValueError(
            f"{path} is not an IDX file of unsigned bytes (bad magic number "
            f"{content[:4].hex() or 'none'}). {FASHION_MNIST_HELP}"
        )
    ndim = content[3]
    header_size = 4 + 4 * ndim
    if len(content) < header_size:
        raise ValueError(f"{path} is truncated inside its header. {FASHION_MNIST_HELP}")
    shape = tuple(
        int.from_bytes(content[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)
    )
    expected = header_size + int(np.prod(shape))
    if len(content) != expected:
        raise ValueError(
            f"{path} is truncated or corrupt: its header promises shape {shape} "
            f"({expected} bytes) but the file holds {len(content)} bytes. "
            f"{FASHION_MNIST_HELP}"
        )
    return np.frombuffer(content, dtype=np.uint8, offset=header_size).reshape(shape)


class _ArrayUnpickler(pickle.Unpickler):
    """An unpickler that builds only plain containers and NumPy arrays."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        if module == "numpy.core.multiarray" and find_spec("numpy._core"):
            module = "numpy._core.multiarray"  # numpy.core is deprecated in NumPy 2
        return super().find_class(module, name)


def _read_cifar_batch(path):
    """Read one pickled CIFAR-10 batch into ``(X, y)``."""
    if not path.is_file():
        raise FileNotFoundError(f"CIFAR-10 batch {path} not found. {CIFAR10_HELP}")
    try:
        with open(path, "rb") as f:
            batch = _ArrayUnpickler(f, encoding="bytes").load()
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
    except Exception as exc:  # any unpickling failure means a bad file
        raise ValueError(
            f"{path} is truncated or not a CIFAR-10 batch ({type(exc).__name__}: "
            f"{exc}). {CIFAR10_HELP}"
        ) from exc
    if data.ndim != 2 or data.shape[1] != 3072 or labels.shape != (len(data),):
        raise ValueError(
            f"{path} holds data of shape {data.shape} and {labels.size} labels; a "
            f"CIFAR-10 batch has (n, 3072) and n labels. {CIFAR10_HELP}"
        )
    if labels.size and not (0 <= labels.min() and labels.max() <= 9):
        raise ValueError(f"{path} has labels outside 0-9. {CIFAR10_HELP}")
    return data, labels


def _read_csv(path):
    """Numeric features and a last-column label, with an optional header."""
    try:
        with open(path, newline="") as f:
            rows = [row for row in csv.reader(f) if row]
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is not a readable CSV file: {exc}") from exc
    if rows and not _is_number(rows[0][0]):
        rows = rows[1:]  # a header
    if not rows or len(rows[0]) < 2:
        raise ValueError(
            f"{path} needs rows of at least one feature and a label (last column)."
        )
    widths = {len(row) for row in rows}
    if len(widths) != 1:
        raise ValueError(f"{path} has rows of different lengths: {sorted(widths)}.")
    try:
        X = np.array([row[:-1] for row in rows], dtype=np.float64)
    except ValueError as exc:
        raise ValueError(f"{path} has a non-numeric feature value: {exc}") from exc
    labels = [row[-1] for row in rows]
    y = np.array(labels)
    if all(_is_number(label) for label in labels):
        y = y.astype(np.float64)
        if np.all(y == np.round(y)):
            y = y.astype(np.int64)
    return X, y


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True
