"""The course notebooks: student versions generated and in sync, outputs stripped, nbgrader
conventions kept, and every instructor notebook running top to bottom with the solutions."""
import shutil
import sys

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from backprop_labs.generate import SOURCE_NOTEBOOKS_DIR, STUDENT_NOTEBOOKS_DIR
from backprop_labs.stubgen import FenceError, solution_regions
from backprop_labs.student_notebooks import generate_student_notebooks, read_notebook, student_notebook
from grading.course.assignments import all_assignments
from grading.course.execute import execute_notebook, run_with_solutions
from grading.course.leaks import find_leaks, secret_lines

ASSIGNMENTS = all_assignments()
NOTEBOOKS = sorted(SOURCE_NOTEBOOKS_DIR.glob("*.ipynb")) + sorted(STUDENT_NOTEBOOKS_DIR.glob("*.ipynb"))
FIGURES = {"backprop_mlp": {"ex2_2_tangent_plot": 1, "ex2_2_tangent": 2, "comparison": 1}}  # lab figures each notebook must draw


def _nbgrader(cell):
    return cell.metadata.get("nbgrader", {})


def test_the_backprop_lab_has_a_notebook():
    assert "backprop_mlp" in [assignment.name for assignment in ASSIGNMENTS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_notebooks_are_committed_without_outputs(path):
    notebook = read_notebook(path)
    dirty = [cell.id for cell in notebook.cells
             if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)]
    assert dirty == [], f"{path}: clear the outputs of cells {dirty}"


def test_student_notebooks_are_generated_from_the_sources():
    stale = generate_student_notebooks(SOURCE_NOTEBOOKS_DIR, STUDENT_NOTEBOOKS_DIR, check=True)
    assert stale == [], f"out of date: {stale}; run `backprop-labs generate`"


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=lambda a: a.name)
def test_student_notebook_has_named_stubs_and_no_secret(assignment, tmp_path):
    student_path = STUDENT_NOTEBOOKS_DIR / assignment.notebook.name
    shutil.copy(student_path, tmp_path)
    assert find_leaks(tmp_path, secret_lines(assignment)) == []
    student_sources = "\n".join(cell.source for cell in read_notebook(student_path).cells)
    for cell in read_notebook(assignment.notebook).cells:
        for _, _, name, _ in solution_regions(cell.source):
            assert f"raise NotImplementedError({name!r})" in student_sources


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=lambda a: a.name)
def test_source_notebook_keeps_the_course_conventions(assignment):
    notebook = read_notebook(assignment.notebook)
    assert notebook.metadata.kernelspec.name == "python3"
    assert all(cell.get("id") for cell in notebook.cells)
    marked = [cell for cell in notebook.cells if _nbgrader(cell)]
    grade_ids = [_nbgrader(cell)["grade_id"] for cell in marked]
    assert len(grade_ids) == len(set(grade_ids)), f"duplicate grade ids: {grade_ids}"
    # only answer and test cells: nbgrader puts a deleted test cell back after one of those
    assert [cell.id for cell in marked if not (_nbgrader(cell).get("solution") or _nbgrader(cell).get("grade"))] == []
    tests = [cell for cell in marked if _nbgrader(cell).get("grade")]
    assert tests, "an assignment needs at least one test cell"
    for cell in tests:
        assert cell.cell_type == "code" and _nbgrader(cell)["points"] > 0 and _nbgrader(cell)["locked"], cell.id
        if "BEGIN HIDDEN TESTS" in cell.source:  # hidden tests alone in their cell, after comments
            before = cell.source.split("### BEGIN HIDDEN TESTS")[0]
            assert all(line.startswith("#") for line in before.splitlines() if line.strip()), cell.id
    parameters = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(parameters) <= 1


def _answer_cell(source):
    cell = new_code_cell(source)
    cell.metadata.nbgrader = {"grade": False, "solution": True, "locked": False, "grade_id": "answer",
                              "schema_version": 3, "task": False}
    return cell


