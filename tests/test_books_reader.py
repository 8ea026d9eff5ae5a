"""The books reader's rules on a hand-made corpus: what a review counts, which features stay."""
import numpy as np

from backprop_labs.datasets import load_amazon_books


def write_corpus(directory, negative_lines, positive_lines):
    books = directory / "sentiment" / "books"
    books.mkdir(parents=True)
    (books / "negative.review").write_text("\n".join(negative_lines) + "\n", encoding="utf-8")
    (books / "positive.review").write_text("\n".join(positive_lines) + "\n", encoding="utf-8")


def test_reader_keeps_frequent_features_in_name_order_and_the_last_count_of_a_repeat(tmp_path):
    write_corpus(
        tmp_path,
        ["y:1 x:1 y:2 #label#:negative",  # y repeated: its last count (2) is the review's
         "",                              # blank lines are not reviews
         "x:2 w:1 #label#:negative"],
        ["z:5 a:b:2 #label#:positive",     # the count follows the LAST colon: feature 'a:b'
         "#label#:positive"],              # a review with no features
    )
    data = load_amazon_books(tmp_path, min_count=3)
    # Totals: x 3, y 2 (not 3), z 5, a:b 2, w 1: only x and z reach 3.
    assert data.feature_names == ["x", "z"]
    features, labels = data.splits["train"]
    assert features.dtype == np.float32 and data.size("test") == 0
    rows = sorted(zip(labels.tolist(), map(tuple, features.toarray().tolist())))
    assert rows == [(0, (1.0, 0.0)), (0, (2.0, 0.0)), (1, (0.0, 0.0)), (1, (0.0, 5.0))]


def test_reader_keeps_every_feature_at_min_count_one(tmp_path):
    write_corpus(tmp_path, ["b:1 a:2 #label#:negative"], ["c:1 b:1 #label#:positive"])
    data = load_amazon_books(tmp_path, min_count=1)
    assert data.feature_names == ["a", "b", "c"]
    features, labels = data.splits["train"]
    dense = dict(zip(labels.tolist(), features.toarray().tolist()))
    assert dense == {0: [2.0, 1.0, 0.0], 1: [0.0, 1.0, 1.0]}
