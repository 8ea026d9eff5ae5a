"""Shared fixtures: the data sets, loaded once per test session."""
import os

import pytest

from backprop_labs.paths import MissingDataError


@pytest.fixture(scope="session")
def books():
    """The Amazon books corpus. Missing data skips locally but fails under CI,
    where BACKPROP_LABS_DATA must point at the shared data."""
    from backprop_labs.datasets import load_amazon_books

    try:
        return load_amazon_books()
    except MissingDataError as error:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run with the books corpus: {error}")
        pytest.skip(str(error))


@pytest.fixture(scope="session")
def digits():
    """The 8x8 digits shipped with scikit-learn (no download)."""
    from backprop_labs.datasets import load_digits_data

    return load_digits_data()
