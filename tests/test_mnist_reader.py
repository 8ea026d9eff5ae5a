"""MNIST IDX reader, on small IDX files written by the tests (nothing is downloaded)."""
import gzip
import struct

import numpy as np
import pytest

from backprop_labs.datasets import IdxFormatError, load_mnist, read_idx
from backprop_labs.datasets.mnist import MNIST_FILES
from backprop_labs.paths import MissingDataError

TYPE_CODES = {np.dtype("uint8"): 0x08, np.dtype("int8"): 0x09, np.dtype("int16"): 0x0B,
              np.dtype("int32"): 0x0C, np.dtype("float32"): 0x0D, np.dtype("float64"): 0x0E}


def idx_bytes(array):
    """The IDX encoding of ``array``, written independently of the reader."""
    header = struct.pack(">BBBB", 0, 0, TYPE_CODES[array.dtype], array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path, array, gzipped=False):
    content = idx_bytes(array)
    if gzipped:
        path = path.with_name(path.name + ".gz")
        content = gzip.compress(content)
    path.write_bytes(content)
    return path


def write_mnist(directory, sizes=(6, 4), gzipped=False, rng=None):
    """Tiny MNIST-shaped files: (N, 28, 28) uint8 images and (N,) labels per split."""
    rng = rng or np.random.default_rng(0)
    (directory / "mnist").mkdir(parents=True, exist_ok=True)
    arrays = {}
    for (split, (images_name, labels_name)), size in zip(MNIST_FILES.items(), sizes):
        images = rng.integers(0, 256, size=(size, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=size, dtype=np.uint8)
        write_idx(directory / "mnist" / images_name, images, gzipped)
        write_idx(directory / "mnist" / labels_name, labels, gzipped)
        arrays[split] = (images, labels)
    return arrays


@pytest.mark.parametrize("dtype", sorted(TYPE_CODES, key=str))
def test_read_idx_round_trips_every_type(tmp_path, dtype):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    result = read_idx(write_idx(tmp_path / "array-idx", array))
    assert result.dtype == dtype and result.dtype.isnative
    np.testing.assert_array_equal(result, array)


def test_read_idx_reads_gzipped_files(tmp_path):
    array = np.array([[1, 2, 3], [400, -5, 6]], dtype=np.int16)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "array-idx", array, gzipped=True)), array)


@pytest.mark.parametrize("gzipped", [False, True])
def test_load_mnist_gives_lab_data(tmp_path, gzipped):
    arrays = write_mnist(tmp_path, gzipped=gzipped)
    data = load_mnist(tmp_path)
    assert data.num_features == 784 and data.num_classes == 10
    assert (data.size("train"), data.size("test")) == (6, 4)
    batch = data.batches("train")[0]
    assert batch["input"].dtype == np.float32 and batch["output"].dtype == np.int64
    images, labels = arrays["train"]
    np.testing.assert_allclose(batch["input"], images.reshape(6, 784) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(batch["output"], labels)


@pytest.mark.parametrize("content, complaint", [
    (b"\x00\x00", "too short"),
    (b"\x01\x00\x08\x01" + struct.pack(">I", 1) + b"\x00", "two zero bytes"),
    (b"\x00\x00\x07\x01" + struct.pack(">I", 1) + b"\x00", "unknown IDX type code 0x07"),
    (b"\x00\x00\x08\x03" + struct.pack(">I", 2), "announces 3 dimensions"),
    (b"\x00\x00\x08\x01" + struct.pack(">I", 5) + b"\x00\x01", r"needs 5 bytes of data, the file has 2"),
    (b"\x00\x00\x0b\x01" + struct.pack(">I", 1) + b"\x00\x01\x02", r"needs 2 bytes of data, the file has 3"),
])
def test_malformed_idx_is_named_with_the_problem(tmp_path, content, complaint):
    path = tmp_path / "broken-idx1-ubyte"
    path.write_bytes(content)
    with pytest.raises(IdxFormatError, match=complaint) as caught:
        read_idx(path)
    assert str(path) in str(caught.value)


def test_corrupt_gzip_is_an_idx_format_error(tmp_path):
    path = tmp_path / "broken-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.arange(100, dtype=np.uint8)))[:-12])  # truncated archive
    with pytest.raises(IdxFormatError, match="cannot read"):
        read_idx(path)


def test_images_and_labels_of_different_lengths_are_refused(tmp_path):
    write_mnist(tmp_path)
    write_idx(tmp_path / "mnist" / "t10k-labels-idx1-ubyte", np.zeros(3, dtype=np.uint8))
    with pytest.raises(IdxFormatError, match="4 images but .* 3 labels"):
        load_mnist(tmp_path)


def test_labels_outside_0_to_9_are_refused(tmp_path):
    write_mnist(tmp_path)
    write_idx(tmp_path / "mnist" / "train-labels-idx1-ubyte", np.array([0, 1, 2, 3, 4, 12], dtype=np.uint8))
    with pytest.raises(IdxFormatError, match="digits 0-9"):
        load_mnist(tmp_path)


def test_missing_files_name_the_path(tmp_path):
    with pytest.raises(MissingDataError) as caught:
        load_mnist(tmp_path)
    assert str(tmp_path / "mnist" / "train-images-idx3-ubyte") in str(caught.value)
    assert ".gz" in str(caught.value)
