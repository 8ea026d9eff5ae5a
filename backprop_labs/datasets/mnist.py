"""Reader for MNIST in its original IDX files, for users who have them (nothing is downloaded).

An IDX file is a big-endian array: two zero bytes, a type code (``0x08`` unsigned byte,
``0x09`` signed byte, ``0x0B`` int16, ``0x0C`` int32, ``0x0D`` float32, ``0x0E`` float64),
the number of dimensions, one uint32 size per dimension, then the values in C order.
MNIST's images are ``(N, 28, 28)`` unsigned bytes and its labels ``(N,)`` unsigned bytes.
Files may be gzipped (``name.gz``), as they are distributed.
"""
import gzip
from pathlib import Path

import numpy as np

from ..paths import data_directory, require_data_file
from .base import LabData

IDX_TYPES = {  # type code -> big-endian element type
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
MNIST_FILES = {  # split -> (images, labels), under <data dir>/mnist/
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
HOW_TO_GET = (
    "MNIST is not shipped with the labs. If you have the four IDX files (train-images-idx3-ubyte, "
    "train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, plain or gzipped "
    "with a .gz suffix), put them in <data dir>/mnist/."
)


class IdxFormatError(ValueError):
    """A file is not a well-formed IDX array."""


def read_idx(path):
    """The array stored in the IDX file ``path`` (gzipped if the name ends in ``.gz``).

    Returns a NumPy array in native byte order with the shape the header gives. Raises
    ``IdxFormatError`` naming the file when the header is malformed or the number of
    values does not match the shape.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            content = handle.read()
    except (OSError, EOFError) as error:  # gzip raises these for a corrupt or truncated archive
        raise IdxFormatError(f"{path}: cannot read the file: {error}") from None
    return parse_idx(content, source=str(path))


def parse_idx(content, source="<bytes>"):
    """The array encoded by the IDX bytes ``content``; see :func:`read_idx`."""
    if len(content) < 4:
        raise IdxFormatError(f"{source}: {len(content)} bytes is too short for an IDX header (4 bytes)")
    if content[0] != 0 or content[1] != 0:
        raise IdxFormatError(
            f"{source}: not an IDX file: the magic number must start with two zero bytes, "
            f"got {content[:4].hex()}"
        )
    type_code, num_dimensions = content[2], content[3]
    if type_code not in IDX_TYPES:
        known = ", ".join(f"0x{code:02X}" for code in IDX_TYPES)
        raise IdxFormatError(f"{source}: unknown IDX type code 0x{type_code:02X} (known: {known})")
    header_size = 4 + 4 * num_dimensions
    if len(content) < header_size:
        raise IdxFormatError(
            f"{source}: header announces {num_dimensions} dimensions but the file ends "
            f"after {len(content)} bytes"
        )
    shape = tuple(int(size) for size in np.frombuffer(content, ">u4", num_dimensions, offset=4))
    dtype = IDX_TYPES[type_code]
    expected_bytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual_bytes = len(content) - header_size
    if actual_bytes != expected_bytes:
        raise IdxFormatError(
            f"{source}: shape {shape} of {dtype.name} needs {expected_bytes} bytes of data, "
            f"the file has {actual_bytes}"
        )
    values = np.frombuffer(content, dtype, offset=header_size).reshape(shape)
    return values.astype(dtype.newbyteorder("="))


def _idx_path(name, data_dir):
    """``<data dir>/mnist/name``, or its gzipped version when only that exists."""
    gzipped = data_directory(data_dir) / "mnist" / f"{name}.gz"
    if gzipped.is_file() and not (data_directory(data_dir) / "mnist" / name).is_file():
        return gzipped
    return require_data_file(f"mnist/{name}", f"MNIST file {name}", HOW_TO_GET, data_dir)


def load_mnist(data_dir=None):
    """MNIST as :class:`LabData`: 784 pixel intensities scaled to [0, 1] (float32), 10 classes.

    The 60,000 training and 10,000 test images keep the files' order. A missing file raises
    ``MissingDataError``; malformed or mismatched files raise ``IdxFormatError``.
    """
    splits = {}
    for split, (images_name, labels_name) in MNIST_FILES.items():
        images_path, labels_path = _idx_path(images_name, data_dir), _idx_path(labels_name, data_dir)
        images, labels = read_idx(images_path), read_idx(labels_path)
        if images.ndim != 3 or labels.ndim != 1:
            raise IdxFormatError(
                f"{images_path} must hold images (N, rows, columns) and {labels_path} labels (N,); "
                f"got shapes {images.shape} and {labels.shape}"
            )
        if images.shape[0] != labels.shape[0]:
            raise IdxFormatError(
                f"{images_path} has {images.shape[0]} images but {labels_path} has {labels.shape[0]} labels"
            )
        if labels.size and (labels.min() < 0 or labels.max() > 9):
            raise IdxFormatError(f"{labels_path}: labels must be digits 0-9, got {labels.min()}..{labels.max()}")
        if images.dtype != np.uint8:
            raise IdxFormatError(f"{images_path}: MNIST pixels are unsigned bytes, got {images.dtype}")
        features = images.reshape(images.shape[0], -1).astype(np.float32) / 255.0
        splits[split] = (features, labels.astype(np.int64))
    if splits["train"][0].shape[1] != splits["test"][0].shape[1]:
        raise IdxFormatError(
            f"train images have {splits['train'][0].shape[1]} pixels but test images "
            f"{splits['test'][0].shape[1]}"
        )
    return LabData(splits, num_classes=10, name="mnist")
