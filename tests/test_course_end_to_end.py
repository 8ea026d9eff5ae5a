"""A class of sample submissions through release, autograde, feedback and grade export.

The course is built once (shared by the tests of this module, also across xdist workers)
with a short cell timeout; each submission starts from the released files and changes
the shipped modules and the notebook the way a student would.
"""
import csv
import importlib.util
import json
import re
import shutil
import time
from pathlib import Path

import pytest
from filelock import FileLock

from grading.course.assignments import get_assignment
from grading.course.leaks import find_leaks, readable_text, secret_lines
from grading.commands.grading_run import grade_assignment
from grading.course.pipeline import build_course, cell_scores
from grading.course.preprocessors import HIDDEN_FAILED, HIDDEN_PASSED
from grading.course.submissions import cell_grade_id

pytestmark = [pytest.mark.corpus, pytest.mark.slow]

ASSIGNMENT = "backprop_mlp"
TIMEOUT = 30  # seconds per cell: 10x the longest legitimate cell (3 s on a loaded machine), so load
#              cannot time out a legitimate cell; the infinite loop's cell costs these 30 s once

BACKPROP_STUB = "        raise NotImplementedError('Exercise 2.2: implement backpropagation')\n"
FORWARD_STUB = "            raise NotImplementedError('Exercise 2.4: compute layer n of PytorchMLP._log_forward')\n"
ANSWER_STUB = "    raise NotImplementedError('Exercise 2.1: write the gradient of the mean loss with respect to the input batch')"
TANGENT_STUB = "    raise NotImplementedError('Exercise 2.2: compute the loss curve and the tangent of one parameter')"

# A student's own correct code: written differently from labs_solutions, as a real student would.
BACKPROP = """\
        count = log_probabilities.shape[0]
        delta = np.exp(log_probabilities)
        delta[np.arange(count), output] -= 1.0
        delta = delta / count
        for layer in range(self.num_layers - 1, -1, -1):
            W = self.parameters[layer][0]
            gradients[layer] = [delta.T @ layer_inputs[layer], delta.sum(axis=0, keepdims=True)]
            if layer > 0:
                a = layer_inputs[layer]
                slope = {"sigmoid": a * (1 - a), "tanh": 1 - a * a, "relu": (a > 0) * 1.0}
                delta = (delta @ W) * slope[self.activation_functions[layer - 1]]
"""
FORWARD = """\
            scores = activation @ weight.T + bias
            if n == last:
                activation = torch.log_softmax(scores, dim=1)
            else:
                activation = TORCH_HIDDEN_ACTIVATIONS[self.activation_functions[n]](scores)
"""
ANSWER = """\
    gold = np.zeros_like(probabilities)
    gold[np.arange(len(output)), output] = 1.0
    return (probabilities - gold) @ weight / len(output)"""
TANGENT = """\
    read, write = get_mlp_parameter_handlers(layer_index, is_bias, row, column)
    w0, loss0 = read(model.parameters), model.cross_entropy_loss(batch["input"], batch["output"])
    weight_range, loss_range = get_mlp_loss_range(model, read, write, batch)
    tangent = loss0 + read(gradients) * (weight_range - w0)"""

BUGS = {  # name: (module, correct text, buggy text)
    "sum_not_mean": ("numpy_mlp", "delta = delta / count", "delta = delta * 1.0"),
    "no_activation_derivative": ("numpy_mlp", "delta = (delta @ W) * slope[self.activation_functions[layer - 1]]",
                                 "delta = delta @ W"),
    "wrong_tanh_relu_derivatives": ("numpy_mlp", '"tanh": 1 - a * a, "relu": (a > 0) * 1.0',
                                    '"tanh": 1 - a, "relu": a'),
    "raises": ("numpy_mlp", "delta.T @ layer_inputs[layer]", "delta @ layer_inputs[layer]"),
    # forgot to advance the loop: it never ends (and allocates nothing while it spins)
    "infinite_loop": ("pytorch_mlp", "            scores = activation", "            while len(self.parameters) > 0:\n"
                      "                pass\n            scores = activation"),
    # a genuine library warning on every call: torch warns when a tensor is copied with torch.tensor
    "warns": ("pytorch_mlp", "scores = activation @", "scores = (torch.tensor(activation) if n == 0 else activation) @"),
}

