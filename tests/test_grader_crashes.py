"""A crash points at the student's own line, and a crash inside given code names the student's call."""

import grading
from backprop_labs.utils import index2onehot
from mutations import backward, forward
from mutations.models import digits_batch, lab_model


def crashes_in_own_line(self, input, output):
    inputs, _, p = forward(self, input)
    error = (p - index2onehot(output, p.shape[1])) / len(output)
    return backward(self, inputs, error.reshape(-1))       # flattened: the loop cannot transpose it


def crashes_inside_a_given_helper(self, input, output):
    inputs, _, p = forward(self, input)
    onehot = index2onehot(output, "ten")                      # a string where the class count goes
    return backward(self, inputs, (p - onehot) / len(output))


def test_a_crash_in_the_students_code_points_at_that_line(digits):
    batch = digits_batch(digits)
    report = grading.check_backpropagation(lab_model(crashes_in_own_line), batch["input"], batch["output"])
    assert not report.passed
    sentence = report.diagnosis[0]
    assert "__init__.py" in sentence or "test_grader_crashes.py" in sentence, sentence


def test_a_crash_inside_given_code_names_the_students_call_and_the_helper(digits):
    batch = digits_batch(digits)
    report = grading.check_backpropagation(lab_model(crashes_inside_a_given_helper), batch["input"],
                                           batch["output"])
    assert not report.passed and report.causes == ["exception"]
    sentence = report.diagnosis[0]
    assert "given helper index2onehot" in sentence and "test_grader_crashes.py" in sentence, sentence
    assert "index2onehot(output, \"ten\")" in sentence
    assert "fix that line first" not in sentence


def adds_arrays_of_two_layers(self, input, output):
    inputs, _, p = forward(self, input)
    error = (p - index2onehot(output, p.shape[1])) / len(output)
    return error.T @ inputs[-1] + self.parameters[0][0]      # a sum of two layers' arrays: no product here


def multiplies_where_a_matrix_product_was_meant(self, input, output):
    inputs, _, p = forward(self, input)
    error = (p - index2onehot(output, p.shape[1])) / len(output)
    return error.T * inputs[-1]                                # (K, B) * (B, hidden)


def test_a_broadcast_error_is_blamed_on_an_elementwise_product_only_where_the_line_has_one(digits):
    batch = digits_batch(digits)
    summed = grading.check_backpropagation(lab_model(adds_arrays_of_two_layers), batch["input"], batch["output"])
    assert summed.causes[0] == "shape_mismatch_in_code", summed.causes
    multiplied = grading.check_backpropagation(lab_model(multiplies_where_a_matrix_product_was_meant),
                                               batch["input"], batch["output"])
    assert multiplied.causes[0] == "elementwise_for_matmul", multiplied.causes
