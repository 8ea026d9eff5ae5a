"""Data readers: the books corpus (real data, shipped in data/), the embedded digits, plain and
gzipped files, checksums, and the messages for missing or corrupt data."""
import gzip
import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from grading.cli import main as cli_main
from backprop_labs.datasets import load_advertising, load_amazon_books
from backprop_labs.paths import DATA_DIR_VARIABLE, DEFAULT_DATA_DIR, CorruptDataError, MissingDataError, known_sums


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


# ---- The shipped data: plain or gzipped, checked against SHA256SUMS, clear errors -------------

# The files as published (data/README.md, "Provenance"): the shipped .gz files decompress to these.
ORIGINAL_SHA256 = {
    "sentiment/books/negative.review": "42e4d7e63f429e396de0db87b814f8c6a4b4948d34c94524725b0fe2944a0ff4",
    "sentiment/books/positive.review": "d27a35a59e99b2c2d56731cad8d63870f8a3b9063a70bf8c18862e0a107cdd02",
    "advertising/advertising.csv": "5d88819733db0d929716e9c8fa87f20fe1ec12a9ba2feb43ed7e69e585ace3ad",
}


def _sha256(content):
    return hashlib.sha256(content).hexdigest()


def test_shipped_files_match_their_sums_and_decompress_to_the_published_files():
    sums = known_sums(DEFAULT_DATA_DIR)
    assert sorted(sums) == ["advertising/advertising.csv", "sentiment/books/negative.review.gz",
                            "sentiment/books/positive.review.gz"]
    readme = (DEFAULT_DATA_DIR / "README.md").read_text(encoding="utf-8")
    for name, expected in sums.items():
        content = (DEFAULT_DATA_DIR / name).read_bytes()
        assert _sha256(content) == expected, name
        original_name = name.removesuffix(".gz")
        original = gzip.decompress(content) if name.endswith(".gz") else content
        assert _sha256(original) == ORIGINAL_SHA256[original_name], name
        assert expected in readme and ORIGINAL_SHA256[original_name] in readme, f"data/README.md lacks the sums of {name}"


def test_gzipped_files_are_reproducible_gzip_n_output():
    """gzip -n: no file name and a zero time stamp in the header, so the bytes depend on the content only."""
    for name in ("negative", "positive"):
        header = (DEFAULT_DATA_DIR / "sentiment" / "books" / f"{name}.review.gz").read_bytes()[:10]
        assert header[:3] == b"\x1f\x8b\x08"
        assert header[3] & 0x08 == 0, f"{name}.review.gz stores a file name"
        assert header[4:8] == b"\0\0\0\0", f"{name}.review.gz stores a time stamp"


def _tiny_corpus(directory, compress):
    books = directory / "sentiment" / "books"
    books.mkdir(parents=True)
    lines = {"negative": "bad:2 dull:1 #label#:negative\nbad:1 long:1 #label#:negative\n",
             "positive": "good:2 long:1 #label#:positive\ngood:1 fun:1 #label#:positive\n"}
    for label, text in lines.items():
        if compress:
            (books / f"{label}.review.gz").write_bytes(gzip.compress(text.encode(), mtime=0))
        else:
            (books / f"{label}.review").write_text(text, encoding="utf-8")
    return directory


def test_plain_and_gzipped_corpus_read_the_same(tmp_path):
    plain = load_amazon_books(_tiny_corpus(tmp_path / "plain", compress=False), min_count=1)
    gzipped = load_amazon_books(_tiny_corpus(tmp_path / "gz", compress=True), min_count=1)
    assert plain.feature_names == gzipped.feature_names == ["bad", "dull", "fun", "good", "long"]
    for split in ("train", "test"):
        assert (plain.splits[split][0] != gzipped.splits[split][0]).nnz == 0
        np.testing.assert_array_equal(plain.splits[split][1], gzipped.splits[split][1])


def test_environment_directory_without_sums_loads_unchecked(tmp_path, monkeypatch):
    directory = _tiny_corpus(tmp_path, compress=True)
    assert not (directory / "SHA256SUMS").exists()
    monkeypatch.setenv(DATA_DIR_VARIABLE, str(directory))
    assert load_amazon_books(min_count=1).num_features == 5


def test_a_file_listed_in_sums_is_checked_and_one_not_listed_is_not(tmp_path):
    directory = _tiny_corpus(tmp_path, compress=True)
    negative = directory / "sentiment" / "books" / "negative.review.gz"
    (directory / "SHA256SUMS").write_text(f"{_sha256(negative.read_bytes())}  sentiment/books/negative.review.gz\n")
    assert load_amazon_books(directory, min_count=1).num_features == 5  # positive is not listed: read unchecked
    negative.write_bytes(gzip.compress(b"bad:3 #label#:negative\n", mtime=0))  # valid gzip, other content
    with pytest.raises(CorruptDataError) as caught:
        load_amazon_books(directory)
    message = str(caught.value)
    assert str(negative) in message and "checksum mismatch" in message and "SHA256SUMS" in message