CELLS = ["test_2_1_input_gradient", "test_2_2_tangent", "test_2_2_output_layer", "test_2_2_all_layers",
         "test_2_2_hidden", "test_2_4_log_forward", "test_2_4_hidden"]
EXPECTED = {  # student: points per cell, in the order of CELLS
    "correct": [1, 1, 1, 2, 2, 2, 1],
    "stub_left": [0, 0, 0, 0, 0, 0, 0],
    "sum_not_mean": [1, 1, 0, 0, 0, 2, 1],                   # the tangent test does not use backpropagation
    "no_activation_derivative": [1, 1, 1, 0, 0, 2, 1],       # the output layer needs no activation derivative
    "wrong_tanh_relu_derivatives": [1, 1, 1, 2, 0, 2, 1],    # the books network is sigmoid: only hidden tests see it
    "raises": [1, 1, 0, 0, 0, 2, 1],
    "infinite_loop": [1, 1, 1, 2, 2, 0, 0],                  # interrupted at the timeout, scored 0
    "warns": [1, 1, 1, 2, 2, 2, 1],                          # stderr in a test cell does not cost points
    "deleted_test_cell": [1, 1, 1, 2, 2, 2, 1],              # restored and graded
    "edited_test_cell": [1, 1, 1, 0, 0, 2, 1],               # the edit (pass) is undone: the bug is caught
}
MALFORMED = "malformed_notebook"


def _replace_once(text, old, new, what):
    assert text.count(old) == 1, f"sample {what}: expected exactly one {old!r}"
    return text.replace(old, new)


def _write_submission(release, folder, name):
    """The released files as student ``name`` hands them in."""
    shutil.copytree(release, folder)
    modules = {module: folder / "labs" / f"{module}.py" for module in ("numpy_mlp", "pytorch_mlp")}
    notebook_path = folder / f"{ASSIGNMENT}.ipynb"
    if name == MALFORMED:
        notebook_path.write_text('{"cells": [', encoding="utf-8")
        return
    if name == "stub_left":
        return
    texts = {module: path.read_text(encoding="utf-8") for module, path in modules.items()}
    texts["numpy_mlp"] = _replace_once(texts["numpy_mlp"], BACKPROP_STUB, BACKPROP, name)
    texts["pytorch_mlp"] = _replace_once(texts["pytorch_mlp"], FORWARD_STUB, FORWARD, name)
    bug = BUGS.get(name if name != "edited_test_cell" else "no_activation_derivative")
    if bug:
        module, old, new = bug
        texts[module] = _replace_once(texts[module], old, new, name)
    for module, path in modules.items():
        path.write_text(texts[module], encoding="utf-8")

    notebook = json.loads(notebook_path.read_text(encoding="utf-8"))
    cells = {cell["id"]: cell for cell in notebook["cells"]}
    for cell_id, stub, own in (("ex2_1_answer", ANSWER_STUB, ANSWER), ("ex2_2_tangent_answer", TANGENT_STUB, TANGENT)):
        cells[cell_id]["source"] = _replace_once("".join(cells[cell_id]["source"]), stub, own, name)
    if name == "deleted_test_cell":
        notebook["cells"] = [cell for cell in notebook["cells"] if cell["id"] != "test_2_2_all_layers"]
    if name == "edited_test_cell":
        cells["test_2_2_all_layers"]["source"] = "pass  # nothing to check here\n"
    notebook_path.write_text(json.dumps(notebook, indent=1), encoding="utf-8")


