"""Worked graph L = (a + 3b) c^2: the gradients 16, 48, 88 by hand, by the mini-autodiff and by torch."""
import numpy as np
import pytest

import labs.worked_graph
from labs_solutions.worked_graph import (WORKED_POINT, backprop_by_hand, gradients_by_autodiff,
                                         gradients_by_torch, worked_example_loss)

TEXT_GRADIENTS = (16.0, 48.0, 88.0)  # dL/da, dL/db, dL/dc at a=2, b=3, c=4


def test_backprop_by_hand_reproduces_every_number_on_the_graph():
    assert backprop_by_hand(**WORKED_POINT) == {
        "q": 11.0, "r": 16.0, "L": 176.0,
        "dL/dq": 16.0, "dL/dr": 11.0, "dL/da": 16.0, "dL/db": 48.0, "dL/dc": 88.0,
    }


@pytest.mark.parametrize("gradients", [gradients_by_autodiff, gradients_by_torch], ids=["mini-autodiff", "torch"])
def test_gradients_are_exactly_16_48_88(gradients):
    # Small integers: every intermediate is exact in float64, so equality is the right test.
    assert gradients(**WORKED_POINT) == TEXT_GRADIENTS


@pytest.mark.parametrize("seed", range(5))
def test_three_routes_agree_at_random_points(seed):
    a, b, c = np.random.default_rng(seed).normal(size=3)
    by_hand = backprop_by_hand(a, b, c)
    expected = gradients_by_torch(a, b, c)
    np.testing.assert_allclose(gradients_by_autodiff(a, b, c), expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose([by_hand["dL/da"], by_hand["dL/db"], by_hand["dL/dc"]], expected,
                               rtol=1e-12, atol=1e-14)
    assert by_hand["L"] == pytest.approx(worked_example_loss(a, b, c), rel=1e-15)


def test_student_version_stops_at_the_exercises():
    with pytest.raises(NotImplementedError, match="Exercise W.1: backpropagate by hand"):
        labs.worked_graph.backprop_by_hand(**WORKED_POINT)
    with pytest.raises(NotImplementedError, match="Exercise A"):  # needs the student's mini-autodiff
        labs.worked_graph.gradients_by_autodiff(**WORKED_POINT)
    assert labs.worked_graph.gradients_by_torch(**WORKED_POINT) == TEXT_GRADIENTS  # given


def test_drawing_labels_every_edge_with_its_value_and_gradient(tmp_path):
    from labs_solutions.worked_graph import draw_worked_graph

    figure = draw_worked_graph(**WORKED_POINT)
    texts = figure.axes[0].texts
    by_colour = {colour: sorted(t.get_text() for t in texts if t.get_color() == colour)
                 for colour in ("tab:blue", "tab:red")}
    assert by_colour["tab:blue"] == sorted(["2", "3", "9", "4", "11", "16", "176"])
    assert by_colour["tab:red"] == sorted(["16", "48", "16", "88", "16", "11", "1"])
    figure.savefig(tmp_path / "graph.png")
    assert (tmp_path / "graph.png").stat().st_size > 5_000