def _test_cell(source):
    cell = new_code_cell(source, outputs=[new_output("stream", name="stdout", text="ok\n")], execution_count=3)
    cell.metadata.nbgrader = {"grade": True, "solution": False, "locked": True, "points": 1,
                              "grade_id": "test", "schema_version": 3, "task": False}
    return cell


def test_student_version_stubs_named_regions_and_drops_hidden_tests_and_outputs():
    source = new_notebook(cells=[
        new_markdown_cell("# Lab"),
        _answer_cell("x = 1\n### BEGIN SOLUTION (Exercise 9.1: compute y)\ny = 2 * x\n### END SOLUTION\nprint(y)"),
        _test_cell("# Test\nassert y == 2\n### BEGIN HIDDEN TESTS\nassert y + 1 == 3\n### END HIDDEN TESTS"),
    ])
    student = student_notebook(source, "lab.ipynb")
    assert student.cells[1].source == "x = 1\nraise NotImplementedError('Exercise 9.1: compute y')\nprint(y)"
    assert student.cells[2].source == "# Test\nassert y == 2"
    assert student.cells[2].outputs == [] and student.cells[2].execution_count is None
    assert student.cells[2].metadata.editable is False  # test cells are locked
    assert source.cells[1].source.count("y = 2 * x") == 1  # the source is left as it was


@pytest.mark.parametrize("cells, message", [
    ([_answer_cell("### BEGIN SOLUTION\ny = 2\n### END SOLUTION")], "name the exercise"),
    ([new_code_cell("### BEGIN SOLUTION (Exercise 9.1: y)\ny = 2\n### END SOLUTION")], "non-solution cell"),
    ([_answer_cell("### BEGIN SOLUTION (Exercise 9.1: y)\ny = 2")], "never closed"),
])
def test_malformed_solution_regions_are_refused_with_a_reason(cells, message):
    with pytest.raises(FenceError, match=message):
        student_notebook(new_notebook(cells=cells), "lab.ipynb")


def test_generate_check_lists_missing_edited_and_stale_notebooks(tmp_path):
    source_dir, student_dir = tmp_path / "source", tmp_path / "student"
    source_dir.mkdir()
    nbformat.write(new_notebook(cells=[_answer_cell("### BEGIN SOLUTION (Exercise 9.1: y)\ny = 2\n### END SOLUTION")]),
                   str(source_dir / "lab.ipynb"))
    assert generate_student_notebooks(source_dir, student_dir, check=True) == ["lab.ipynb"]
    assert not student_dir.exists()  # --check writes nothing
    assert generate_student_notebooks(source_dir, student_dir) == ["lab.ipynb"]
    assert generate_student_notebooks(source_dir, student_dir, check=True) == []
    (student_dir / "lab.ipynb").write_text((student_dir / "lab.ipynb").read_text().replace("9.1", "9.2"))
    (student_dir / "old.ipynb").write_text("{}")
    (student_dir / ".ipynb_checkpoints").mkdir()
    (student_dir / ".ipynb_checkpoints" / "lab-checkpoint.ipynb").write_text("{}")
    assert generate_student_notebooks(source_dir, student_dir, check=True) == ["lab.ipynb", "old.ipynb"]
    generate_student_notebooks(source_dir, student_dir)
    assert sorted(path.name for path in student_dir.glob("*.ipynb")) == ["lab.ipynb"]


def test_a_malformed_notebook_file_is_named(tmp_path):
    (tmp_path / "broken.ipynb").write_text('{"cells": [', encoding="utf-8")
    with pytest.raises(ValueError, match="broken.ipynb: not a valid notebook"):
        read_notebook(tmp_path / "broken.ipynb")


def test_the_kernel_is_this_python(tmp_path):
    path = tmp_path / "where.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("import sys; print(sys.prefix)")],
                                metadata={"kernelspec": {"name": "python3", "language": "python",
                                                         "display_name": "Python 3"}}), str(path))
    executed = execute_notebook(path, tmp_path, timeout=120)
    assert executed.cells[0].outputs[0].text.strip() == sys.prefix