def _run_class(root):
    assignment = get_assignment(ASSIGNMENT)
    course = root / "course"
    build_course(course, [assignment], timeout=TIMEOUT)
    release = course / "release" / ASSIGNMENT
    submissions = root / "submissions"
    for name in [*EXPECTED, MALFORMED]:
        _write_submission(release, submissions / name, name)
    run = grade_assignment(course, assignment, submissions, root / "grades.csv", in_kernel=True)
    grades, cells, _ = run.files
    return {"course": str(course), "submissions": str(submissions), "problems": run.problems,
            "graded": run.graded, "grades_csv": str(grades), "cells_csv": str(cells),
            "scores": {student: {cell: score for cell, (score, _) in by_cell.items()}
                       for student, by_cell in cell_scores(course, assignment).items()}}


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory, worker_id, books):
    """Run the class once; a second xdist worker waits for the first and reads its results."""
    session_dir = tmp_path_factory.getbasetemp()
    if worker_id != "master":  # under xdist each worker has its own folder inside the session's
        session_dir = session_dir.parent
    shared = session_dir / "course_end_to_end"
    shared.mkdir(exist_ok=True)
    results = shared / "results.json"
    with FileLock(str(shared / "lock")):
        if not results.exists():
            started = time.perf_counter()
            data = _run_class(shared)
            data["seconds"] = time.perf_counter() - started
            results.write_text(json.dumps(data), encoding="utf-8")
    data = json.loads(results.read_text(encoding="utf-8"))
    for key in ("course", "submissions"):
        data[key] = Path(data[key])
    return data


def _autograded_cell(graded_class, student, cell_id):
    path = graded_class["course"] / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    cells = [cell for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]
             if cell_grade_id(cell) == cell_id]
    assert len(cells) == 1, f"{student}: {len(cells)} cells with grade id {cell_id}"
    return cells[0]


def _feedback_text(graded_class, student):
    page = graded_class["course"] / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html"
    return " ".join(readable_text(page).split())


def test_every_submission_gets_the_expected_score_per_test_cell(graded_class):
    obtained = {student: [graded_class["scores"].get(student, {}).get(cell) for cell in CELLS]
                for student in EXPECTED}
    table = "\n".join(f"{student:30s} expected {EXPECTED[student]} obtained {obtained[student]}"
                      for student in EXPECTED)
    print(f"\n{table}\n(class graded in {graded_class['seconds']:.0f} s)")
    assert obtained == EXPECTED, table


def test_a_malformed_notebook_is_reported_and_does_not_stop_the_class(graded_class):
    assert list(graded_class["problems"]) == [MALFORMED]
    assert graded_class["problems"][MALFORMED].startswith("backprop_mlp.ipynb is not a notebook: not JSON text")
    assert sorted(graded_class["graded"]) == sorted(EXPECTED)


def test_grade_export_has_each_student_total(graded_class):
    with open(graded_class["grades_csv"], encoding="utf-8") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    for student, points in EXPECTED.items():
        assert float(rows[student]["raw_score"]) == pytest.approx(sum(points)), student
        assert float(rows[student]["max_score"]) == pytest.approx(10)
    with open(graded_class["cells_csv"], encoding="utf-8") as handle:
        cell_rows = [row for row in csv.DictReader(handle) if row["student_id"] == "no_activation_derivative"]
    assert {row["cell"]: float(row["score"]) for row in cell_rows if row["cell"] in CELLS} == \
        dict(zip(CELLS, map(float, EXPECTED["no_activation_derivative"])))


def test_release_and_feedback_hold_no_solution_or_hidden_test_line(graded_class):
    secrets = secret_lines(get_assignment(ASSIGNMENT))
    assert any("index2onehot(output, probabilities.shape[1])" in line for line in secrets)  # notebook answer
    assert any("derivative_from_output" in line for line in secrets)                      # module solution
    assert any("hidden_generator" in line for line in secrets)                            # hidden test
    for folder in ("release", "feedback"):
        assert (graded_class["course"] / folder).exists()
        assert find_leaks(graded_class["course"] / folder, secrets) == []


