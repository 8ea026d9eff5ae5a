"""Any array-like a student returns gives a report, never an exception; the shape policy for
arrays that differ from the parameter's shape only by axes of length 1."""
import numpy as np
import pytest
import torch

import grading
from mutations import backward, output_error
from mutations.models import digits_batch, lab_model, returning, solution_gradients


def each(convert):
    return lambda gradients: [[convert(w), convert(b)] for w, b in gradients]


def read_only(array):
    array = array.copy()
    array.flags.writeable = False
    return array


class Unindexable:
    def __getitem__(self, key):
        raise RuntimeError("no indexing here")

    def __len__(self):
        raise RuntimeError("no length either")


ARRAY_LIKES = {  # name: (transform of the right gradients, passes?)
    "np.matrix everywhere": (each(np.asmatrix), True),
    "torch float64": (each(torch.as_tensor), True),
    "torch float32": (each(lambda a: torch.as_tensor(a, dtype=torch.float32)), True),
    "torch requiring grad": (each(lambda a: torch.tensor(a, requires_grad=True)), True),
    "torch bfloat16": (each(lambda a: torch.as_tensor(a).to(torch.bfloat16)), False),
    "read-only arrays": (each(read_only), True),
    "Fortran order": (each(np.asfortranarray), True),
    "strided views": (each(lambda a: np.repeat(a, 2, axis=-1)[..., ::2]), True),
    "masked arrays": (each(np.ma.masked_array), True),
    "nested lists": (each(lambda a: a.tolist()), False),
    "nested tuples": (each(lambda a: tuple(map(tuple, a))), False),
    "integer arrays": (each(lambda a: (a * 1e6).astype(np.int64)), False),
    "bool arrays": (each(lambda a: a > 0), False),
    "complex arrays": (each(lambda a: a.astype(complex)), False),
    "object arrays": (each(lambda a: a.astype(object)), False),
    "0-d arrays": (each(lambda a: np.asarray(a.sum())), False),
    "NumPy scalars": (each(lambda a: np.float64(a.sum())), False),
    "Python floats": (each(lambda a: float(a.sum())), False),
    "ragged lists": (each(lambda a: [list(row[:i + 1]) for i, row in enumerate(np.atleast_2d(a))]), False),
    "empty arrays": (each(lambda a: np.empty((0,))), False),
    "3-d arrays": (each(lambda a: a[None]), False),  # compared by value, but W -= lr * dW would grow W
    "a generator": (lambda g: (pair for pair in g), False),
    "a dict of layers": (lambda g: dict(enumerate(g)), False),
    "an unindexable object": (lambda g: Unindexable(), False),
    "pairs as a 2-d object array": (lambda g: np.array(g, dtype=object), True),
}


@pytest.mark.parametrize("name", sorted(ARRAY_LIKES))
def test_every_array_like_gets_a_report(name, digits):
    transform, passes = ARRAY_LIKES[name]
    batch = digits_batch(digits)
    report = grading.check_backpropagation(lab_model(returning(transform)), batch["input"], batch["output"])
    assert report.passed is passes, str(report)
    assert not any("grader problem" in note for note in report.notes), report.notes
    assert passes or report.diagnosis
    str(report), report._repr_html_()


def test_a_matrix_is_compared_as_an_array_and_noted(digits):
    batch = digits_batch(digits)
    model = lab_model(returning(lambda g: [[w, np.asmatrix(b)] for w, b in g]))
    report = grading.check_backpropagation(model, batch["input"], batch["output"])
    assert report.passed and report.causes == []
    assert any("np.matrix" in note for note in report.notes)


def test_lists_fail_but_their_values_are_still_compared(digits):
    batch = digits_batch(digits)
    model = lab_model(returning(lambda g: [[w.tolist(), -b] for w, b in g]))   # lists AND a wrong bias sign
    report = grading.check_backpropagation(model, batch["input"], batch["output"])
    assert not report.passed and report.causes[0] == "not_an_array"
    weights = [row for row in report.rows if row.role == "weight"]
    assert all(row.max_rel_error is not None and row.max_rel_error < 1e-12 for row in weights)
    assert all(not row.passed for row in weights)          # the type still fails the row


