"""Support for scikit-learn's callback API (``sklearn.callback``, >= 1.9).

On scikit-learn >= 1.9, :class:`~sklmlp.TwoLayerClassifier` borrows
``set_callbacks`` and ``_init_callback_context`` from scikit-learn's
``CallbackSupportMixin`` and reports each fit as a task with one subtask per
epoch, so that ``ProgressBar`` and ``ScoringMonitor`` work on it directly and
through Pipelines and searches. On older versions :func:`fit_context` returns
a context that does nothing, and the estimator has no ``set_callbacks``.
"""

try:
    from sklearn.callback import CallbackSupportMixin
except ImportError:  # scikit-learn < 1.9
    CallbackSupportMixin = None


class _NoContext:
    """Stands in for a CallbackContext where callbacks are not supported."""

    def subcontext(self, **kwargs):
        return self

    def call_on_fit_task_begin(self, **kwargs):
        return self

    def call_on_fit_task_end(self, **kwargs):
        return False


def fit_context(estimator, n_epochs):
    """The root callback context of one call to fit, with ``n_epochs`` subtasks."""
    if CallbackSupportMixin is None:
        return _NoContext()
    return estimator._init_callback_context(max_subtasks=n_epochs)