def test_the_student_module_not_the_source_copy_is_graded(graded_class):
    for student in ("correct", "sum_not_mean"):
        submitted = (graded_class["submissions"] / student / "labs" / "numpy_mlp.py").read_text(encoding="utf-8")
        graded = graded_class["course"] / "autograded" / student / ASSIGNMENT / "labs" / "numpy_mlp.py"
        assert graded.read_text(encoding="utf-8") == submitted


def test_a_warning_in_a_test_cell_keeps_full_marks(graded_class):
    outputs = _autograded_cell(graded_class, "warns", "test_2_4_log_forward")["outputs"]
    text = "".join("".join(output.get("text", "")) for output in outputs)
    assert "UserWarning" in text  # the warning was there, in the graded cell...
    assert graded_class["scores"]["warns"]["test_2_4_log_forward"] == 2  # ...and cost nothing


def test_the_feedback_summary_names_each_test_cell(graded_class):
    page = (graded_class["course"] / "feedback" / "correct" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert "Test cell" not in page  # nbgrader's name for every one of them
    named = re.findall(r'<li><a href="#(\w+)"><code>\1</code> (Test [^<]*)</a> \(Score', page)
    assert [grade_id for grade_id, _ in named] == CELLS
    assert dict(named)["test_2_2_output_layer"] == \
        "Test 2.2b: the gradients of the output layer (layer 1) on a batch of reviews."


def test_hidden_tests_show_only_pass_or_fail_in_feedback(graded_class):
    passed, failed = _feedback_text(graded_class, "correct"), _feedback_text(graded_class, "sum_not_mean")
    assert HIDDEN_PASSED in passed
    assert HIDDEN_FAILED.format(ename="CheckFailed") in failed
    assert "BEGIN HIDDEN TESTS" not in failed and "hidden_activations" not in failed


def _load_student_module(path):
    spec = importlib.util.spec_from_file_location(f"student_{path.parent.parent.name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_feedback_on_a_wrong_gradient_has_the_diagnosis_and_the_tangent_plot(graded_class, books):
    import grading

    student = "sum_not_mean"
    module = _load_student_module(graded_class["submissions"] / student / "labs" / "numpy_mlp.py")
    batch = books.batches("train", batch_size=30)[0]
    model = module.NumpyMLP([books.num_features, 20, books.num_classes], ["sigmoid", "softmax"], 0.05, seed=3)
    diagnosis = grading.check_backpropagation(model, batch["input"], batch["output"]).diagnosis
    assert any("too large" in sentence for sentence in diagnosis)
    feedback = _feedback_text(graded_class, student)
    for sentence in diagnosis:
        assert " ".join(sentence.split()) in feedback
    outputs = _autograded_cell(graded_class, student, "test_2_2_output_layer")["outputs"]
    assert any("image/png" in output.get("data", {}) for output in outputs), "no tangent plot in the failing test"
    page = graded_class["course"] / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html"
    correct_page = graded_class["course"] / "feedback" / "correct" / ASSIGNMENT / f"{ASSIGNMENT}.html"
    images = [len(re.findall(r"<img[^>]+data:image/png", p.read_text(encoding="utf-8"))) for p in (page, correct_page)]
    assert images[0] > images[1], f"feedback images: wrong gradient {images[0]}, correct {images[1]}"


def test_deleted_and_edited_test_cells_are_restored_and_graded(graded_class):
    restored = _autograded_cell(graded_class, "deleted_test_cell", "test_2_2_all_layers")
    assert "was missing from the submission" in "".join(restored["source"])
    assert graded_class["scores"]["deleted_test_cell"]["test_2_2_all_layers"] == 2
    edited = "".join(_autograded_cell(graded_class, "edited_test_cell", "test_2_2_all_layers")["source"])
    assert "assert_gradients_match" in edited and "nothing to check" not in edited


def test_an_infinite_loop_is_interrupted_at_the_timeout(graded_class):
    outputs = _autograded_cell(graded_class, "infinite_loop", "test_2_4_log_forward")["outputs"]
    assert "CellTimeoutError" in [output.get("ename") for output in outputs if output["output_type"] == "error"]
