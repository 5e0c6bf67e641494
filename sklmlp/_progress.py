"""A search's progress, counted in epochs, through scikit-learn's callback API.

:class:`SearchProgress` is a scikit-learn callback (``sklearn.callback``,
scikit-learn >= 1.9). Set on a search, it propagates to every
:class:`~sklmlp.TwoLayerClassifier` fit, which reports each epoch. Fits run in
worker processes (loky, Dask): their copies of the callback send events over a
local socket (``multiprocessing.connection``) to the process that started the
search, which draws one :class:`ProgressLine`. Nothing is patched.

The line counts epochs, the resource a successive-halving search spends
unevenly (later rounds train longer), so the ETA holds from the first round.
"""

import math
import os
import sys
import threading
import time
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Listener
from typing import NamedTuple

from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import (
    HalvingRandomSearchCV,
    ParameterSampler,
    RandomizedSearchCV,
)


def search_rounds(search, n_splits):
    """``[(n_fits, epochs_per_fit), ...]``, one pair per round of ``search``.

    Mirrors scikit-learn's own count: for a successive-halving search, the
    number of rounds is capped both by the candidates (``1 + floor(log(n,
    factor))``) and by the resource (``1 + floor(log(max // min, factor))``),
    exactly as :class:`~sklearn.model_selection.HalvingRandomSearchCV` computes
    them. A random search has one round, its epochs the estimator's
    ``max_iter``.
    """
    if isinstance(search, RandomizedSearchCV):
        return [(_n_sampled(search, search.n_iter) * n_splits, _max_iter(search))]
    if not isinstance(search, HalvingRandomSearchCV):
        raise TypeError(
            "sklmlp counts the fits of RandomizedSearchCV and "
            f"HalvingRandomSearchCV, not {type(search).__name__}'s."
        )
    if search.resource == "n_samples":
        raise ValueError(
            "Counting a halving search's fits needs a resource that is an "
            "estimator parameter (such as max_iter), not n_samples."
        )
    max_resources = search.max_resources
    # scikit-learn's HalvingRandomSearchCV._run_search, step by step
    min_resources = 1 if isinstance(search.min_resources, str) else search.min_resources
    n_candidates = search.n_candidates
    if n_candidates == "exhaust":
        n_candidates = max_resources // min_resources
    n_candidates = _n_sampled(search, n_candidates)
    n_required = 1 + math.floor(math.log(n_candidates, search.factor))
    if search.min_resources == "exhaust":
        min_resources = max(
            min_resources, max_resources // search.factor ** (n_required - 1)
        )
    n_possible = 1 + math.floor(math.log(max_resources // min_resources, search.factor))
    if search.aggressive_elimination:
        n_rounds = n_required
    else:
        n_rounds = min(n_possible, n_required)
    rounds = []
    for itr in range(n_rounds):
        power = itr
        if search.aggressive_elimination:
            power = max(0, itr - n_required + n_possible)
        epochs = min(int(search.factor**power * min_resources), max_resources)
        rounds.append((n_candidates * n_splits, epochs))
        n_candidates = math.ceil(n_candidates / search.factor)
    return rounds


def _n_sampled(search, n_iter):
    """How many candidates ``ParameterSampler`` draws (fewer for small grids)."""
    return len(
        ParameterSampler(
            search.param_distributions, n_iter, random_state=search.random_state
        )
    )


def _max_iter(search):
    """The epochs of each fit of a random search: its estimator's ``max_iter``."""
    names = [
        name
        for name in search.estimator.get_params()
        if name == "max_iter" or name.endswith("__max_iter")
    ]
    spaces = search.param_distributions
    spaces = spaces if isinstance(spaces, list) else [spaces]
    if len(names) != 1 or any(names[0] in space for space in spaces):
        raise ValueError(
            "Counting a random search's epochs needs one fixed max_iter in its "
            f"estimator; found {names or 'none'}."
        )
    return search.estimator.get_params()[names[0]]


# Seconds after which a plain (not live) progress line is written even though
# no further tenth of the work is done.
PLAIN_INTERVAL = 60.0


class ProgressLine:
    """``label: done/total epochs, elapsed, ETA``, live on a terminal.

    Parameters
    ----------
    total : int or None
        Expected number of steps; None while unknown (no ETA then).
    label : str
        Start of the line.
    stream : file-like, default=None
        Where to write; None means ``sys.stderr``. A terminal gets one line
        rewritten in place (at most every 0.2 s); anything else gets a plain
        line every tenth of the way, and at least once a minute (so a log
        shows an ETA from the first minute).
    unit : str, default="epochs"
        What is counted.
    """

    def __init__(self, total, label, stream=None, unit="epochs"):
        self.total = None if total is None else max(int(total), 1)
        self.label = label
        self.unit = unit
        self.stream = sys.stderr if stream is None else stream
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.perf_counter()
        self.done = 0
        self._shown = None  # the count last written
        self._first = None  # (time, count) of the first count above 0
        self._last_write = self.start
        self._last_tenth = 0

    def update(self, done):
        """Record that ``done`` steps are complete and show it if due."""
        self.done = done
        now = time.perf_counter()
        if self._first is None and done > 0:
            self._first = (now, done)
        complete = self.total is not None and done >= self.total
        if self.live:
            if now - self._last_write >= 0.2 or complete:
                self._show()
                self._last_write = now
        elif self.total is not None:
            tenth = min(10, done * 10 // self.total)
            if tenth > self._last_tenth or now - self._last_write >= PLAIN_INTERVAL:
                self._last_tenth = max(tenth, self._last_tenth)
                self._show()
                self._last_write = now

    def text(self):
        """The progress line, without any terminal control characters."""
        now = time.perf_counter()
        of = "" if self.total is None else f"/{self.total}"
        line = f"{self.label}: {self.done}{of} {self.unit}"
        line += f", {now - self.start:.1f} s elapsed"
        if self.total is not None and self.done < self.total and self._first:
            # the rate since the first count leaves out the start-up (worker
            # processes, data checks), which does not recur
            start, first = self._first
            if self.done > first:
                rate = (self.done - first) / (now - start)
                line += f", ETA {(self.total - self.done) / rate:.0f} s"
        return line

    def close(self):
        """Show the last count if it is not shown yet, and end a live line."""
        if self._shown != self.done:
            self._show()
        if self.live:
            self._write("\n")

    def _show(self):
        self._shown = self.done
        if self.live:
            self._write("\r" + self.text() + "\033[K")
        else:
            self._write(self.text() + "\n")

    def _write(self, text):
        self.stream.write(text)
        self.stream.flush()


class _Handle(NamedTuple):
    """Where a worker's copy of the callback sends its events (picklable)."""

    address: str
    authkey: bytes


# The runs this process draws, by listener address, and the connections this
# (worker) process holds to other processes' runs. Module-level because the
# callback travels to the workers by pickling, and these must not.
_runs = {}
_connections = {}
_unreachable = set()


class _Run:
    """The parent side of one search: the listener, the ledger, the line."""

    def __init__(self, label, stream):
        self.line = ProgressLine(None, label, stream)
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.rounds = None  # epochs of each round, once the search has begun
        self.refit = 0
        self.done = 0
        self.open_fits = {}  # fit path -> [epochs planned, epochs seen]
        authkey = os.urandom(32)
        self.listener = Listener(authkey=authkey, backlog=128)
        self.handle = _Handle(self.listener.address, authkey)
        self.connections = []
        self.closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed.is_set():
            try:
                connection = self.listener.accept()
            except (OSError, AuthenticationError):
                continue  # a client that failed to authenticate, or closed
            self.connections.append(connection)
            threading.Thread(
                target=self._serve, args=(connection,), daemon=True
            ).start()

    def _serve(self, connection):
        # acknowledge each event, so that a worker's fit returns only once its
        # events are counted here (before the search's round can end)
        try:
            while True:
                self.receive(connection.recv())
                connection.send(None)
        except (EOFError, OSError):
            return

    def plan(self, search):
        """Take the total from the search, once it knows its folds."""
        try:
            rounds = search_rounds(search, search.n_splits_)
        except (TypeError, ValueError):
            return  # not a search sklmlp can count: no total, no ETA
        with self.lock:
            self.rounds = [n_fits * epochs for n_fits, epochs in rounds]
            self.refit = rounds[-1][1] if search.refit else 0
            self.line.total = sum(self.rounds) + self.refit
            self.line.update(self.done)

    def receive(self, event):
        """Count one event: ``begin``/``epoch`` of a fit, ``end`` of a task."""
        kind, path, *rest = event
        with self.lock:
            if kind == "begin":
                self.open_fits[path] = [rest[0], 0]
            elif kind == "epoch":
                self.done += 1
                if path in self.open_fits:
                    self.open_fits[path][1] += 1
            else:
                # every fit under the task that ended has ended: a fit that
                # stopped early (or failed) counts its remaining epochs done
                for fit in [f for f in self.open_fits if f[: len(path)] == path]:
                    planned, seen = self.open_fits.pop(fit)
                    self.done += max(planned - seen, 0)
            self.line.update(self.done)

    def rounds_ended(self, n_rounds):
        """The first ``n_rounds`` rounds are over: their epochs are all done."""
        if self.rounds is not None:
            with self.lock:
                self.done = max(self.done, sum(self.rounds[:n_rounds]))
                self.line.update(self.done)

    def close(self):
        self.closed.set()
        self.listener.close()
        for connection in self.connections:
            connection.close()
        with self.lock:
            self.line.close()


def _send(handle, event):
    """Deliver ``event`` to the run at ``handle``, in this process or another.

    A process that cannot reach the run (a Dask worker on another machine)
    drops its events: the line then moves when the search's rounds end.
    """
    run = _runs.get(handle.address)
    if run is not None and run.pid == os.getpid():
        run.receive(event)
        return
    if handle.address in _unreachable:
        return
    try:
        connection = _connections.get(handle.address)
        if connection is None:
            # runs that ended have closed their end: keep one connection
            for old in _connections.values():
                old.close()
            _connections.clear()
            connection = Client(handle.address, authkey=handle.authkey)
            _connections[handle.address] = connection
        connection.send(event)
        connection.recv()
    except (OSError, EOFError, AuthenticationError):
        _connections.pop(handle.address, None)
        _unreachable.add(handle.address)


def _path(context):
    """Task ids from the root task down to ``context``: a key unique in a fit."""
    ids = []
    while context is not None:
        ids.append(context.task_id)
        context = context.parent
    return tuple(reversed(ids))


class SearchProgress:
    """Show a search's epochs done, elapsed time and ETA as one line.

    A callback for scikit-learn's callback API (scikit-learn >= 1.9): set it
    on a search (``search.set_callbacks(SearchProgress())``) and it reaches
    every :class:`~sklmlp.TwoLayerClassifier` fit inside, in this process and
    in worker processes (loky, or Dask workers on this machine), whose epochs
    it counts. :func:`~sklmlp.search.search_progress` does this for you.

    The total is the epochs a :class:`~sklearn.model_selection.RandomizedSearchCV`
    or :class:`~sklearn.model_selection.HalvingRandomSearchCV` (with epochs as
    the resource, as :func:`~sklmlp.search.make_search` builds) will train,
    see :func:`~sklmlp.search.expected_epochs`; a fit that stops early counts
    its remaining epochs as done when it ends. Elsewhere (another search, a
    single fit) the line counts epochs without a total or an ETA.

    Parameters
    ----------
    label : str, default="search"
        Start of the line.
    stream : file-like, default=None
        Where to write; None means ``sys.stderr``. A terminal gets one line
        rewritten in place; anything else a plain line every tenth of the way.

    Notes
    -----
    Workers send their events to this process over a local socket
    (``multiprocessing.connection``). Dask workers on other machines cannot
    reach it; their events are dropped and the line moves as each round of
    the search ends.
    """

    # propagate from the search through any Pipeline to the classifier
    max_propagation_depth = None

    def __init__(self, label="search", stream=None):
        self.label = label
        self.stream = stream
        self._handle = None  # set while a search runs
        self._open = set()  # fits begun through this copy, in this process

    def __getstate__(self):
        # what a worker's copy needs: where to send; never the stream
        return {"label": self.label, "stream": None, "_handle": self._handle}

    def __setstate__(self, state):
        self.__dict__.update(state, _open=set())

    def _run(self):
        """The run this process draws, or None in a worker."""
        run = _runs.get(self._handle.address)
        return run if run is not None and run.pid == os.getpid() else None

    def setup(self, estimator, context):
        """Open the listener and the line, as the outermost fit begins."""
        run = _Run(self.label, self.stream)
        _runs[run.handle.address] = run
        self._handle = run.handle

    def on_fit_task_begin(self, estimator, context):
        """Take the total as the search begins; note each fit's first epoch."""
        if context.task_name == "search" and hasattr(estimator, "n_splits_"):
            run = self._run()
            if run is not None:
                run.plan(estimator)
        elif context.task_name == "epoch" and context.task_id == 0:
            fit = _path(context.parent)
            if self._run() is None:
                self._open.add(fit)
            _send(self._handle, ("begin", fit, context.parent.max_subtasks))

    def on_fit_task_end(self, estimator, context):
        """Count an epoch, or the remaining epochs of the fits a task ended."""
        path = _path(context)
        if context.task_name == "epoch":
            _send(self._handle, ("epoch", path[:-1]))
            return False
        run = self._run()
        if run is None:  # a worker: tell about the fits that ended here
            ended = {fit for fit in self._open if fit[: len(path)] == path}
            if ended:
                self._open -= ended
                _send(self._handle, ("end", path))
            return False
        run.receive(("end", path))
        if context.task_name == "halving-iteration":
            run.rounds_ended(context.task_id + 1)
        elif context.task_name == "search":
            run.rounds_ended(len(run.rounds or ()))
        return False

    def teardown(self, estimator, context):
        """Close the listener and end the line, as the outermost fit ends."""
        if self._handle is not None:
            run = _runs.pop(self._handle.address)
            self._handle = None
            run.close()
