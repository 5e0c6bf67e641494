"""Offline loaders, on small files written here in the exact formats."""

import gzip
import pickle

import numpy as np
import pytest

import sklmlp.datasets as datasets
from sklmlp.datasets import (
    load_cifar10,
    load_data_file,
    load_dataset,
    load_digits,
    load_fashion_mnist,
)


def _idx_bytes(array):
    """The IDX encoding of a uint8 array: magic, big-endian dims, the bytes."""
    header = bytes([0, 0, 0x08, array.ndim])
    header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def _write_fashion_mnist(folder, n_train=12, n_test=5, seed=0):
    rng = np.random.RandomState(seed)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.randint(0, 256, size=(n_train, 28, 28)),
        "train-labels-idx1-ubyte.gz": rng.randint(0, 10, size=n_train),
        "t10k-images-idx3-ubyte.gz": rng.randint(0, 256, size=(n_test, 28, 28)),
        "t10k-labels-idx1-ubyte.gz": rng.randint(0, 10, size=n_test),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in arrays.items():
        with gzip.open(folder / name, "wb") as f:
            f.write(_idx_bytes(array))
    return arrays


@pytest.fixture
def no_default_data(monkeypatch, tmp_path):
    """No $SKLMLP_DATA and an empty stand-in for Debian's folder."""
    monkeypatch.delenv("SKLMLP_DATA", raising=False)
    monkeypatch.setattr(datasets, "DEBIAN_FASHION_MNIST", tmp_path / "debian")


def test_fashion_mnist_from_data_home(tmp_path, no_default_data):
    arrays = _write_fashion_mnist(tmp_path)
    data = load_fashion_mnist(tmp_path)
    assert data.X_train.shape == (12, 784) and data.X_test.shape == (5, 784)
    assert data.X_train.dtype == np.float32 and data.y_train.dtype == np.int64
    np.testing.assert_array_equal(
        data.X_train[3], arrays["train-images-idx3-ubyte.gz"][3].ravel()
    )
    np.testing.assert_array_equal(data.y_test, arrays["t10k-labels-idx1-ubyte.gz"])
    assert data.target_names[9] == "Ankle boot"
    X_train, X_test, y_train, y_test = load_fashion_mnist(tmp_path, return_X_y=True)
    np.testing.assert_array_equal(X_test, data.X_test)


def test_fashion_mnist_search_order(tmp_path, monkeypatch, no_default_data):
    env, debian = tmp_path / "env", tmp_path / "debian"
    _write_fashion_mnist(debian, n_train=3)
    assert load_fashion_mnist().X_train.shape[0] == 3
    _write_fashion_mnist(env, n_train=4)
    monkeypatch.setenv("SKLMLP_DATA", str(env))
    assert load_fashion_mnist().X_train.shape[0] == 4
    _write_fashion_mnist(tmp_path / "home", n_train=5)
    assert load_fashion_mnist(tmp_path / "home").X_train.shape[0] == 5


