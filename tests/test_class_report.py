"""The class report on a class whose mistakes are planted: 3 students leave out the 1/B of the mean,
2 evaluate the activation's derivative at the pre-activation z, 2 are right, 1 hands in an empty
notebook. The ranked causes, their counts, the CSVs, the anonymised examples and the page itself
(self-contained, rendered in headless Chromium; screenshot ``out/test-artifacts/class-report.png``)
must show exactly that."""
import csv
import re

import pytest

from grading.cli import main
from grading.course.assignments import get_assignment
from grading.course.class_report import ANONYMOUS, anonymise, write_class_report
from grading.course.pipeline import CourseError
from chromium import ARTIFACTS, browser, open_page  # noqa: F401 (the fixture)
from trusted_class import _build_course_folder, make_submission

pytestmark = [pytest.mark.corpus, pytest.mark.slow]
ASSIGNMENT = "backprop_mlp"
MEAN = ("error = (np.exp(log_probabilities) - onehot) / batch_size", "error = np.exp(log_probabilities) - onehot")
AT_Z = ("error = (error @ weight) * derivative(layer_inputs[n])",
        "error = (error @ weight) * derivative(layer_inputs[n - 1] @ self.parameters[n - 1][0].T"
        " + self.parameters[n - 1][1])")
# student -> the line of labs/numpy_mlp.py replaced (None: honest); "no notebook" hands in none
CLASS = {"s1_sum": MEAN, "s2_sum": MEAN, "s3_sum": MEAN, "s4_at_z": AT_Z, "s5_at_z": AT_Z,
         "s6_right": None, "s7_right": None, "s8_no_notebook": "no notebook"}
GRADED = 7
EXPECTED_CAUSES = [  # (cause, students), in rank order, for numpy_mlp_backpropagation; no other exercise fails
    ("missing_batch_mean", ["s1_sum", "s2_sum", "s3_sum"]),
    ("sigmoid_derivative_at_preactivation", ["s4_at_z", "s5_at_z"]),   # the sigmoid layers of the cases
    ("tanh_derivative_at_preactivation", ["s4_at_z", "s5_at_z"]),      # the tanh layer (ReLU's is the same at z)
]


def _rows(path):
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def graded(tmp_path_factory, books):
    root = tmp_path_factory.mktemp("class_report")
    assignment = get_assignment(ASSIGNMENT)
    release = _build_course_folder(root / "course", assignment)
    for student, change in CLASS.items():
        folder = root / "submissions" / student
        make_submission(release, folder, "honest", assignment)
        if change == "no notebook":
            (folder / f"{ASSIGNMENT}.ipynb").unlink()
        elif change is not None:
            module = folder / "labs" / "numpy_mlp.py"
            text = module.read_text(encoding="utf-8")
            assert text.count(change[0]) == 1, f"numpy_mlp.py no longer has the line {change[0]!r}"
            module.write_text(text.replace(*change), encoding="utf-8")
    status = main(["grade", str(root / "course"), ASSIGNMENT, "--submissions", str(root / "submissions"),
                   "--workers", "2"])
    # Only the student without a notebook is left ungraded; any other student's reason is shown here.
    problems = _rows(root / "course" / "grades" / f"{ASSIGNMENT}-problems.csv")
    assert [row["student_id"] for row in problems] == ["s8_no_notebook"], problems
    return root, status


def test_the_ranked_causes_are_the_planted_mistakes(graded):
    root, status = graded
    assert status == 1  # the missing notebook
    rows = _rows(root / "course" / "reports" / f"{ASSIGNMENT}.csv")
    assert [(row["exercise"], row["rank"], row["cause"], row["students"], row["graded_students"], row["percent"])
            for row in rows] == [("numpy_mlp_backpropagation", str(rank), cause, str(len(students)), str(GRADED),
                                  f"{100 * len(students) / GRADED:.1f}")
                                 for rank, (cause, students) in enumerate(EXPECTED_CAUSES, 1)]
    assert "B = " in rows[0]["sentence"] and "MEAN" in rows[0]["sentence"]
    assert "pre-activation" in rows[1]["sentence"] and "a * (1 - a)" in rows[1]["sentence"]


