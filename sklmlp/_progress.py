"""A progress line for long joblib work (parameter searches).

joblib calls ``Parallel.print_progress`` in the calling process each time a
batch of tasks completes, whatever the backend (sequential, loky, threads,
Dask). :func:`joblib_progress` wraps that method for the duration of a block,
so completions can be counted without touching the estimators or the workers.
"""

import sys
import time
from contextlib import contextmanager

import joblib


@contextmanager
def joblib_progress(callback):
    """Call ``callback(n_done)`` whenever joblib tasks complete inside the block.

    ``n_done`` counts completed tasks over every ``Parallel`` run inside the
    block (a successive-halving search runs one per round).
    """
    original = joblib.Parallel.print_progress
    done = 0

    def print_progress(parallel):
        nonlocal done
        original(parallel)
        # Count what completed since this Parallel last reported. One Parallel
        # object can run several times (a search reuses it for every halving
        # round) and its count restarts with each run, which joblib stamps
        # with a new start time.
        run = getattr(parallel, "_start_time", None)
        if getattr(parallel, "_sklmlp_run", None) != run:
            parallel._sklmlp_run, parallel._sklmlp_reported = run, 0
        done += parallel.n_completed_tasks - parallel._sklmlp_reported
        parallel._sklmlp_reported = parallel.n_completed_tasks
        callback(done)

    joblib.Parallel.print_progress = print_progress
    try:
        yield
    finally:
        joblib.Parallel.print_progress = original


class ProgressLine:
    """``label: done/total fits, elapsed, ETA``, live on a terminal.

    Parameters
    ----------
    total : int
        Expected number of steps.
    label : str
        Start of the line.
    stream : file-like, default=None
        Where to write; None means ``sys.stderr``. A terminal gets one line
        rewritten in place (at most every 0.2 s); anything else gets a plain
        line every tenth of the way.
    """

    def __init__(self, total, label, stream=None):
        self.total = max(int(total), 1)
        self.label = label
        self.stream = sys.stderr if stream is None else stream
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.perf_counter()
        self.done = 0
        self._last_write = 0.0
        self._last_tenth = 0

    def update(self, done):
        """Record that ``done`` steps are complete and show it if due."""
        self.done = done
        now = time.perf_counter()
        if self.live:
            if now - self._last_write >= 0.2 or done >= self.total:
                self._write("\r" + self.text() + "\033[K")
                self._last_write = now
        else:
            tenth = min(10, done * 10 // self.total)
            if tenth > self._last_tenth:
                self._last_tenth = tenth
                self._write(self.text() + "\n")

    def text(self):
        """The progress line, without any terminal control characters."""
        elapsed = time.perf_counter() - self.start
        line = f"{self.label}: {self.done}/{self.total} fits, {elapsed:.1f} s elapsed"
        if 0 < self.done < self.total:
            remaining = elapsed / self.done * (self.total - self.done)
            line += f", ETA {remaining:.0f} s"
        return line

    def close(self):
        """End the live line so that later output starts on a new line."""
        if self.live and self._last_write:
            self._write("\n")

    def _write(self, text):
        self.stream.write(text)
        self.stream.flush()
