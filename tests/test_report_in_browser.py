"""The grader's report table keeps its columns where students read it: in an executed notebook
exported to HTML, and in an nbgrader feedback page (whose template drops the notebook's CSS).
Both pages are rendered in headless Chromium (Debian's ``chromium``, driven by Playwright's Python
API with that executable; the set-up installs either when missing). Screenshots are kept in
``out/test-artifacts/``.
"""
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from chromium import ARTIFACTS, browser, open_page  # noqa: F401 (the fixture)
from grading.course.execute import execute_notebook

pytestmark = pytest.mark.slow
MIN_GAP_PX = 8  # between the texts of neighbouring cells: "layer parameter", not "layerparameter"

REPORT_TITLE = "Test 9.1: a network that forgets the first layer's bias"
REPORT_CELL = '''
# Test 9.1 (2 points): a network that forgets the first layer's bias
import numpy as np
from grading import check_backpropagation
from grading.course.test_cell_helpers import with_random_biases
from labs_solutions.numpy_mlp import NumpyMLP

class ForgetsTheFirstBias(NumpyMLP):
    def backpropagation(self, input, output):
        gradients = super().backpropagation(input, output)
        gradients[0][1] = np.zeros_like(gradients[0][1])
        return gradients

rng = np.random.default_rng(0)
check_backpropagation(with_random_biases(ForgetsTheFirstBias([5, 4, 3], ["sigmoid", "softmax"], 0.1), seed=1),
                      rng.normal(size=(6, 5)), np.arange(6) % 3)
'''

# Each header cell's text box, measured by the browser: [left, right, top] in CSS pixels.
HEADER_BOXES = """() => {
  const table = [...document.querySelectorAll('table')].find(t => t.querySelector('th')?.textContent === 'layer');
  return [...table.querySelectorAll('th')].map(th => {
    const range = document.createRange();
    range.selectNodeContents(th);
    const box = range.getBoundingClientRect();
    return [box.left, box.right, box.top];
  });
}"""


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    path = folder / "report.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell(REPORT_CELL.strip())], metadata={
        "kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}}), str(path))
    notebook = execute_notebook(path, folder, parameters={}, timeout=300)
    [output] = [output for output in notebook.cells[0].outputs if output.get("output_type") == "execute_result"]
    assert "FAILED" in output.data["text/plain"] and "layer" in output.data["text/html"]
    return notebook


def _notebook_page(notebook):
    from nbconvert import HTMLExporter

    return HTMLExporter().from_notebook_node(notebook)[0]


def _feedback_page(notebook):
    """The page ``nbgrader generate_feedback`` writes for this notebook in the course: the exporter and
    template the course's configuration sets (``apply_course_chains``), nbgrader's template settings and
    the title preprocessor, with the grade fields GetGrades would fill in."""
    from traitlets.config import Config

    from grading.course.config import apply_course_chains
    from grading.course.preprocessors import NameTestCells, nbgrader_template_dir

    config = apply_course_chains(Config())
    config.HTMLExporter.template_name = "feedback"  # what nbgrader's GenerateFeedback sets
    config.HTMLExporter.extra_template_paths = [str(nbgrader_template_dir().parent / "static" / "node_modules"
                                                    / "bootstrap" / "dist" / "css")]
    exporter = config.GenerateFeedback.exporter_class(config=config)
    exporter.register_preprocessor(NameTestCells(), enabled=True)
    graded = nbformat.from_dict(notebook)
    graded.cells[0].metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "test_report",
                                            "points": 2, "score": 0, "locked": True, "schema_version": 3}
    resources = {"nbgrader": {"notebook": "report", "score": 0, "max_score": 2, "late_penalty": 0}}
    return exporter.from_notebook_node(graded, resources=resources)[0]


def _without_inline_styles(page):
    """The page as it was before the report carried its layout inline (the regression to detect)."""
    return re.sub(r"""(<t[hdr]|<table) style=["'][^"']*["']""", r"\1", page)


def _header_gaps(browser, page, screenshot=None):
    view = open_page(browser, viewport={"width": 1400, "height": 900})
    try:
        view.set_content(page, wait_until="load")
        boxes = view.evaluate(HEADER_BOXES)
        if screenshot is not None:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            view.locator("table").filter(has_text="max rel err").first.screenshot(path=str(ARTIFACTS / screenshot))
            view.screenshot(path=str(ARTIFACTS / screenshot.replace(".png", "-page.png")), full_page=True)
    finally:
        view.close()
    assert len(boxes) == 7
    assert len({round(top) for _, _, top in boxes}) == 1, f"the header is not one row: {boxes}"
    return [right_next[0] - left[1] for left, right_next in zip(boxes, boxes[1:])]


@pytest.mark.parametrize("render", [_notebook_page, _feedback_page], ids=["notebook", "feedback"])
def test_the_report_table_keeps_its_columns_in_chromium(browser, executed, render):
    page = render(executed)
    gaps = _header_gaps(browser, page, screenshot=f"report-{render.__name__.strip('_')}.png")
    assert min(gaps) >= MIN_GAP_PX, f"header cells run together: gaps {gaps} px"
    assert (ARTIFACTS / f"report-{render.__name__.strip('_')}.png").stat().st_size > 1000


def test_without_inline_styles_the_feedback_page_runs_the_header_together(browser, executed):
    """What the test above guards against: the feedback template's CSS leaves no room between cells."""
    gaps = _header_gaps(browser, _without_inline_styles(_feedback_page(executed)))
    assert min(gaps) < MIN_GAP_PX


def test_the_feedback_summary_names_the_test_cell_in_chromium(browser, executed):
    """nbgrader's page says "Test cell" for every test; the course's names each by grade id and title."""
    page = _feedback_page(executed)
    assert "Test cell" not in page
    view = open_page(browser)
    try:
        view.set_content(page, wait_until="load")
        summary = view.locator("#toc li").all_inner_texts()
        heading = view.locator(".nbgrader-label").first.inner_text()
    finally:
        view.close()
    assert summary == [f"test_report {REPORT_TITLE} (Score: 0.0 / 2.0)"]
    assert heading == f"Grade cell: test_report {REPORT_TITLE}"


def test_the_text_form_of_a_report_is_the_readable_table(executed):
    [output] = [output for output in executed.cells[0].outputs if output.get("output_type") == "execute_result"]
    text = output.data["text/plain"]
    assert text.splitlines()[0].endswith("FAILED") and "layer  parameter" in text
    assert "GradientReport(" not in text and "array(" not in text and len(text) < 3000


@pytest.fixture(autouse=True, scope="module")
def _clean_artifacts():
    for old in ARTIFACTS.glob("report-*.png"):  # this module's screenshots only
        old.unlink()
    yield
