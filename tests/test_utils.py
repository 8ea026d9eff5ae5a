"""Numerical utilities: logsumexp on every axis/keepdims combination, one-hot, Glorot."""
import itertools

import numpy as np
import pytest
import scipy.special

from backprop_labs.utils import glorot_weight_init, index2onehot, logsumexp

AXES = [None, 0, 1, 2, -1, -2, (0, 2), (1, 2), (0, 1, 2)]


@pytest.mark.parametrize("axis, keepdims", list(itertools.product(AXES, [False, True])))
def test_logsumexp_matches_scipy_on_every_axis(axis, keepdims):
    values = np.random.default_rng(0).normal(scale=30.0, size=(3, 4, 5))
    expected = scipy.special.logsumexp(values, axis=axis, keepdims=keepdims)
    result = logsumexp(values, axis=axis, keepdims=keepdims)
    assert np.shape(result) == np.shape(expected)
    np.testing.assert_allclose(result, expected, rtol=1e-12, atol=0)


def test_logsumexp_is_stable_for_huge_and_minus_infinite_entries():
    values = np.array([[1000.0, 1000.0], [-np.inf, -np.inf], [-1000.0, -np.inf]])
    result = logsumexp(values, axis=1)
    np.testing.assert_allclose(result[[0, 2]], [1000.0 + np.log(2.0), -1000.0], rtol=1e-12)
    assert result[1] == -np.inf


def test_index2onehot_puts_one_one_per_row():
    onehot = index2onehot(np.array([2, 0, 1, 2]), 3)
    np.testing.assert_array_equal(onehot, np.eye(3)[[2, 0, 1, 2]])


def test_index2onehot_takes_the_dtype_asked_for():
    assert index2onehot(np.array([1, 0]), 2).dtype == np.float64
    onehot = index2onehot(np.array([1, 0]), 2, dtype=np.float32)
    assert onehot.dtype == np.float32 and onehot.tolist() == [[0, 1], [1, 0]]


def test_index2onehot_rejects_out_of_range_classes():
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        index2onehot(np.array([0, 3]), 3)


def test_glorot_is_seeded_bounded_and_sigmoid_wider():
    first = glorot_weight_init((20, 50), "tanh", seed=3)
    again = glorot_weight_init((20, 50), "tanh", seed=3)
    sigmoid = glorot_weight_init((20, 50), "sigmoid", seed=3)
    bound = np.sqrt(6.0 / 70)
    np.testing.assert_array_equal(first, again)
    assert first.shape == (20, 50)
    assert np.abs(first).max() <= bound and np.abs(first).max() > 0.9 * bound
    np.testing.assert_allclose(sigmoid, 4 * first, rtol=1e-12)