def test_fashion_mnist_missing_names_the_files_and_the_package(
    tmp_path, no_default_data
):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte.gz") as info:
        load_fashion_mnist(tmp_path)
    assert "apt-get install dataset-fashion-mnist" in str(info.value)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda raw: raw[: len(raw) // 2], "truncated or not a gzip file"),
        (lambda raw: b"not gzip at all", "truncated or not a gzip file"),
    ],
    ids=["truncated-gzip", "not-gzip"],
)
def test_fashion_mnist_damaged_gzip(tmp_path, no_default_data, damage, message):
    _write_fashion_mnist(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(ValueError, match=message) as info:
        load_fashion_mnist(tmp_path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\x00\x00\x0d\x03" + bytes(12), "bad magic number"),
        (_idx_bytes(np.zeros((12, 28, 28)))[:-10], "truncated or corrupt"),
        (b"\x00\x00\x08\x03\x00", "truncated inside its header"),
    ],
    ids=["float-idx", "short-data", "short-header"],
)
def test_fashion_mnist_corrupt_idx(tmp_path, no_default_data, content, message):
    _write_fashion_mnist(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    with gzip.open(path, "wb") as f:
        f.write(content)
    with pytest.raises(ValueError, match=message) as info:
        load_fashion_mnist(tmp_path)
    assert str(path) in str(info.value)


def test_fashion_mnist_label_count_mismatch(tmp_path, no_default_data):
    _write_fashion_mnist(tmp_path)
    with gzip.open(tmp_path / "train-labels-idx1-ubyte.gz", "wb") as f:
        f.write(_idx_bytes(np.zeros(7)))
    with pytest.raises(ValueError, match="train files .* disagree"):
        load_fashion_mnist(tmp_path)


@pytest.mark.skipif(
    not datasets.DEBIAN_FASHION_MNIST.is_dir(),
    reason="needs Debian's dataset-fashion-mnist package (apt-get install "
    "dataset-fashion-mnist); the loader is tested on small files above",
)
def test_real_fashion_mnist_from_the_debian_package(monkeypatch):
    monkeypatch.delenv("SKLMLP_DATA", raising=False)
    data = load_fashion_mnist()
    assert data.X_train.shape == (60000, 784) and data.X_test.shape == (10000, 784)
    assert np.bincount(data.y_train).tolist() == [6000] * 10
    assert data.X_train.max() == 255


def _write_cifar(folder, n=6, seed=0, protocol=2):
    rng = np.random.RandomState(seed)
    folder.mkdir(parents=True, exist_ok=True)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {
            b"batch_label": name.encode(),
            b"labels": rng.randint(0, 10, size=n).tolist(),
            b"data": rng.randint(0, 256, size=(n, 3072)).astype(np.uint8),
            b"filenames": [f"img_{i}.png".encode() for i in range(n)],
        }
        (folder / name).write_bytes(pickle.dumps(batch, protocol=protocol))
        batches[name] = batch
    return batches


@pytest.mark.parametrize("nested", [False, True], ids=["folder", "parent-folder"])
def test_cifar10(tmp_path, nested):
    folder = tmp_path / "cifar-10-batches-py" if nested else tmp_path
    batches = _write_cifar(folder)
    data = load_cifar10(tmp_path)
    assert data.X_train.shape == (30, 3072) and data.X_test.shape == (6, 3072)
    assert data.X_train.dtype == np.float32 and data.y_train.dtype == np.int64
    np.testing.assert_array_equal(data.X_train[6:12], batches["data_batch_2"][b"data"])
    np.testing.assert_array_equal(data.y_test, batches["test_batch"][b"labels"])
    assert data.target_names[0] == "airplane"
    assert len(load_cifar10(tmp_path, return_X_y=True)) == 4


def test_cifar10_missing_batch(tmp_path):
    _write_cifar(tmp_path)
    (tmp_path / "data_batch_3").unlink()
    with pytest.raises(FileNotFoundError, match="data_batch_3") as info:
        load_cifar10(tmp_path)
    assert "cifar-10-python.tar.gz" in str(info.value)


def test_cifar10_truncated_batch(tmp_path):
    _write_cifar(tmp_path)
    path = tmp_path / "test_batch"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match="test_batch is truncated or not a CIFAR"):
        load_cifar10(tmp_path)


def test_cifar10_refuses_code_in_a_pickle(tmp_path):
    _write_cifar(tmp_path)

    class Evil:
        def __reduce__(self):
            return (print, ("this must not run",))

    (tmp_path / "data_batch_1").write_bytes(pickle.dumps({b"data": Evil()}))
    with pytest.raises(ValueError, match="refusing to load builtins.print"):
        load_cifar10(tmp_path)


def test_cifar10_wrong_shape(tmp_path):
    _write_cifar(tmp_path)
    batch = {b"data": np.zeros((4, 100), dtype=np.uint8), b"labels": [0] * 4}
    (tmp_path / "data_batch_5").write_bytes(pickle.dumps(batch, protocol=2))
    with pytest.raises(
        ValueError, match=r"data_batch_5 holds data of shape \(4, 100\)"
    ):
        load_cifar10(tmp_path)


def test_digits_split():
    data = load_digits()
    assert data.X_train.shape == (1347, 64) and data.X_test.shape == (450, 64)
    assert np.bincount(data.y_test).min() >= 43  # stratified (smallest class: 174)


def test_npz_and_csv_files(tmp_path):
    rng = np.random.RandomState(0)
    X, y = rng.rand(40, 3).astype(np.float32), np.repeat([0, 1], 20)
    np.savez(tmp_path / "xy.npz", X=X, y=y)
    data = load_data_file(tmp_path / "xy.npz")
    assert data.X_train.shape == (30, 3) and data.X_train.dtype == np.float32

    np.savez(tmp_path / "split.npz", X_train=X, y_train=y, X_test=X[:5], y_test=y[:5])
    assert load_dataset(str(tmp_path / "split.npz")).X_test.shape == (5, 3)

    lines = ["a,b,c,label"] + [
        ",".join(f"{v:.4f}" for v in row) + f",{'cat' if label else 'dog'}"
        for row, label in zip(X, y, strict=True)
    ]
    (tmp_path / "data.csv").write_text("\n".join(lines) + "\n")
    data = load_data_file(tmp_path / "data.csv")
    assert data.X_train.shape == (30, 3) and set(data.y_train) == {"cat", "dog"}


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("bad.npz", b"garbage", "not a readable .npz"),
        ("bad.csv", b"1,2,x\n3,4\n", "rows of different lengths"),
        ("bad.csv", b"1,zz,0\n3,4,1\n", "non-numeric feature"),
        ("bad.txt", b"1,2", "unknown data file type"),
    ],
)
def test_bad_data_files(tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(ValueError, match=message):
        load_data_file(tmp_path / name)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_data_file(tmp_path / "missing.npz")


def test_an_unknown_data_set_name_lists_the_choices():
    with pytest.raises(ValueError, match="unknown data set 'mnist': use one of digits"):
        load_dataset("mnist")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_dataset("missing.npz")
