"""One judge for every gradient exercise judged by ``check_backpropagation`` (R.1, C.1, F.3, G.2, A.6b): work
right in float64, work right in float32 and one mistake get the same score per test cell from the notebook's
own test cells (their code run on the notebook's data) and from the trusted check that writes the official
grade (run in this process), and the mistake the same causes with the same sentences."""
import json
import re
import types
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

import grading.course.test_cell_helpers as helpers
from one_judge_population import _in_float32, cells_in_kernel, cells_trusted, graded_cells


def _float32_output(backpropagation):
    """Right, but every returned gradient rounded to float32 (code whose last step is ``.astype(np.float32)``)."""
    def rounded(self, input, output):
        return [[np.asarray(leaf, dtype=np.float32) for leaf in pair] for pair in backpropagation(self, input, output)]
    return rounded


def _transposed_first_weight(backpropagation):
    """The first layer's weight gradient returned transposed (``input.T @ delta`` for ``delta.T @ input``)."""
    def transposed(self, input, output):
        (first, *rest), *layers = backpropagation(self, input, output)
        return [[np.asarray(first).T, *rest], *layers]
    return transposed


def _variant(base, method, form):
    """``base`` with its gradient ``method`` changed by ``form``; named as ``base`` (same module, so that the
    grader's part-by-part probe of the package finds the same package both ways)."""
    return type(base.__name__, (base,), {method: form(getattr(base, method)), "__module__": base.__module__,
                                         "__qualname__": base.__qualname__})


@lru_cache(maxsize=1)
def _digits():
    from backprop_labs.datasets import load_digits_data

    return load_digits_data()


def _advertising(form):
    from backprop_labs.datasets import load_advertising
    from grading.exercises.advertising import LinearRegressionGradient
    from labs_solutions import advertising

    gradient = {"float64": advertising.mean_squared_error_gradient,
                "float32": lambda design, coefficients, target: advertising.mean_squared_error_gradient(
                    design.astype(np.float32), coefficients.astype(np.float32), target.astype(np.float32)),
                "mistake": lambda design, coefficients, target: design.T @ (design @ coefficients - target)
                / len(target)}[form]   # the mistake: the factor 2 of the squares forgotten
    lab = types.SimpleNamespace(design_matrix=advertising.design_matrix,
                                mean_squared_error=advertising.mean_squared_error, mean_squared_error_gradient=gradient)
    return lab, {"np": np, "lab": lab, "data": load_advertising(), "LinearRegressionGradient": LinearRegressionGradient}


def _conv1d(form):
    from labs_solutions.conv1d import Conv1dNetwork, motif_sequences

    network = _variant(Conv1dNetwork, "backpropagation", FORMS[form])
    input, output = motif_sequences(num_examples=200, length=12, seed=0)
    return network, {"np": np, "Conv1dNetwork": network, "input": input, "output": output}


def _forward_reverse(form):
    from labs_solutions.forward_reverse import ProgressiveNetwork

    network = _variant(ProgressiveNetwork, "backpropagation", FORMS[form])
    digits = _digits()
    return network, {"np": np, "ProgressiveNetwork": network, "digits": digits, "batch_size": 30, "learning_rate": 0.5,
                     "batch": digits.batches("train", batch_size=30)[0]}


def _glm(form):
    from backprop_labs.datasets.glm_synthetic import synthetic_glm_data
    from labs_solutions.glm import GLMNetwork

    # its parameters are tensors: float32 work here is float32 gradients
    network = _variant(GLMNetwork, "backpropagation", {**FORMS, "float32": _float32_output}[form])
    data = synthetic_glm_data(num_examples=400, seed=0)
    return network, {"np": np, "GLMNetwork": network, "data": data,
                     "batch": {"input": data.inputs[:40], "output": data.labels["poisson"][:40]}}


def _autodiff(form):
    from labs_solutions.autodiff import AutodiffMLP

    network = _variant(AutodiffMLP, "gradients", FORMS[form])
    digits = _digits()
    return network, {"np": np, "AutodiffMLP": network, "digits": digits, "learning_rate": 0.5,
                     "batch": digits.batches("train", batch_size=30)[0]}


FORMS = {"float64": lambda backpropagation: backpropagation, "float32": _in_float32,
         "mistake": _transposed_first_weight}
# assignment, its trusted check of the gradients, the student's code and the notebook's names in each form,
# and the cause of the mistake
EXERCISES = {
    "R.1": ("advertising", "advertising_mse_gradient", _advertising, "factor_two"),
    "C.1": ("conv1d", "conv1d_backpropagation", _conv1d, "transposed_weight"),
    "F.3": ("forward_reverse", "progressive_network_backpropagation", _forward_reverse, "transposed_weight"),
    "G.2": ("glm", "glm_backpropagation", _glm, "transposed_weight"),
    "A.6b": ("autodiff", "autodiff_mlp_gradients", _autodiff, "transposed_weight"),
}


