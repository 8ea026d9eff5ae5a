"""Reader for the Amazon books sentiment corpus (multi-domain sentiment data, processed form).

Each line of ``positive.review`` / ``negative.review`` (plain or gzipped, ``.review.gz``;
the repository ships them gzipped in ``data/``) is one review written as
``feature:count`` pairs (unigrams and bigrams) and ends with ``#label#:positive`` or
``#label#:negative``. Features seen fewer than ``min_count`` times in the whole corpus
are dropped (13,989 features remain at the default of 5). The first 800 reviews of each
file are the training set and the last 200 the test set (1600 / 400). Within each split
the two classes are interleaved by a permutation drawn from ``order_seed``: read in file
order, every early batch would hold one class only and SGD would not learn.
"""
from array import array

import numpy as np
import scipy.sparse

from ..paths import CorruptDataError, read_data_file, require_data_file, text_lines
from .base import LabData

CLASSES = ("negative", "positive")  # class index 0 and 1
TRAIN_PER_CLASS = 800
WHAT = "Amazon books corpus"
HOW_TO_GET = (
    "The Amazon books reviews are the 'processed_acl' part of the Multi-Domain Sentiment "
    "Dataset (Blitzer et al., 2007); the repository ships them in data/sentiment/books (see data/README.md)."
)


class _Entries:
    """One entry ``(review, feature, count)`` per ``feature:count`` pair, kept in flat arrays.

    Features are numbered by first appearance (``names[feature]``); no Python object per
    pair outlives its line, which keeps the reader fast and its memory small.
    """

    def __init__(self):
        self.feature_of_name = {}
        self.features, self.counts = array("q"), array("q")
        self.pairs_per_review = array("q")
        self.reviews_per_file = []

    def read(self, path, lines, label_name):
        """Add the reviews of one file; ``lines`` are its text lines, ``path`` names it in errors."""
        feature_of_name = self.feature_of_name
        label_pair = f"#label#:{label_name}"
        num_reviews = 0
        number = 0
        try:
            for number, line in enumerate(lines, start=1):
                pairs = line.split()
                if not pairs:
                    continue
                if pairs.pop() != label_pair:  # the last pair is the #label#
                    raise ValueError(f"the last pair must be {label_pair}")
                split_pairs = [pair.rpartition(":") for pair in pairs]
                self.features.extend([feature_of_name.setdefault(name, len(feature_of_name))
                                      for name, _, _ in split_pairs])
                self.counts.extend([int(count) for _, _, count in split_pairs])
                self.pairs_per_review.append(len(pairs))
                num_reviews += 1
        except ValueError as error:
            raise CorruptDataError(
                f"{path}:{number}: malformed review ({error}); every line must be 'feature:count' "
                f"pairs, then {label_pair}"
            ) from None
        self.reviews_per_file.append(num_reviews)

    def arrays(self):
        """``(review, feature, count, names)``; a name written twice in one review keeps
        its last count, as a ``{name: count}`` dict of the review would."""
        names = list(self.feature_of_name)
        self.feature_of_name = None
        feature = np.frombuffer(self.features, dtype=np.int64)
        count = np.frombuffer(self.counts, dtype=np.int64)
        review = np.repeat(np.arange(len(self.pairs_per_review)), self.pairs_per_review)
        keep = _last_of_each_key(review * len(names) + feature)
        return review[keep], feature[keep], count[keep], names


def _last_of_each_key(keys):
    """Positions, in order, of the last occurrence of every distinct key (a slice if none repeats)."""
    if not (np.diff(np.sort(keys)) == 0).any():
        return slice(None)
    _, first_from_end = np.unique(keys[::-1], return_index=True)
    return np.sort(keys.size - 1 - first_from_end)


def books_files(data_dir=None):
    """Paths of the review files, one per class in ``CLASSES`` order (``.review`` or ``.review.gz``).

    ``data_dir`` overrides the data directory setting (see ``backprop_labs.paths``);
    a missing file raises ``MissingDataError`` naming the path tried.
    """
    return [require_data_file(_relative_path(label_name), WHAT, HOW_TO_GET, data_dir) for label_name in CLASSES]


def _relative_path(label_name):
    return f"sentiment/books/{label_name}.review"


def read_books_file(label_name, data_dir=None):
    """``(path, lines)`` of one class's review file, checked and decompressed (see
    ``backprop_labs.paths.read_data_file``)."""
    path, content = read_data_file(_relative_path(label_name), WHAT, HOW_TO_GET, data_dir)
    return path, text_lines(content)


def load_amazon_books(data_dir=None, min_count=5, order_seed=0):
    """The books corpus as :class:`LabData` with sparse float32 features.

    ``data_dir`` overrides the data directory setting (see ``backprop_labs.paths``). The
    files may be plain or gzipped. A missing file raises ``MissingDataError`` naming the path
    tried; a file whose checksum does not match the data directory's ``SHA256SUMS``, a damaged
    gzip stream or a malformed line raises ``CorruptDataError`` (a ``MissingDataError`` too)
    naming the file and what is wrong.
    """
    corpus = _Entries()
    for label_name in CLASSES:
        corpus.read(*read_books_file(label_name, data_dir), label_name)
    review, feature, count, names = corpus.arrays()

    # Keep the features seen min_count times in the corpus; columns follow sorted names.
    totals = np.bincount(feature, weights=count, minlength=len(names))
    kept = sorted(np.flatnonzero(totals >= min_count).tolist(), key=names.__getitem__)
    feature_names = [names[i] for i in kept]
    column_of_feature = np.full(len(names), -1, dtype=np.int64)
    column_of_feature[kept] = np.arange(len(kept))
    column = column_of_feature[feature]

    label_of_review = np.repeat(np.arange(len(CLASSES)), corpus.reviews_per_file)
    first_review_of_file = np.cumsum([0] + corpus.reviews_per_file[:-1])
    position_in_file = np.arange(label_of_review.size) - first_review_of_file[label_of_review]
    splits = {}
    for split in ("train", "test"):
        in_split = (position_in_file < TRAIN_PER_CLASS) == (split == "train")
        row_of_review = np.cumsum(in_split) - 1  # rows in file order, negative file first
        chosen = in_split[review] & (column >= 0)
        labels = label_of_review[in_split]
        matrix = scipy.sparse.csr_matrix(
            (count[chosen].astype(np.float32), (row_of_review[review[chosen]], column[chosen])),
            shape=(labels.size, len(feature_names)),
        )
        order = np.random.default_rng(order_seed).permutation(labels.size)
        splits[split] = (matrix[order], labels.astype(np.int64)[order])
    return LabData(splits, num_classes=len(CLASSES), feature_names=feature_names, name="amazon-books")
