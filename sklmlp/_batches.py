"""Where the training loop's rows come from: minibatches and chunks.

:class:`BatchSource` owns how the minibatches of a fit are made: the rows it
trains on (all of them, or the training part of the early-stopping split, as
indices: X is never copied), their order in each epoch, and gathering each
minibatch into one reused buffer (dense), or indexing it (sparse CSR).
:func:`iter_chunks` walks rows in bounded chunks (validation scores,
``predict``) and :func:`check_finite` checks a memmap for NaN that way. The
network never asks where its rows came from.

Read-only memmaps (memory-mapped ``.npy`` files opened with mode 'r') get
their file pages released after each read. Reading rows of a ``numpy.memmap``
maps the file's pages into the process: they count as resident memory until
the kernel needs them back, so one epoch over a 3 GB file would show 3 GB of
RSS. Worse, a page fault maps a whole
window around the row read (fault-around, and large page-cache folios): one
minibatch of 200 random rows mapped about 290 MB of a 600 MB file here.
:class:`PageReleaser` therefore tells the kernel (``madvise(MADV_DONTNEED)``)
after every read that the process no longer needs those pages: the file's
data stays in the page cache and the next read maps it again cheaply. That
cost 0.27 ms per 200-row minibatch here, paid only for memmap input. Only
read-only memmaps (mode 'r') qualify: for a copy-on-write mapping the call
would drop the changes.
"""

import mmap

import numpy as np

from ._xp import asarray, is_numpy, namespace


def read_only_mapping(X):
    """The ``mmap`` behind X if X is (a view of) a memmap opened with mode 'r'."""
    base = X
    while base is not None:
        if isinstance(base, np.memmap):
            mapping = getattr(base, "_mmap", None)
            return mapping if base.mode == "r" else None
        base = getattr(base, "base", None)
    return None


class PageReleaser:
    """Release X's mapped pages after each read; a no-op for other arrays.

    Also a no-op where the platform has no ``madvise``.
    """

    def __init__(self, X):
        self.mapping = read_only_mapping(X)
        if not hasattr(mmap, "MADV_DONTNEED") or not hasattr(self.mapping, "madvise"):
            self.mapping = None

    def release(self):
        """Drop the mapping's pages from this process's resident memory now."""
        if self.mapping is not None:
            self.mapping.madvise(mmap.MADV_DONTNEED)


def check_finite(X, chunk_bytes=4 * 2**20):
    """Raise a ValueError if X holds NaN or infinity, reading it in chunks.

    For a read-only memmap this replaces scikit-learn's one-pass check, which
    would map the whole file at once; each chunk's pages are released after
    it is checked.
    """
    row_bytes = X.itemsize * (X.size // max(X.shape[0], 1))
    chunk_rows = max(1, chunk_bytes // max(row_bytes, 1))
    for _, chunk in iter_chunks(X, chunk_rows=chunk_rows):
        if not np.isfinite(chunk).all():
            kind = "NaN" if np.isnan(chunk).any() else "infinity"
            raise ValueError(
                f"Input X contains {kind}: TwoLayerClassifier needs finite values "
                "(impute or drop them first)."
            )


def iter_chunks(X, rows=None, chunk_rows=4096):
    """Yield ``(positions, X_chunk)`` over X's rows, ``chunk_rows`` at a time.

    ``positions`` is a slice into ``rows`` (or into X when ``rows`` is None)
    and ``X_chunk`` holds those rows: a view of X for consecutive rows, a
    bounded copy for ``X[rows[positions]]``. For a read-only memmap the pages
    a chunk mapped are released when the caller asks for the next chunk, so
    a pass over the data keeps memory independent of its size.
    """
    pages = PageReleaser(X)
    n_rows = X.shape[0] if rows is None else len(rows)
    for start in range(0, n_rows, chunk_rows):
        positions = slice(start, min(start + chunk_rows, n_rows))
        if rows is not None:
            yield positions, take(X, rows[positions])
        else:  # the standard wants the trailing axis spelled out
            yield positions, X[positions] if is_numpy(X) else X[positions, ...]
        pages.release()


def take(array, rows):
    """``array[rows]`` for NumPy row indices ``rows``, in array's namespace.

    Arrays of other namespaces get the indices on their own device.
    """
    if is_numpy(array):
        return array[rows]
    return namespace(array).take(array, asarray(rows, like=array), axis=0)


class BatchSource:
    """The minibatches of one fit: which rows, in which order, gathered where.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        All the data (a read-only memmap stays on disk).
    y : ndarray of shape (n_samples,)
        Class indices.
    sample_weight : ndarray of shape (n_samples,) or None
        Per-sample weights.
    rows : ndarray of shape (n_rows,)
        Indices of the rows to train on, e.g. the training part of the
        early-stopping split.
    batch_size : int
        Rows per minibatch; at most ``n_rows`` (the last minibatch of an epoch
        may be smaller).
    """

    def __init__(self, X, y, sample_weight, rows, batch_size):
        self.X, self.y, self.sample_weight, self.rows = X, y, sample_weight, rows
        self.batch_size = min(batch_size, len(rows))
        dense = isinstance(X, np.ndarray)
        self._buffer = (
            np.empty((self.batch_size, X.shape[1]), X.dtype) if dense else None
        )
        self._pages = PageReleaser(X)

    def minibatches(self, rng=None):
        """Yield ``(X_batch, y_batch, sample_weight_batch)`` over the rows once.

        The rows are visited in a random order drawn from ``rng``, or in their
        given order when ``rng`` is None. ``X_batch`` is the reused buffer,
        overwritten by the next minibatch; ``sample_weight_batch`` is None
        without weights.
        """
        order = self.rows if rng is None else self.rows[rng.permutation(len(self.rows))]
        if not is_numpy(self.X):  # the order, once per epoch, on X's device
            order = asarray(order, like=self.X)
        n_rows = order.shape[0]
        for start in range(0, n_rows, self.batch_size):
            batch = order[start : min(start + self.batch_size, n_rows)]
            weight = (
                None
                if self.sample_weight is None
                else self._take(self.sample_weight, batch)
            )
            yield self._gather(batch), self._take(self.y, batch), weight

    def head(self, n_rows):
        """``(X, y)`` of the first ``n_rows`` training rows, as new arrays."""
        rows = self.rows[:n_rows]
        return take(self.X, rows), take(self.y, rows)

    def _take(self, array, rows):
        """``array[rows]``; ``rows`` already lives where ``array`` does."""
        if is_numpy(array):
            return array[rows]
        return namespace(array).take(array, rows, axis=0)

    def _gather(self, rows):
        """``X[rows]``: gathered into the buffer when X is dense."""
        if self._buffer is None:
            return self._take(self.X, rows)
        # mode="clip" (the rows are valid indices anyway): with the default
        # mode="raise", np.take buffers `out` and copies it again, which made
        # the gather 1.7x slower (34 -> 20 ms per Fashion-MNIST epoch).
        out = self._buffer[: len(rows)]
        batch = np.take(self.X, rows, axis=0, out=out, mode="clip")
        self._pages.release()
        return batch