def _copy_of_shipped_data(tmp_path):
    copy = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, copy)
    return copy


def test_a_changed_byte_in_a_shipped_file_is_a_checksum_mismatch(tmp_path):
    copy = _copy_of_shipped_data(tmp_path)
    csv_path = copy / "advertising" / "advertising.csv"
    csv_path.write_bytes(csv_path.read_bytes().replace(b"230.1", b"230.2", 1))  # still a valid CSV
    with pytest.raises(CorruptDataError, match="checksum mismatch") as caught:
        load_advertising(copy)
    assert str(csv_path) in str(caught.value)
    # Both error types callers already handle: a missing usable file, and bad content.
    assert isinstance(caught.value, MissingDataError) and isinstance(caught.value, ValueError)


def test_a_truncated_gzip_names_the_file(tmp_path):
    directory = _tiny_corpus(tmp_path, compress=True)
    negative = directory / "sentiment" / "books" / "negative.review.gz"
    negative.write_bytes(negative.read_bytes()[:-12])
    with pytest.raises(CorruptDataError, match="damaged gzip") as caught:
        load_amazon_books(directory)
    assert str(negative) in str(caught.value)


def test_a_truncated_shipped_gzip_is_caught_by_its_sum(tmp_path):
    copy = _copy_of_shipped_data(tmp_path)
    positive = copy / "sentiment" / "books" / "positive.review.gz"
    positive.write_bytes(positive.read_bytes()[: 100_000])
    with pytest.raises(CorruptDataError, match="checksum mismatch") as caught:
        load_amazon_books(copy)
    assert str(positive) in str(caught.value)


@pytest.mark.parametrize("line, problem", [
    ("bad:1 dull #label#:negative", "malformed review"),       # a pair without a count
    ("bad:1 dull:x #label#:negative", "malformed review"),     # a count that is not a number
    ("bad:1 dull:1", "the last pair must be #label#:negative"),  # no label
    ("bad:1 dull:1 #label#:positive", "the last pair must be #label#:negative"),  # the other file's label
])
def test_a_malformed_review_line_names_the_file_and_line(tmp_path, line, problem):
    directory = _tiny_corpus(tmp_path, compress=False)
    negative = directory / "sentiment" / "books" / "negative.review"
    negative.write_text("good:1 #label#:negative\n" + line + "\n", encoding="utf-8")
    with pytest.raises(CorruptDataError, match=problem) as caught:
        load_amazon_books(directory)
    assert f"{negative}:2:" in str(caught.value)


def test_a_malformed_sums_file_is_reported(tmp_path):
    directory = _tiny_corpus(tmp_path, compress=False)
    (directory / "SHA256SUMS").write_text("not a checksum line\n")
    with pytest.raises(CorruptDataError, match=r"SHA256SUMS:1: expected"):
        load_amazon_books(directory)


def test_missing_shipped_file_says_how_to_restore_it(tmp_path, monkeypatch):
    import backprop_labs.paths as paths

    monkeypatch.delenv(DATA_DIR_VARIABLE, raising=False)
    monkeypatch.setattr(paths, "DEFAULT_DATA_DIR", tmp_path)
    with pytest.raises(MissingDataError, match="git checkout -- data/") as caught:
        load_advertising()
    assert str(tmp_path / "advertising" / "advertising.csv") in str(caught.value)


def test_the_cli_reports_corrupt_data_like_missing_data(tmp_path, capsys):
    copy = _copy_of_shipped_data(tmp_path)
    negative = copy / "sentiment" / "books" / "negative.review.gz"
    negative.write_bytes(negative.read_bytes()[:-1])
    assert cli_main(["demo", "--data", "amazon", "--data-dir", str(copy)]) == 2
    out = capsys.readouterr().out
    assert str(negative) in out and "checksum mismatch" in out


def test_plain_file_wins_over_gzipped_one(tmp_path):
    directory = _tiny_corpus(tmp_path, compress=True)
    (directory / "sentiment" / "books" / "negative.review").write_text("only:1 #label#:negative\n")
    assert "only" in load_amazon_books(directory, min_count=1).feature_names


def test_default_directory_is_the_repository_data_folder(monkeypatch):
    from backprop_labs.paths import data_directory

    monkeypatch.delenv(DATA_DIR_VARIABLE, raising=False)
    assert data_directory() == Path(__file__).resolve().parent.parent / "data"
