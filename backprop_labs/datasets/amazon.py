"""Reader for the Amazon books sentiment corpus (multi-domain sentiment data, processed form).

Each line of ``positive.review`` / ``negative.review`` is one review written as
``feature:count`` pairs (unigrams and bigrams) and ends with ``#label#:positive`` or
``#label#:negative``. Features seen fewer than ``min_count`` times in the whole corpus
are dropped (13,989 features remain at the default of 5). The first 800 reviews of each
file are the training set and the last 200 the test set (1600 / 400). Within each split
the two classes are interleaved by a permutation drawn from ``order_seed``: read in file
order, every early batch would hold one class only and SGD would not learn.
"""
from collections import Counter

import numpy as np
import scipy.sparse

from ..paths import require_data_file
from .base import LabData

CLASSES = ("negative", "positive")  # class index 0 and 1
TRAIN_PER_CLASS = 800
HOW_TO_GET = (
    "The Amazon books reviews are the 'processed_acl' part of the Multi-Domain Sentiment "
    "Dataset (Blitzer et al., 2007); course machines have them in shared/data/sentiment/books."
)


def _read_reviews(path):
    reviews = []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            pairs = line.split()
            if not pairs:
                continue
            review = {}
            for pair in pairs[:-1]:  # the last pair is the #label#
                name, _, count = pair.rpartition(":")
                review[name] = int(count)
            reviews.append(review)
    return reviews


def load_amazon_books(data_dir=None, min_count=5, order_seed=0):
    """The books corpus as :class:`LabData` with sparse float32 features.

    ``data_dir`` overrides the data directory setting (see ``backprop_labs.paths``);
    a missing file raises ``MissingDataError`` naming the path tried.
    """
    reviews_by_class = []
    for label_name in CLASSES:
        path = require_data_file(
            f"sentiment/books/{label_name}.review", "Amazon books corpus", HOW_TO_GET, data_dir
        )
        reviews_by_class.append(_read_reviews(path))

    totals = Counter()
    for reviews in reviews_by_class:
        for review in reviews:
            totals.update(review)
    feature_names = sorted(name for name, total in totals.items() if total >= min_count)
    column_of = {name: column for column, name in enumerate(feature_names)}

    splits = {}
    for split in ("train", "test"):
        rows, columns, values, labels = [], [], [], []
        for label, reviews in enumerate(reviews_by_class):
            chosen = reviews[:TRAIN_PER_CLASS] if split == "train" else reviews[TRAIN_PER_CLASS:]
            for review in chosen:
                kept = [(column_of[name], count) for name, count in review.items() if name in column_of]
                rows.extend([len(labels)] * len(kept))
                columns.extend(column for column, _ in kept)
                values.extend(count for _, count in kept)
                labels.append(label)
        matrix = scipy.sparse.csr_matrix(
            (np.asarray(values, dtype=np.float32), (rows, columns)),
            shape=(len(labels), len(feature_names)),
        )
        order = np.random.default_rng(order_seed).permutation(len(labels))
        splits[split] = (matrix[order], np.asarray(labels, dtype=np.int64)[order])
    return LabData(splits, num_classes=len(CLASSES), feature_names=feature_names, name="amazon-books")
