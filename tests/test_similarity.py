"""The similarity section of the class report: a planted pair of renamed copies is flagged, two
independent correct solutions are not, and the starter code every student starts from never counts.

The class is written straight into a course folder (no grading run): the released stub of
``labs/numpy_mlp.py``, and per student a ``submitted/`` copy whose backpropagation is the reference's,
a renamed and reformatted copy of it, an implementation written differently here (checked against the
reference's gradients), or the untouched stub."""
import csv
import importlib.util
import re

import numpy as np
import pytest

from backprop_labs.paths import REPOSITORY_ROOT
from grading.course.assignments import get_assignment
from grading.course.class_report import write_class_report
from grading.course.pipeline import EXPORT_COLUMNS
from grading.course.similarity import MIN_SHARED_RUNS, THRESHOLD, class_units, flagged, similar_pairs
from chromium import browser, open_page  # noqa: F401 (the fixture)

ASSIGNMENT = "backprop_mlp"
MODULE = "labs/numpy_mlp.py"
REFERENCE = (REPOSITORY_ROOT / "labs_solutions" / "numpy_mlp.py").read_text(encoding="utf-8")
REGION = re.search(r"        ### BEGIN SOLUTION \(Exercise 2\.2.*?### END SOLUTION\n", REFERENCE, re.S).group(0)
# Written apart from the reference: the softmax error in place, einsum, a while loop, the derivative by name.
INDEPENDENT = '''        probabilities = np.exp(log_probabilities)
        probabilities[np.arange(len(output)), output] -= 1.0
        delta = probabilities / len(output)
        n = self.num_layers - 1
        while n >= 0:
            below = layer_inputs[n]
            gradients[n] = [np.einsum("bo,bi->oi", delta, below), delta.sum(axis=0)[None, :]]
            if n == 0:
                break
            back = delta.dot(self.parameters[n][0])
            name = self.activation_functions[n - 1]
            if name == "relu":
                back = back * (below > 0)
            elif name == "tanh":
                back = back * (1 - below * below)
            else:
                back = back * below * (1 - below)
            delta = back
            n -= 1
'''
RENAMES = {"error": "sig", "onehot": "target_matrix", "batch_size": "m", "derivative_from_output": "deriv",
           "weight": "W_n", "num_classes": "k"}


def renamed_copy(region):
    """``region`` with its names changed, its comments rewritten, a constant changed and blank lines added."""
    for old, new in RENAMES.items():
        region = re.sub(rf"\b{old}\b", new, region)
    region = re.sub(r"# .*", "# worked this out myself", region).replace("1.0", "1.00")
    return region.replace("\n        for ", "\n\n\n        for ")


def _load(path):
    spec = importlib.util.spec_from_file_location(f"student_{path.parent.parent.parent.name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("similarity") / "course"
    assignment = get_assignment(ASSIGNMENT)
    assignment.write_files(root / "release" / ASSIGNMENT)   # the stub modules students start from
    stub = (root / "release" / ASSIGNMENT / MODULE).read_text(encoding="utf-8")
    code = {"reference": REFERENCE, "copier": REFERENCE.replace(REGION, renamed_copy(REGION)),
            "independent": REFERENCE.replace(REGION, INDEPENDENT), "stub_a": stub, "stub_b": stub}
    for student, text in code.items():
        folder = root / "submitted" / student / ASSIGNMENT
        assignment.write_files(folder)
        (folder / MODULE).write_text(text, encoding="utf-8")
    return root


def test_the_independent_solution_is_correct(course):
    reference = _load(course / "submitted" / "reference" / ASSIGNMENT / MODULE)
    independent = _load(course / "submitted" / "independent" / ASSIGNMENT / MODULE)
    rng = np.random.default_rng(3)
    inputs, outputs = rng.normal(size=(5, 4)), rng.integers(0, 3, size=5)
    for activations in (["sigmoid", "tanh", "softmax"], ["relu", "softmax"]):
        geometry = [4] + [6] * (len(activations) - 1) + [3]
        expected = reference.NumpyMLP(geometry, activations, 0.1).backpropagation(inputs, outputs)
        found = independent.NumpyMLP(geometry, activations, 0.1).backpropagation(inputs, outputs)
        for expected_pair, found_pair in zip(expected, found):
            for want, got in zip(expected_pair, found_pair):
                assert got.shape == want.shape
                np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_only_the_renamed_copy_is_flagged(course):
    units = class_units(course, get_assignment(ASSIGNMENT), ["reference", "copier", "independent", "stub_a",
                                                             "stub_b"])
    assert not units["stub_a"] and not units["stub_b"]   # the starter code is nobody's own code
    assert list(units["copier"]) == [f"{MODULE}: NumpyMLP.backpropagation"]
    pairs = {(pair.first, pair.second): pair for pair in similar_pairs({s: u for s, u in units.items() if u})}
    assert [(pair.first, pair.second) for pair in flagged(pairs.values())] == [("copier", "reference")]
    assert pairs[("copier", "reference")].similarity == 1.0
    assert pairs[("copier", "reference")].shared >= MIN_SHARED_RUNS
    for pair in (("independent", "reference"), ("copier", "independent")):
        assert pairs[pair].similarity < THRESHOLD / 4, pairs[pair]


def _write_grade_files(course, students):
    grades = course / "grades"
    grades.mkdir(parents=True, exist_ok=True)
    with open(grades / f"{ASSIGNMENT}.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, EXPORT_COLUMNS)
        writer.writeheader()
        writer.writerows(dict(dict.fromkeys(EXPORT_COLUMNS, ""), assignment=ASSIGNMENT, student_id=student,
                              score=1.0, max_score=1.0) for student in students)
    with open(grades / f"{ASSIGNMENT}-cells.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["assignment", "student_id", "cell", "score", "max_score"])
        writer.writerows([ASSIGNMENT, student, "test_2_2", 1.0, 1.0] for student in students)


@pytest.mark.slow   # Chromium
def test_the_class_report_shows_the_pair_side_by_side(course, browser):  # noqa: F811
    _write_grade_files(course, ["reference", "copier", "independent", "stub_a", "stub_b"])
    page_path, _ = write_class_report(course, get_assignment(ASSIGNMENT))
    with open(course / "reports" / f"{ASSIGNMENT}-similarity.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(row["student"], row["other_student"], row["similarity"]) for row in rows] == [
        ("copier", "reference", "1.000")]
    page = page_path.read_text(encoding="utf-8")
    assert f"at least {THRESHOLD:.0%}" in page and "3 students' exercise code compared" in page
    view = open_page(browser, viewport={"width": 1400, "height": 900})
    try:
        view.goto(page_path.as_uri(), wait_until="load")
        table = view.locator("#similar-pairs")
        assert table.is_visible() and table.locator("tr").count() == 2
        assert "copier and reference" in table.inner_text()
        side = view.locator("table.side-by-side").first
        assert side.is_visible()
        left, right = side.locator("pre").nth(0).inner_text(), side.locator("pre").nth(1).inner_text()
        assert "target_matrix" in left and "def backpropagation" in left   # the copier's own names
        assert "onehot" in right and "target_matrix" not in right
    finally:
        view.close()