def _words(sentence):
    """The sentence with its numbers (shapes, sizes: the data's own, which differ between the notebook and the
    official cases) as ``#``."""
    return re.sub(r"-?\d+(\.\d+)?(e[-+]?\d+)?", "#", sentence)


def _both_ways(exercise, form):
    assignment, check, student, _ = EXERCISES[exercise]
    target, names = student(form)
    namespace = {**names, "assert_gradients_match": helpers.assert_gradients_match,
                 "assert_close": helpers.assert_close, "assert_equal": helpers.assert_equal}
    return cells_in_kernel(assignment, check, namespace), cells_trusted(assignment, check, target)


@pytest.mark.parametrize("form", ["float64", "float32"])
@pytest.mark.parametrize("exercise", list(EXERCISES))
def test_right_work_gets_every_point_from_the_notebook_and_the_official_grade(exercise, form, one_torch_thread):
    assignment, check, _, _ = EXERCISES[exercise]
    kernel, official = _both_ways(exercise, form)
    full = {grade_id: (points, []) for grade_id, (_, points) in graded_cells(assignment, check).items()}
    assert kernel == full, kernel
    assert official == full, official


@pytest.mark.parametrize("exercise", list(EXERCISES))
def test_a_mistake_gets_the_same_score_and_sentence_from_the_notebook_and_the_official_grade(exercise,
                                                                                             one_torch_thread):
    cause = EXERCISES[exercise][3]
    kernel, official = _both_ways(exercise, "mistake")
    assert {grade_id: score for grade_id, (score, _) in kernel.items()} == {
        grade_id: score for grade_id, (score, _) in official.items()} == dict.fromkeys(kernel, 0)
    for grade_id in kernel:
        assert cause in {found for found, _ in kernel[grade_id][1]}, (grade_id, kernel)
        assert _words(dict(kernel[grade_id][1])[cause]) == _words(dict(official[grade_id][1])[cause]), (
            grade_id, kernel, official)


# Exercises whose own rule is an exact value (the VJPs A.1-A.5 within 1e-12, the worked graph A.6 and W.1): one
# function judges in the notebook's cells and in the official grade, so any form gets the same score both ways.

def _notebook_cell(assignment, cell_id):
    from grading.course.assignments import get_assignment

    cells = json.loads(Path(get_assignment(assignment).notebook).read_text())["cells"]
    return "".join(next(cell for cell in cells if cell.get("id") == cell_id)["source"])


def _each_array(convert):
    """A form of a function that returns arrays (a list of them, or a dict of numbers): each one converted."""
    def form(function):
        def converted(*arguments, **keywords):
            found = function(*arguments, **keywords)
            if isinstance(found, dict):
                return {key: convert(value) for key, value in found.items()}
            return [convert(value) for value in found] if isinstance(found, (list, tuple)) else convert(found)
        return converted
    return form


def _listed(function):
    """Several values returned as a list instead of a tuple."""
    def listed(*arguments, **keywords):
        found = function(*arguments, **keywords)
        return list(found) if isinstance(found, tuple) else found
    return listed


EXACT_FORMS = {"right": lambda function: function, "doubled": _each_array(lambda value: 2.0 * np.asarray(value)),
               "float32": _each_array(lambda value: np.float32(value) if np.ndim(value) == 0
                                      else np.asarray(value, dtype=np.float32)),
               "one more axis": _each_array(lambda value: np.asarray(value)[None]),
               "a list": _listed}


def _vjps(form):
    import torch

    from grading.exercises.autodiff_localise import vjps_failure
    from labs_solutions import autodiff

    package = types.SimpleNamespace(anp=autodiff.anp, Node=autodiff.Node,
                                    parent_gradients=EXACT_FORMS[form](autodiff.parent_gradients))
    names = {"np": np, "torch": torch, "anp": autodiff.anp, "Node": autodiff.Node, "CheckFailed": helpers.CheckFailed,
             "parent_gradients": package.parent_gradients, "vjps_failure": vjps_failure}
    exec(compile(_notebook_cell("autodiff", "vjp_helper"), "vjp_helper", "exec"), names)
    return package, names


def _backward(form):
    import torch

    from labs_solutions import autodiff

    grad = autodiff.grad if form == "right" else lambda fun, argnum=0: EXACT_FORMS[form](autodiff.grad(fun, argnum))
    package = types.SimpleNamespace(anp=autodiff.anp, grad=grad)
    return package, {"np": np, "torch": torch, "anp": autodiff.anp, "grad": grad}


