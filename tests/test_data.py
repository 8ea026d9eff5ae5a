"""Data readers: the books corpus (real data), the embedded digits, and missing-data messages."""
import numpy as np
import pytest

from backprop_labs.datasets import load_amazon_books
from backprop_labs.paths import DATA_DIR_VARIABLE, MissingDataError


@pytest.mark.corpus
def test_books_corpus_has_the_labs_shape(books):
    assert books.num_features == 13989
    assert (books.size("train"), books.size("test")) == (1600, 400)
    for split in ("train", "test"):
        labels = books.splits[split][1]
        assert np.bincount(labels).tolist() == [len(labels) // 2] * 2


@pytest.mark.corpus
def test_books_batches_are_dense_float32_and_cover_the_split(books):
    batches = books.batches("train", batch_size=30)
    assert len(batches) == 54  # 53 full batches and one of 10
    assert batches[0]["input"].shape == (30, 13989) and batches[0]["input"].dtype == np.float32
    assert batches[-1]["input"].shape == (10, 13989)
    labels = np.concatenate([batch["output"] for batch in batches])
    np.testing.assert_array_equal(labels, books.splits["train"][1])
    # Unshuffled batches mix both classes: SGD in file order would see one class at a time.
    assert 0 < batches[0]["output"].mean() < 1


@pytest.mark.corpus
def test_shuffled_batches_are_a_seeded_permutation(books):
    first = books.batches("train", batch_size=400, shuffle=True, seed=7)
    again = books.batches("train", batch_size=400, shuffle=True, seed=7)
    other = books.batches("train", batch_size=400, shuffle=True, seed=8)
    np.testing.assert_array_equal(first[0]["input"], again[0]["input"])
    assert not np.array_equal(first[0]["output"], other[0]["output"])
    sums = sorted(float(batch["input"].sum()) for batch in first)
    expected = sorted(float(batch["input"].sum()) for batch in books.batches("train", 400))
    assert sum(sums) == pytest.approx(sum(expected), rel=1e-6)


def test_missing_corpus_names_the_path_and_the_setting(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_DIR_VARIABLE, str(tmp_path))
    with pytest.raises(MissingDataError) as caught:
        load_amazon_books()
    message = str(caught.value)
    assert str(tmp_path / "sentiment" / "books" / "negative.review") in message
    assert DATA_DIR_VARIABLE in message and "--data-dir" in message


def test_data_dir_argument_wins_over_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_DIR_VARIABLE, "/nonexistent/from-environment")
    with pytest.raises(MissingDataError, match=str(tmp_path)):
        load_amazon_books(data_dir=tmp_path)


def test_digits_need_no_download_and_split_reproducibly(digits):
    from backprop_labs.datasets import load_digits_data

    assert digits.num_features == 64 and digits.num_classes == 10
    assert digits.size("train") + digits.size("test") == 1797
    again = load_digits_data()
    np.testing.assert_array_equal(digits.splits["test"][1], again.splits["test"][1])
    batch = digits.batches("train", batch_size=16)[0]["input"]
    assert batch.dtype == np.float32 and 0.0 <= batch.min() and batch.max() <= 1.0
