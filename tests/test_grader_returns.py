"""Whatever backpropagation returns or raises, the grader answers with a clear failing report."""
import numpy as np
import pytest
import torch

import grading
from mutations.models import digits_batch, lab_model, returning


def with_entry(layer, which, value):
    def transform(gradients):
        gradients[layer][which] = value(gradients[layer][which]) if callable(value) else value
        return gradients
    return transform


def raising(self, input, output):
    return {"a": 1}["b"]


BAD_RETURNS = {  # name: (backpropagation, words the first diagnosis sentence must contain)
    "None": (returning(lambda g: None), ["returned None", "return"]),
    "one layer too many": (returning(lambda g: g + [g[-1]]), ["has 4 entries", "expected 3"]),
    "one layer too few": (returning(lambda g: g[:2]), ["layer(s)", "missing"]),
    "wrong shape": (returning(with_entry(1, 0, lambda w: w[:, :5])), ["layer 1 weight", "(10, 5)", "(10, 10)"]),
    "NaN": (returning(with_entry(0, 0, lambda w: w * np.nan)), ["NaN/inf", "layer 0 weight"]),
    "inf": (returning(with_entry(2, 1, lambda b: b + np.inf)), ["NaN/inf", "layer 2 bias"]),
    "nested lists": (returning(lambda g: [[w.tolist(), b.tolist()] for w, b in g]), ["Python list", "NumPy array"]),
    "a None entry": (returning(with_entry(1, 1, None)), ["layer 1", "None"]),
    "a dict": (returning(lambda g: {"layer0": g[0]}), ["dict", "list"]),
    "a string": (returning(lambda g: "gradients"), ["str", "list"]),
    "one flat array": (returning(lambda g: np.zeros(5)), ["one array", "list"]),
    "pairs of three": (returning(lambda g: [[w, b, b] for w, b in g]), ["3 entries", "expected 2"]),
    "strings inside": (returning(with_entry(0, 1, lambda b: b.astype(str))), ["dtype", "floating-point"]),
    "an exception": (raising, ["KeyError", "test_grader_returns.py"]),
}


@pytest.mark.parametrize("name", sorted(BAD_RETURNS))
def test_bad_returns_fail_with_a_clear_message(name, digits):
    backpropagation, words = BAD_RETURNS[name]
    batch = digits_batch(digits)
    report = grading.check_backpropagation(lab_model(backpropagation), batch["input"], batch["output"])
    assert not report.passed
    assert report.diagnosis, str(report)
    first = report.diagnosis[0]
    assert all(word in first for word in words), first
    assert not any("grader problem" in note for note in report.notes)
    str(report), report._repr_html_()  # both render


def test_torch_tensors_are_accepted_as_arrays(digits):
    batch = digits_batch(digits)
    backpropagation = returning(lambda g: [[torch.as_tensor(w), torch.as_tensor(b)] for w, b in g])
    report = grading.check_backpropagation(lab_model(backpropagation), batch["input"], batch["output"])
    assert report.passed, str(report)


def test_rows_show_expected_and_found_shapes(digits):
    batch = digits_batch(digits)
    model = lab_model(returning(with_entry(0, 0, lambda w: w.T)))
    report = grading.check_backpropagation(model, batch["input"], batch["output"])
    row = report.rows[0]
    assert (row.layer, row.role, row.expected_shape) == (0, "weight", (10, 64))
    assert (row.found, row.passed) == ("(64, 10)", False)
    assert all(r.passed for r in report.rows[1:])
