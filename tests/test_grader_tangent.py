"""The tangent plot: loss curve, numerical slope and the student's, for one parameter."""
import numpy as np
import pytest

import grading
import labs
from labs_solutions import NumpyMLP
from mutations import wrong_sign
from mutations.models import digits_batch, lab_model


def test_the_solution_is_tangent_and_the_plot_is_written(digits, tmp_path):
    batch = digits_batch(digits)
    model = lab_model()
    before = model.parameters[1][0].copy()
    path = tmp_path / "tangent.png"
    result = grading.tangent_check(model, batch, layer_index=1, is_bias=False, row=2, column=3, path=path)
    assert result.agrees and abs(result.student_slope - result.numerical_slope) <= result.tolerance
    assert result.tolerance < 1e-8
    assert (result.row, result.column) == (2, 3) and result.current_weight == before[2, 3]
    assert result.weights[len(result.weights) // 2] == result.current_weight
    assert np.array_equal(model.parameters[1][0], before)
    assert path.stat().st_size > 10_000 and path.read_bytes()[:4] == b"\x89PNG"
    title = result.figure.axes[0].get_title()
    assert "numerical" in title and "yours" in title and "agree" in title


def test_a_wrong_gradient_is_shown_disagreeing(digits, tmp_path):
    batch = digits_batch(digits)
    result = grading.tangent_check(lab_model(wrong_sign), batch, 0, True, path=tmp_path / "t.png")
    assert not result.agrees and np.sign(result.student_slope) == -np.sign(result.numerical_slope)
    assert "DISAGREE" in str(result)
    assert repr(result) == str(result) and "array(" not in repr(result)  # a notebook's text output: one line


def test_without_coordinates_it_picks_the_largest_derivative(digits, tmp_path):
    batch = digits_batch(digits)
    model = lab_model()
    result = grading.tangent_check(model, batch, path=tmp_path / "t.png")
    gradient = NumpyMLP.backpropagation(model, batch["input"], batch["output"])[0][0]
    assert abs(gradient[result.row, result.column]) == pytest.approx(np.max(np.abs(gradient)))


def test_a_stub_gets_the_numerical_slope_only(digits, tmp_path):
    batch = digits_batch(digits)
    model = labs.NumpyMLP([64, 10, 10], ["sigmoid", "softmax"], 0.1)
    result = grading.tangent_check(model, batch, path=tmp_path / "t.png")
    assert result.student_slope is None and "NotImplementedError" in result.student_note
    assert np.isfinite(result.numerical_slope) and result.numerical_slope != 0


@pytest.mark.corpus
def test_first_layer_on_bag_of_words_picks_a_word_of_the_batch(books, tmp_path):
    batch = books.batches("train", 30)[0]
    model = NumpyMLP([books.num_features, 20, 2], ["sigmoid", "softmax"], 0.05)
    gradient = NumpyMLP.backpropagation(model, batch["input"], batch["output"])[0][0]
    assert np.mean(gradient == 0) > 0.5                   # mostly zeros: absent words
    result = grading.tangent_check(model, batch, 0, False, path=tmp_path / "books.png")
    assert batch["input"][:, result.column].any()         # a word that occurs in the batch
    assert result.agrees and result.numerical_slope != 0