@pytest.mark.corpus
@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=lambda a: a.name)
def test_instructor_notebook_runs_top_to_bottom_with_the_solutions(assignment, tmp_path, books):
    executed = run_with_solutions(assignment, tmp_path)  # a failing cell raises with its traceback
    if any("parameters" in cell.metadata.get("tags", []) for cell in executed.cells):
        assert "injected-parameters" in [cell.get("id") for cell in executed.cells]
    for cell_id, expected in FIGURES.get(assignment.name, {}).items():
        [cell] = [cell for cell in executed.cells if cell.get("id") == cell_id]
        figures = [output for output in cell.outputs if "image/png" in output.get("data", {})]
        assert len(figures) == expected, f"{cell_id}: {len(figures)} figure(s), expected {expected}"


def _signature(source):
    """What a piece of test code exercises: the functions it calls (not those it defines), its string
    constants (configuration kinds such as "tanh"), its seeds (``seed=N``, ``default_rng(N)``) and
    its other numbers."""
    import ast

    tree = ast.parse(source)
    defined = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    formatted = {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in ast.walk(node)}
    calls, strings, seeds, numbers = set(), set(), set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            if name not in defined:
                calls.add(name)
            seed_arguments = [keyword.value for keyword in node.keywords if keyword.arg == "seed"]
            if name == "default_rng":
                seed_arguments += node.args[:1]
            seeds.update(argument.value for argument in seed_arguments if isinstance(argument, ast.Constant))
        elif isinstance(node, ast.Constant) and id(node) not in formatted:
            if isinstance(node.value, str):
                strings.add(node.value)
            elif isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
                numbers.append(node.value)
    return calls, strings, seeds, sorted(numbers)


def _hidden_cells_with_twins():
    for assignment in ASSIGNMENTS:
        cells = read_notebook(assignment.notebook).cells
        for index, cell in enumerate(cells):
            if "### BEGIN HIDDEN TESTS" not in cell.source:
                continue
            hidden = cell.source.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0]
            twin = next((earlier for earlier in reversed(cells[:index]) if earlier.cell_type == "code"), None)
            yield pytest.param(hidden, twin, id=f"{assignment.name}/{cell.id}")


@pytest.mark.parametrize("hidden, twin", list(_hidden_cells_with_twins()))
def test_every_hidden_test_has_a_visible_twin_on_other_data(hidden, twin):
    """The code cell before a hidden test exercises the same requirement the student can see fail:
    the same functions, the same configuration kinds, other seeds or other numbers. A student whose
    visible checks pass then loses hidden points only by fitting the visible data."""
    assert twin is not None and "### BEGIN HIDDEN TESTS" not in twin.source
    hidden_calls, hidden_strings, hidden_seeds, hidden_numbers = _signature(hidden)
    twin_calls, twin_strings, twin_seeds, twin_numbers = _signature(twin.source)
    assert hidden_calls <= twin_calls, f"the visible twin {twin.id} never calls {sorted(hidden_calls - twin_calls)}"
    assert hidden_strings <= twin_strings, f"the visible twin {twin.id} lacks {sorted(hidden_strings - twin_strings)}"
    assert not hidden_seeds & twin_seeds, f"the visible twin {twin.id} uses the hidden seeds {hidden_seeds & twin_seeds}"
    assert hidden_seeds or hidden_numbers != twin_numbers, f"the visible twin {twin.id} uses the hidden data"


def test_the_twin_rule_catches_a_hidden_configuration_the_student_never_sees():
    [visible] = [new_code_cell('check(Model(["sigmoid", "softmax"], seed=1))')]
    calls, strings, seeds, _ = _signature('check(Model(["tanh", "softmax"], seed=1))')
    twin_calls, twin_strings, twin_seeds, _ = _signature(visible.source)
    assert calls <= twin_calls
    assert not strings <= twin_strings  # "tanh" is never shown
    assert seeds & twin_seeds == {1}    # and the seed is the same
