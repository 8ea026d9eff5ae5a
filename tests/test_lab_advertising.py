"""Advertising lab: least squares reproduces the text's fit; gradient descent with the student's gradient reaches it."""

import numpy as np
import pytest

from backprop_labs.datasets import load_advertising
from backprop_labs.paths import DATA_DIR_VARIABLE, MissingDataError
from labs_solutions import advertising as lab

# The text's figures: intercept, TV, radio, newspaper, and the mean squared error.
PUBLISHED_COEFFICIENTS = [2.93888937, 0.0457646455, 0.188530017, -0.00103749304]
PUBLISHED_MSE = 2.7841263145


@pytest.mark.corpus
def test_reader_gives_200_markets_as_float64(advertising):
    assert advertising.features.shape == (200, 3) and advertising.sales.shape == (200,)
    assert advertising.features.dtype == np.float64
    np.testing.assert_array_equal(advertising.features[0], [230.1, 37.8, 69.2])
    assert advertising.sales[-1] == 13.4


@pytest.mark.corpus
def test_least_squares_reproduces_the_published_fit(advertising):
    coefficients = lab.least_squares(advertising.features, advertising.sales)
    # The figures are printed to 9 significant digits: agreement to 1e-8 relative is all they can show.
    np.testing.assert_allclose(coefficients, PUBLISHED_COEFFICIENTS, rtol=1e-8, atol=0)
    mse = lab.mean_squared_error(lab.design_matrix(advertising.features), coefficients, advertising.sales)
    np.testing.assert_allclose(mse, PUBLISHED_MSE, rtol=1e-10, atol=0)


@pytest.mark.corpus
def test_gradient_descent_on_standardised_features_reaches_the_least_squares_fit(advertising):
    coefficients, losses = lab.gradient_descent(advertising.features, advertising.sales,
                                                learning_rate=0.1, num_steps=1000)
    np.testing.assert_allclose(coefficients, lab.least_squares(advertising.features, advertising.sales),
                               rtol=1e-6, atol=0)
    mse = lab.mean_squared_error(lab.design_matrix(advertising.features), coefficients, advertising.sales)
    np.testing.assert_allclose(mse, PUBLISHED_MSE, rtol=1e-9, atol=0)
    assert np.all(np.diff(losses) <= 1e-12), "full-batch descent on a convex quadratic never goes up here"


def test_gradient_matches_central_differences():
    rng = np.random.default_rng(0)
    design = lab.design_matrix(rng.normal(size=(30, 3)))
    target, coefficients = rng.normal(size=30), rng.normal(size=4)
    gradient = lab.mean_squared_error_gradient(design, coefficients, target)
    assert gradient.shape == (4,)
    step = 1e-6
    numeric = [
        (lab.mean_squared_error(design, coefficients + step * unit, target)
         - lab.mean_squared_error(design, coefficients - step * unit, target)) / (2 * step)
        for unit in np.eye(4)
    ]
    np.testing.assert_allclose(gradient, numeric, rtol=1e-6, atol=1e-8)


def test_raw_scale_coefficients_predict_what_the_standardised_ones_do():
    rng = np.random.default_rng(1)
    features = rng.normal(loc=[100, 20, 30], scale=[80, 15, 20], size=(40, 3))
    standardised, mean, std = lab.standardise(features)
    coefficients = rng.normal(size=4)
    raw = lab.to_raw_scale(coefficients, mean, std)
    np.testing.assert_allclose(lab.design_matrix(features) @ raw, lab.design_matrix(standardised) @ coefficients,
                               rtol=1e-12, atol=1e-10)


def test_missing_file_names_the_path_and_the_setting(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_DIR_VARIABLE, str(tmp_path))
    with pytest.raises(MissingDataError) as caught:
        load_advertising()
    message = str(caught.value)
    assert str(tmp_path / "advertising" / "advertising.csv") in message
    assert DATA_DIR_VARIABLE in message


@pytest.mark.parametrize("content, complaint", [
    (",TV,radio,sales\n1,2,3,4\n", r"lacks the column\(s\) \['newspaper'\]"),
    (",TV,radio,newspaper,sales\n1,2,3,4,5\n2,2,three,4,5\n", r"advertising.csv:3: expected numbers"),
    (",TV,radio,newspaper,sales\n", "no data rows"),
])
def test_malformed_file_is_named_with_the_problem(tmp_path, content, complaint):
    (tmp_path / "advertising").mkdir()
    (tmp_path / "advertising" / "advertising.csv").write_text(content)
    with pytest.raises(ValueError, match=complaint):
        load_advertising(tmp_path)


def test_grader_passes_the_solution_and_catches_a_gradient_without_the_factor_two():
    from types import SimpleNamespace

    import grading
    import labs_solutions
    from grading.exercises.advertising import build_linear_regression

    rng = np.random.default_rng(2)
    features, sales = rng.normal(size=(25, 3)), rng.normal(size=25)
    model = build_linear_regression(labs_solutions, SimpleNamespace(num_features=3))
    assert grading.check_backpropagation(model, features, sales).passed
    model.lab = SimpleNamespace(
        design_matrix=lab.design_matrix, mean_squared_error=lab.mean_squared_error,
        mean_squared_error_gradient=lambda design, c, y: design.T @ (design @ c - y) / len(y))
    assert not grading.check_backpropagation(model, features, sales).passed