def _by_hand(form):
    from labs_solutions import worked_graph

    module = types.SimpleNamespace(backprop_by_hand=EXACT_FORMS[form](worked_graph.backprop_by_hand))
    return module, {"np": np, "backprop_by_hand": module.backprop_by_hand, "WORKED_POINT": worked_graph.WORKED_POINT,
                    "gradients_by_torch": worked_graph.gradients_by_torch}


EXACT = {"A.1-A.5": ("autodiff", "autodiff_vjps", _vjps), "A.6": ("autodiff", "autodiff_backward_pass", _backward),
         "W.1": ("worked_graph", "worked_graph_by_hand", _by_hand)}


@pytest.mark.parametrize("form", list(EXACT_FORMS))
@pytest.mark.parametrize("exercise", list(EXACT))
def test_an_exact_rule_gives_each_form_the_same_score_in_the_notebook_and_the_official_grade(exercise, form,
                                                                                           one_torch_thread):
    assignment, check, student = EXACT[exercise]
    target, names = student(form)
    namespace = {**names, "assert_close": helpers.assert_close, "assert_equal": helpers.assert_equal}
    kernel, official = cells_in_kernel(assignment, check, namespace), cells_trusted(assignment, check, target)
    scores = {grade_id: score for grade_id, (score, _) in kernel.items()}
    assert scores == {grade_id: score for grade_id, (score, _) in official.items()}, (kernel, official)
    full = {grade_id: points for grade_id, (_, points) in graded_cells(assignment, check).items()}
    assert (scores == full) == (form in ("right", "a list")), kernel
    if form == "doubled":   # a wrong value: the same verdict both ways (after what is compared, up to the numbers)
        assert {_words(sentence.split(": ", 1)[-1]) for _, pairs in kernel.values() for _, sentence in pairs} == {
            _words(sentence.split(": ", 1)[-1]) for _, pairs in official.values() for _, sentence in pairs}, (
            kernel, official)


# Exercise 2.4 (PytorchMLP._log_forward): the forward pass by one rule (log_probabilities_failure), the gradients
# autograd takes through it by the gradient check's functions.
FORWARD_FORMS = {"right": lambda log_probabilities: log_probabilities,
                 "shifted by 5e-10": lambda log_probabilities: log_probabilities + 5e-10,   # gradients still right
                 "probabilities": lambda log_probabilities: log_probabilities.exp()}


@pytest.mark.parametrize("form", list(FORWARD_FORMS))
def test_a_forward_pass_gets_the_same_score_and_causes_from_the_notebook_and_the_official_grade(form, books,
                                                                                               one_torch_thread):
    import torch

    from labs_solutions.numpy_mlp import NumpyMLP
    from labs_solutions.pytorch_mlp import PytorchMLP

    change = FORWARD_FORMS[form]
    model = type("PytorchMLP", (PytorchMLP,), {"__module__": PytorchMLP.__module__,
                                               "_log_forward": lambda self, input: change(PytorchMLP._log_forward(
                                                   self, input))})
    namespace = {"np": np, "torch": torch, "PytorchMLP": model, "NumpyMLP": NumpyMLP, "learning_rate": 0.05,
                 "geometry": [books.num_features, 20, books.num_classes], "activation_functions": ["sigmoid", "softmax"],
                 "batch": books.batches("train", batch_size=30)[0], "with_random_biases": helpers.with_random_biases,
                 "assert_log_probabilities_match": helpers.assert_log_probabilities_match,
                 "assert_gradients_match": helpers.assert_gradients_match}
    kernel = cells_in_kernel("backprop_mlp", "pytorch_mlp_log_forward", namespace)
    official = cells_trusted("backprop_mlp", "pytorch_mlp_log_forward", model)
    scores = {grade_id: score for grade_id, (score, _) in kernel.items()}
    assert scores == {grade_id: score for grade_id, (score, _) in official.items()}, (kernel, official)
    full = {grade_id: points for grade_id, (_, points) in graded_cells("backprop_mlp", "pytorch_mlp_log_forward").items()}
    assert (scores == full) == (form == "right"), kernel
    if form == "probabilities":   # the cell's message: the same rule's verdict, then the cause the official grade names
        for grade_id, (_, [(_, message)]) in kernel.items():
            verdict, cause = dict(official[grade_id][1])["unexplained"], dict(official[grade_id][1])["probabilities_not_log"]
            assert _words(message.split("\n")[0].split(": ", 1)[-1]) == _words(verdict.split(": ", 1)[-1]), (kernel, official)
            assert cause in message, (kernel, official)
