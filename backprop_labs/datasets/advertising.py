"""Reader for the Advertising data: TV, radio and newspaper budgets and the sales they bring.

The file ``advertising/advertising.csv`` (in the data directory, see ``backprop_labs.paths``;
plain, or gzipped as ``advertising.csv.gz``) has a header ``,TV,radio,newspaper,sales``: an
unnamed row index, then four numeric columns, one row per market (200 rows). It is a regression set, so it is not a :class:`LabData`:
the reader returns float64 arrays, because least squares on float32 budgets would lose the
digits the lab compares against.
"""
import csv
from dataclasses import dataclass

import numpy as np

from ..paths import CorruptDataError, read_data_file, text_lines

RELATIVE_PATH = "advertising/advertising.csv"
FEATURE_NAMES = ("TV", "radio", "newspaper")
TARGET_NAME = "sales"
HOW_TO_GET = (
    "The Advertising data (200 markets: TV, radio, newspaper budgets and sales) accompanies "
    "'An Introduction to Statistical Learning'; the repository ships it in data/advertising (see data/README.md)."
)


@dataclass(frozen=True)
class AdvertisingData:
    """``features`` (N, 3) float64 budgets in ``feature_names`` order; ``sales`` (N,) float64."""

    features: np.ndarray
    sales: np.ndarray
    feature_names: tuple = FEATURE_NAMES


def load_advertising(data_dir=None):
    """The Advertising data as :class:`AdvertisingData`.

    ``data_dir`` overrides the data directory setting; a missing file raises
    ``MissingDataError`` naming the path tried. A checksum mismatch (see
    ``backprop_labs.paths``), a damaged gzip stream, a file without the expected columns or
    with a non-numeric entry raises ``CorruptDataError`` (a ``MissingDataError`` and a
    ``ValueError``) naming the file, and the line when one is at fault.
    """
    path, content = read_data_file(RELATIVE_PATH, "Advertising data", HOW_TO_GET, data_dir)
    columns = FEATURE_NAMES + (TARGET_NAME,)
    rows = []
    reader = csv.DictReader(text_lines(content, newline=""))
    missing = [name for name in columns if name not in (reader.fieldnames or [])]
    if missing:
        raise CorruptDataError(f"{path}: header {reader.fieldnames} lacks the column(s) {missing}")
    for row in reader:
        try:
            rows.append([float(row[name]) for name in columns])
        except (TypeError, ValueError):
            raise CorruptDataError(
                f"{path}:{reader.line_num}: expected numbers in {list(columns)}, got {row}"
            ) from None
    if not rows:
        raise CorruptDataError(f"{path}: no data rows after the header")
    table = np.asarray(rows, dtype=np.float64)
    return AdvertisingData(features=table[:, :-1], sales=table[:, -1])