# ---- shape policy ------------------------------------------------------------------------

def flat_biases(self, input, output):
    return [[dW, db.ravel()] for dW, db in solution_gradients(self, input, output)]


def column_biases(self, input, output):
    return [[dW, db.T] for dW, db in solution_gradients(self, input, output)]


def test_flat_biases_pass_with_a_visible_warning_by_default(digits):
    batch = digits_batch(digits)
    report = grading.check_backpropagation(lab_model(flat_biases), batch["input"], batch["output"])
    assert report.passed
    assert report.causes == ["bias_shape"] and "(10,)" in report.diagnosis[0] and "right" in report.diagnosis[0]
    assert all(row.note.startswith("warning:") for row in report.rows if row.role == "bias")
    assert all(row.max_rel_error < 1e-12 for row in report.rows)


def test_flat_biases_fail_under_the_strict_policy_with_their_values_compared(digits):
    batch = digits_batch(digits)
    report = grading.check_backpropagation(lab_model(flat_biases), batch["input"], batch["output"],
                                           shape_policy="strict")
    assert not report.passed and report.causes == ["bias_shape"]
    assert all(row.max_rel_error < 1e-12 for row in report.rows)


def test_column_biases_fail_because_the_update_would_grow_the_bias(digits):
    batch = digits_batch(digits)
    report = grading.check_backpropagation(lab_model(column_biases), batch["input"], batch["output"])
    assert not report.passed and "bias_shape" in report.causes
    assert all(row.max_rel_error < 1e-12 for row in report.rows)      # still compared by value


def test_an_unknown_shape_policy_is_refused(digits):
    batch = digits_batch(digits)
    with pytest.raises(ValueError, match="shape_policy"):
        grading.check_backpropagation(lab_model(), batch["input"], batch["output"], shape_policy="loose")


def flat_biases_and(mistake):
    def backpropagation(self, input, output):
        return [[dW, db.ravel()] for dW, db in mistake(self, input, output)]
    return backpropagation


def wrong_sign(self, input, output):
    return [[-dW, -db] for dW, db in solution_gradients(self, input, output)]


def log_probabilities_as_probabilities(self, input, output):
    inputs, _, p, _ = output_error(self, input, output)
    return backward(self, inputs, (np.log(p) - np.eye(p.shape[1])[output]) / len(output))


def dropped_one_minus_a(self, input, output):
    inputs, _, _, error = output_error(self, input, output)
    # np.multiply's third argument is `out`: the (1 - a) factor silently disappears
    return backward(self, inputs, error, slope=lambda n, name, a: np.multiply(np.ones_like(a[n]), a[n], 1 - a[n]))


def wrong_layer_pairing(self, input, output):
    inputs, _, _, error = output_error(self, input, output)
    return backward(self, inputs, error, propagate=lambda n: self.parameters[n - 1][0])


@pytest.mark.parametrize("mistake, cause", [
    (wrong_sign, "wrong_sign"),
    (log_probabilities_as_probabilities, "log_probabilities_as_probabilities"),
    (dropped_one_minus_a, "activation_as_derivative"),
])
def test_a_shape_finding_does_not_hide_the_math(mistake, cause, digits):
    batch = digits_batch(digits)
    report = grading.check_backpropagation(lab_model(flat_biases_and(mistake)), batch["input"], batch["output"])
    assert not report.passed
    assert report.causes == ["bias_shape", cause], report.causes


def test_a_truly_wrong_shape_fails_and_the_other_arrays_are_still_diagnosed(digits):
    def first_weight_transposed_and_sign(self, input, output):
        gradients = wrong_sign(self, input, output)
        gradients[0][0] = gradients[0][0].T
        return gradients

    batch = digits_batch(digits)
    report = grading.check_backpropagation(lab_model(first_weight_transposed_and_sign), batch["input"],
                                           batch["output"])
    assert not report.passed
    assert "wrong_sign" in report.causes and len(report.causes) == 2
    assert report.rows[0].max_rel_error is None and report.rows[1].max_rel_error is not None
