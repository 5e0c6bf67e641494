"""Per-sample weights and the early-stopping split, as plain functions."""

from math import ceil
from numbers import Real

import numpy as np
from sklearn.model_selection import train_test_split

# Early stopping needs a held-out set large enough for its accuracy to mean
# something: with fewer samples than this, fit trains on all the data instead.
MIN_VALIDATION_SAMPLES = 10


def class_sample_weights(class_weight, classes, y, sample_weight, dtype):
    """Multiply the class weights into the sample weights.

    Parameters
    ----------
    class_weight : dict, 'balanced' or None
        ``{label: weight}``, or 'balanced' for
        ``total_weight / (n_classes * class_weight_sum)`` per class.
    classes : ndarray of shape (n_classes,)
        Sorted class labels.
    y : ndarray of shape (n_samples,)
        Class indices into ``classes``.
    sample_weight : ndarray of shape (n_samples,) or None
        Non-negative sample weights (None means all 1).
    dtype : dtype
        Floating dtype of the result.

    Returns
    -------
    sample_weight : ndarray of shape (n_samples,) or None
        A new array, or None when ``class_weight`` and ``sample_weight`` are
        both None.
    """
    if class_weight is None:
        return sample_weight
    n_classes = len(classes)
    if class_weight == "balanced":
        totals = np.bincount(y, weights=sample_weight, minlength=n_classes)
        per_class = np.zeros(n_classes)
        present = totals > 0
        per_class[present] = totals.sum() / (n_classes * totals[present])
    else:
        per_class = np.ones(n_classes)
        for label, weight in class_weight.items():
            position = np.flatnonzero(classes == label)
            if position.size == 0:
                raise ValueError(
                    f"class_weight has the key {label!r}, which is not a class "
                    f"label; the classes are {classes.tolist()}."
                )
            if not (isinstance(weight, Real) and np.isfinite(weight) and weight >= 0):
                raise ValueError(
                    f"class_weight[{label!r}] is {weight!r}; class weights must be "
                    "finite non-negative numbers."
                )
            per_class[position] = weight
    weights = per_class[y].astype(dtype)
    if sample_weight is not None:
        weights *= sample_weight
    return weights


def validation_split(y, sample_weight, fraction, n_classes, rng):
    """Hold out ``fraction`` of the samples, stratified by class when possible.

    Only indices are returned, so that the rows of X are never copied: the
    training rows are gathered minibatch by minibatch and the held-out rows
    chunk by chunk, which keeps memory independent of ``n_samples`` even for a
    memmap.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        Class indices.
    sample_weight : ndarray of shape (n_samples,) or None
        Sample weights; the training part must keep a positive total.
    fraction : float
        Fraction of the samples to hold out, rounded up.
    n_classes : int
        Number of classes.
    rng : numpy.random.RandomState
        Source of the split's seed.

    Returns
    -------
    split : tuple of ndarray, or str
        ``(train, validation)``: the row indices of the two parts. Otherwise
        a str saying why no split is possible: the held-out set would have
        fewer than ``max(MIN_VALIDATION_SAMPLES, n_classes)`` samples, the
        training part fewer than ``n_classes``, or every sample of the
        training part a zero weight.
    """
    n_samples = y.shape[0]
    n_validation = ceil(fraction * n_samples)
    if (
        n_validation < max(MIN_VALIDATION_SAMPLES, n_classes)
        or n_samples - n_validation < n_classes
    ):
        return (
            f"a validation set of at least {MIN_VALIDATION_SAMPLES} samples and one "
            f"per class is needed, but validation_fraction={fraction} of "
            f"{n_samples} samples gives fewer"
        )
    counts = np.bincount(y, minlength=n_classes)
    stratify = y if counts[counts > 0].min() >= 2 else None
    train, validation = train_test_split(
        np.arange(n_samples),
        test_size=n_validation,
        stratify=stratify,
        random_state=rng.randint(np.iinfo(np.int32).max),
    )
    if sample_weight is not None and not sample_weight[train].sum() > 0:
        return (
            "every sample with a positive weight fell into the validation set, "
            "so the training part's sample weights sum to zero"
        )
    return train, validation