def test_the_causes_csv_has_each_students_causes(graded):
    root, _ = graded
    found = {}
    for row in _rows(root / "course" / "grades" / f"{ASSIGNMENT}-causes.csv"):
        assert row["exercise"] == "numpy_mlp_backpropagation" and row["cases"]
        found.setdefault(row["cause"], []).append(row["student_id"])
    assert {cause: sorted(students) for cause, students in found.items()} == dict(EXPECTED_CAUSES)


def test_the_page_is_self_contained_and_names_the_student_not_graded(graded):
    root, _ = graded
    page = (root / "course" / "reports" / f"{ASSIGNMENT}.html").read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page, re.I)
    assert "<script" not in page and "<link" not in page
    images = re.findall(r"""<img[^>]*src=['"]([^'"]+)['"]""", page)
    assert images and all(src.startswith("data:image/png;base64,") for src in images)
    not_graded = page[page.index("id='not-graded'"):]
    assert "s8_no_notebook" in not_graded and "no backprop_mlp.ipynb in the submission" in not_graded
    assert "7 graded, 1 could not be graded" in page
    # every honest student handed in the reference itself: the similarity section flags them as one copy
    similar = {(row["student"], row["other_student"]): row["similarity"]
               for row in _rows(root / "course" / "reports" / f"{ASSIGNMENT}-similarity.csv")}
    assert similar[("s6_right", "s7_right")] == "1.000" and ("s1_sum", "s2_sum") in similar
    assert "id='similar-pairs'" in page and "s6_right and s7_right" in page


def test_each_cause_links_an_anonymised_example(graded):
    root, _ = graded
    reports = root / "course" / "reports"
    for row in _rows(reports / f"{ASSIGNMENT}.csv"):
        example = reports / row["example"]
        text = example.read_text(encoding="utf-8")
        assert not any(student in text for student in CLASS), example
        # the end of the sentence: its start may name another case's batch size B
        assert "likely cause" in text and row["sentence"][-40:] in text.replace("&#39;", "'")
        assert not re.search(r"s\d_(sum|at_z|right|empty)", example.name)


def test_course_report_rewrites_the_same_report(graded, capsys):
    root, _ = graded
    reports = root / "course" / "reports"
    before = (reports / f"{ASSIGNMENT}.csv").read_text(encoding="utf-8")
    (reports / f"{ASSIGNMENT}.csv").unlink()
    assert main(["course", "report", str(root / "course"), ASSIGNMENT]) == 0
    assert (reports / f"{ASSIGNMENT}.csv").read_text(encoding="utf-8") == before
    assert "class report in" in capsys.readouterr().out


def test_the_page_renders_in_chromium(graded, browser):  # noqa: F811
    root, _ = graded
    page_path = root / "course" / "reports" / f"{ASSIGNMENT}.html"
    view = open_page(browser, viewport={"width": 1400, "height": 900})
    try:
        view.goto(page_path.as_uri(), wait_until="load")
        assert view.evaluate("() => document.getElementById('score-distribution').naturalWidth") > 0
        table = view.locator("table.causes")
        assert table.count() == 1 and table.is_visible()
        assert table.locator("tr").count() == 1 + len(EXPECTED_CAUSES)
        assert "missing_batch_mean" in table.locator("tr").nth(1).inner_text()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / "class-report.png"
        shot.unlink(missing_ok=True)
        view.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        with view.expect_navigation():
            table.locator("a").first.click()
        assert "likely cause" in view.content()
    finally:
        view.close()


def test_anonymise_replaces_whole_ids_only():
    assert anonymise("s1 wrote s1_sum; see s1/file and s10", "s1") == f"{ANONYMOUS} wrote s1_sum; see {ANONYMOUS}/file and s10"


def test_a_course_not_graded_yet_is_named(tmp_path):
    with pytest.raises(CourseError, match="run `backprop-labs grade .* backprop_mlp` first"):
        write_class_report(tmp_path, get_assignment(ASSIGNMENT))
