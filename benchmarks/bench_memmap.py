"""Benchmark: fitting on a float32 memmap larger than the memory it uses.

Writes a 1,000,000 x 784 float32 file (about 3 GB; Fashion-MNIST images,
tiled, when installed, else random pixels), opens it read-only with
``numpy.memmap``, fits TwoLayerClassifier for one epoch and reports the
process's peak resident memory, split into anonymous memory (what the fit
allocates) and file-backed pages of the memmap (page cache the kernel can
drop at any time), sampled every 50 ms. TwoLayerClassifier checks a
read-only memmap for NaN in chunks and releases its mapped pages after every
minibatch, so neither grows with the file.

Run by hand: ``python benchmarks/bench_memmap.py`` (``--smoke`` for a
seconds-long check of the script itself).
"""

import argparse
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from sklmlp import TwoLayerClassifier
from sklmlp.datasets import load_fashion_mnist


def memory_mib():
    """Current (anonymous, file-backed) resident memory of this process, MiB."""
    fields = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value
    return int(fields["RssAnon"].split()[0]) / 1024, int(
        fields["RssFile"].split()[0]
    ) / 1024


class PeakMemory:
    """Sample memory_mib() in a thread; keep the peaks."""

    def __enter__(self):
        self.peak_anon, self.peak_file = memory_mib()
        self.peak_total = self.peak_anon + self.peak_file
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.wait(0.05):
            anon, file = memory_mib()
            self.peak_anon = max(self.peak_anon, anon)
            self.peak_file = max(self.peak_file, file)
            self.peak_total = max(self.peak_total, anon + file)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def write_memmap(path, n_rows, smoke):
    rng = np.random.RandomState(0)
    try:
        if smoke:
            raise FileNotFoundError
        data = load_fashion_mnist()
        source, labels = data.X_train / 255.0, data.y_train
        name = "Fashion-MNIST tiled"
    except FileNotFoundError:
        source, labels = rng.rand(10_000, 784), rng.randint(0, 10, 10_000)
        name = "random pixels"
    X = np.lib.format.open_memmap(path, "w+", np.float32, (n_rows, 784))
    y = np.empty(n_rows, dtype=np.int64)
    for start in range(0, n_rows, len(source)):
        stop = min(start + len(source), n_rows)
        X[start:stop] = source[: stop - start]
        y[start:stop] = labels[: stop - start]
    X.flush()
    del X
    return y, name


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--smoke", action="store_true", help="tiny settings")
    args = parser.parse_args(argv)
    if args.smoke:
        args.rows = 20_000
    warnings.simplefilter("ignore", ConvergenceWarning)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "X.npy"
        start = time.perf_counter()
        y, name = write_memmap(path, args.rows, args.smoke)
        file_mib = path.stat().st_size / 2**20
        print(
            f"wrote {args.rows:,} x 784 float32 ({name}): {file_mib:.0f} MiB "
            f"in {time.perf_counter() - start:.0f} s"
        )
        X = np.load(path, mmap_mode="r")
        anon_before, _ = memory_mib()
        clf = TwoLayerClassifier(
            hidden_size=100,
            solver="sgd",
            learning_rate=0.05,
            max_iter=1,
            random_state=0,
        )
        start = time.perf_counter()
        with PeakMemory() as peak:
            clf.fit(X, y)
        seconds = time.perf_counter() - start
        print(f"1 epoch in {seconds:.0f} s; training loss {clf.loss_:.4f}")
        print(
            f"peak anonymous memory: {peak.peak_anon:.0f} MiB "
            f"({peak.peak_anon - anon_before:.0f} MiB more than before fit)"
        )
        print(
            f"peak file-backed resident pages (memmap and libraries): "
            f"{peak.peak_file:.0f} MiB"
        )
        print(
            f"peak resident memory in all: {peak.peak_total:.0f} MiB, "
            f"{peak.peak_total / file_mib:.2f} of the {file_mib:.0f} MiB file"
        )
        del X
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
