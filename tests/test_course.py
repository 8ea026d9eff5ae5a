"""Course tooling pieces, without running nbgrader: config, preprocessors, assignments, leaks, collection."""
import json
import os

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output
from nbgrader.utils import determine_grade
from traitlets.config import Config, PyFileConfigLoader

from backprop_labs.paths import REPOSITORY_ROOT
from grading.cli import main
from grading.course.assignments import (Assignment, AssignmentError, all_assignments, assignment_table,
                                        get_assignment)
from grading.course.config import apply_course_chains, write_config
from grading.course.leaks import find_leaks, secret_lines
from grading.course.submissions import ID_RULE, cell_grade_id, collect_submissions
from grading.course.preprocessors import (HIDDEN_FAILED, HIDDEN_PASSED, ClearHiddenTestsAndOutputs, HideServerPaths,
                                          InjectParameters, KeepHiddenTestsFromKernel, KeepTrustedScores,
                                          PutHiddenTestsBack, StderrAsStdout, inject_parameters)

BACKPROP = get_assignment("backprop_mlp")


def _test_cell(source, outputs=(), points=2):
    cell = new_code_cell(source, outputs=list(outputs))
    cell.metadata.nbgrader = {"grade": True, "solution": False, "locked": True, "points": points,
                              "grade_id": "test_cell", "schema_version": 3, "task": False}
    return cell


def test_course_chains_put_each_fix_in_its_place():
    from nbgrader.preprocessors import ClearSolutions, Execute, GetGrades, SaveAutoGrades

    from backprop_labs.student_notebooks import NamedClearSolutions

    c = apply_course_chains(Config())
    assert NamedClearSolutions in c.GenerateAssignment.preprocessors
    assert ClearSolutions not in c.GenerateAssignment.preprocessors
    chain = c.Autograde.autograde_preprocessors
    execute = chain.index(Execute)
    assert chain[execute - 2:execute] == [InjectParameters, KeepHiddenTestsFromKernel]   # strips after the new cell
    assert chain[execute + 1:execute + 3] == [PutHiddenTestsBack, StderrAsStdout]
    assert chain.index(StderrAsStdout) < chain.index(SaveAutoGrades)  # before the score is read
    feedback = c.GenerateFeedback.preprocessors
    assert feedback.index(ClearHiddenTestsAndOutputs) == feedback.index(GetGrades) + 1
    assert feedback.index(HideServerPaths) == feedback.index(ClearHiddenTestsAndOutputs) + 1
    assert c.Autograde.sanitize_preprocessors[0] is KeepTrustedScores  # before anything is executed or saved


def test_written_config_excludes_the_edited_modules_from_overwriting(tmp_path):
    path = write_config(tmp_path, [BACKPROP], timeout=7, parameters={"num_epochs": 2})
    config = PyFileConfigLoader(path.name, path=str(tmp_path)).load_config()
    assert config.Autograde.exclude_overwriting == {
        "backprop_mlp": ["labs/log_linear.py", "labs/numpy_mlp.py", "labs/pytorch_mlp.py"]}  # 2.1 comments too
    assert config.OverwriteCells.add_missing_cells is True
    assert config.Execute.timeout == 7
    assert config.Execute.iopub_timeout == 60  # a loaded machine's late output does not fail a submission
    assert config.InjectParameters.parameters == {"num_epochs": 2}
    assert StderrAsStdout in config.Autograde.autograde_preprocessors


def test_stderr_in_a_test_cell_no_longer_costs_the_points():
    warning = new_output("stream", name="stderr", text="UserWarning: a library complains\n")
    cell = _test_cell("check()", [warning])
    assert determine_grade(cell) == (0, 2)  # nbgrader's rule, the trap
    StderrAsStdout().preprocess_cell(cell, {}, 0)
    assert determine_grade(cell) == (2, 2)
    assert cell.outputs[0].text == warning.text  # the text is kept, as stdout
    failing = _test_cell("check()", [new_output("error", ename="AssertionError", evalue="", traceback=[])])
    StderrAsStdout().preprocess_cell(failing, {}, 0)
    assert determine_grade(failing) == (0, 2)  # an error still scores 0


def test_feedback_keeps_hidden_tests_and_their_traceback_out():
    source = "# Test (hidden)\n### BEGIN HIDDEN TESTS\nassert secret_value == 42\n### END HIDDEN TESTS\n"
    error = new_output("error", ename="AssertionError", evalue="secret_value is 41",
                       traceback=["----> 3 assert secret_value == 42", "AssertionError: secret_value is 41"])
    printed = new_output("stream", name="stdout", text="secret_value = 41\n")
    failed = _test_cell(source, [printed, error])
    ClearHiddenTestsAndOutputs().preprocess_cell(failed, {}, 0)
    assert "secret_value" not in failed.source
    assert [output.text for output in failed.outputs] == [HIDDEN_FAILED.format(ename="AssertionError") + "\n"]
    passed = _test_cell(source, [printed])
    ClearHiddenTestsAndOutputs().preprocess_cell(passed, {}, 0)
    assert [output.text for output in passed.outputs] == [HIDDEN_PASSED + "\n"]
    visible = _test_cell("assert 1 == 1", [printed])
    ClearHiddenTestsAndOutputs().preprocess_cell(visible, {}, 0)
    assert visible.outputs == [printed]  # visible tests keep their outputs


def _scored_hidden_cell(outputs, score, execution_count=1, points=2):
    """A hidden-test cell of the graded notebook as feedback sees it: nbgrader's GetGrades has put the
    recorded score in its metadata."""
    source = "# Test (hidden)\n### BEGIN HIDDEN TESTS\nassert secret_value == 42\n### END HIDDEN TESTS\n"
    cell = _test_cell(source, outputs, points)
    cell.execution_count = execution_count
    cell.metadata.nbgrader["score"] = score
    return cell


def test_a_hidden_test_cell_shows_one_verdict_that_agrees_with_its_score(tmp_path, monkeypatch):
    """The trusted score (or an instructor's) can differ from how the notebook's own run ended: the
    cell never reads "passed" when a point is lost, nor "failed" at full marks, and keeps the trusted
    verdict, which says why, when the trusted grading wrote it (its signed record exists; a kernel can mark
    any display, and plain nbgrader strips no mark)."""
    from grading.course import trusted_records
    from grading.course.preprocessors import TRUSTED_OUTPUT_MARK

    report = new_output("stream", name="stdout", text="Exercise 2.2: PASSED\n")
    error = new_output("error", ename="CheckFailed", evalue="secret_value is 41", traceback=["secret_value"])
    trusted = new_output("display_data", data={"text/plain": "This cell's score: 0/2 (from the trusted check)"},
                         metadata={TRUSTED_OUTPUT_MARK: True})
    resources = {"nbgrader": {"db_url": f"sqlite:///{tmp_path / 'gradebook.db'}", "assignment": "a", "student": "s"}}

    def shown(cell):
        ClearHiddenTestsAndOutputs().preprocess_cell(cell, resources, 0)
        return [output.get("text") or output.data["text/plain"] for output in cell.outputs]

    assert shown(_scored_hidden_cell([report, trusted], score=2.0)) == [HIDDEN_PASSED + "\n"]  # no record
    trusted_records.work_folder(tmp_path)
    trusted_records.record_path(tmp_path, "a", "s").parent.mkdir(parents=True)
    trusted_records.record_path(tmp_path, "a", "s").write_text('{"scores": {"t": [2, 2]}}')   # not signed
    assert shown(_scored_hidden_cell([report, trusted], score=0.0))[1:] == []
    monkeypatch.setenv(trusted_records.CONFIG_VARIABLE, str(tmp_path / "config"))
    trusted_records.write_record(tmp_path, "a", "s", "f" * 64, {"t": [0.0, 2.0]}, {})
    lost = shown(_scored_hidden_cell([report, trusted], score=0.0))
    assert "passed" not in lost[0].lower() and "0/2, from the trusted check below" in lost[0]
    assert "raised no error" in lost[0] and lost[1] == trusted.data["text/plain"]
    never_ran = shown(_scored_hidden_cell([], score=0.0, execution_count=None))[0]
    assert "passed" not in never_ran.lower() and "did not run" in never_ran and "grader recorded" in never_ran
    full = shown(_scored_hidden_cell([report, error], score=2.0))[0]
    assert full.startswith("Hidden tests: 2/2") and "failed (CheckFailed)" in full and "secret_value" not in full
    assert shown(_scored_hidden_cell([report], score=2.0)) == [HIDDEN_PASSED + "\n"]
    assert shown(_scored_hidden_cell([report, error], score=0.0)) == [HIDDEN_FAILED.format(ename="CheckFailed") + "\n"]


def test_the_trusted_jobs_kernel_gets_no_hidden_test_and_the_graded_notebook_keeps_them():
    """With the trusted grading's setting the hidden region leaves the cell before Execute and comes back
    after it, marked; the feedback line then speaks of the grader's score only. Plain nbgrader keeps them,
    and a mark the submitted notebook carries is dropped."""
    from grading.course.preprocessors import HIDDEN_NOT_RUN, hidden_tests_line

    hidden = "# Test (hidden)\n### BEGIN HIDDEN TESTS\nassert secret_value == 42\n### END HIDDEN TESTS"
    visible = "# Test\nassert 1 == 1"
    notebook = new_notebook(cells=[_test_cell(hidden), _test_cell(visible)])
    kernel_saw = []

    def run(enabled):
        copy = nbformat.from_dict(json.loads(json.dumps(notebook)))
        copy.cells[1].metadata[HIDDEN_NOT_RUN] = True   # the student's forged mark
        copy, resources = KeepHiddenTestsFromKernel(enabled=enabled).preprocess(copy, {})
        kernel_saw.append([cell.source for cell in copy.cells])   # what Execute sends to the kernel
        return PutHiddenTestsBack().preprocess(copy, resources)[0]

    kept = run(enabled=True)
    assert kernel_saw[0] == ["# Test (hidden)", visible] and "secret_value" not in str(kernel_saw[0])
    assert [cell.source for cell in kept.cells] == [hidden, visible]
    assert [cell.metadata.get(HIDDEN_NOT_RUN) for cell in kept.cells] == [True, None]
    plain = run(enabled=False)
    assert kernel_saw[1] == [hidden, visible] and HIDDEN_NOT_RUN not in plain.cells[0].metadata
    kept.cells[0].metadata.nbgrader["score"] = 0.0
    assert hidden_tests_line(kept.cells[0], trusted=True) == (
        "Hidden tests: 0/2, from the trusted check below, which decides it (they do not run in your notebook). "
        "Their code and messages are not shown.")
    kept.cells[0].metadata.nbgrader["score"] = 2.0
    assert hidden_tests_line(kept.cells[0], trusted=True) == HIDDEN_PASSED


def test_feedback_names_files_relative_to_the_submission_not_by_server_paths(tmp_path):
    import sysconfig

    from backprop_labs.paths import REPOSITORY_ROOT
    course = tmp_path / "course"
    job = course / ".trusted-grading" / "jobs" / "s01"
    text = "\n".join([f"File {job}/autograded/s01/backprop_mlp/labs/numpy_mlp.py:85",
                      f"File {REPOSITORY_ROOT}/grading/course/test_cell_helpers.py:104",
                      f"File {sysconfig.get_paths()['purelib']}/torch/nn/modules/module.py:1",
                      f"saved {course}/gradebook.db and {course}2/other.txt"])
    image = "iVBORw0KGgo" + str(REPOSITORY_ROOT)   # image data is left alone
    cell = new_code_cell("train()", outputs=[
        new_output("stream", name="stdout", text=text),
        new_output("display_data", data={"text/plain": text, "image/png": image}),
        new_output("error", ename="OSError", evalue=f"{course}/x", traceback=[text])])
    resources = {"nbgrader": {"db_url": f"sqlite:///{course}/gradebook.db", "student": "s01",
                              "assignment": "backprop_mlp"}}
    notebook, _ = HideServerPaths().preprocess(new_notebook(cells=[cell]), resources)
    expected = "\n".join(["File labs/numpy_mlp.py:85",
                          "File grading/course/test_cell_helpers.py:104", "File torch/nn/modules/module.py:1",
                          f"saved gradebook.db and {course}2/other.txt"])
    stream, display, error = notebook.cells[0].outputs
    assert stream.text == expected and display.data["text/plain"] == expected and error.traceback == [expected]
    assert error.evalue == "x" and display.data["image/png"] == image
    nbformat.validate(notebook)


def test_parameters_are_injected_after_the_tagged_cell_only():
    notebook = new_notebook(cells=[new_code_cell("import numpy"), new_code_cell("num_epochs = 10"),
                                   new_code_cell("train(num_epochs)")])
    notebook.cells[1].metadata.tags = ["parameters"]
    assert inject_parameters(notebook, {"num_epochs": 1}) is True
    assert [cell.source for cell in notebook.cells][1:3] == [
        "num_epochs = 10", "# Set by the grader for a shorter run; the checks do not depend on it.\nnum_epochs = 1"]
    untagged = new_notebook(cells=[new_code_cell("num_epochs = 10")])
    InjectParameters(parameters={"num_epochs": 1}).preprocess(untagged, {})
    assert len(untagged.cells) == 1


def test_an_assignment_ships_student_or_solution_modules(tmp_path):
    BACKPROP.write_files(tmp_path / "student")
    BACKPROP.write_files(tmp_path / "solution", solutions=True)
    student = (tmp_path / "student" / "labs" / "numpy_mlp.py").read_text(encoding="utf-8")
    solution = (tmp_path / "solution" / "labs" / "numpy_mlp.py").read_text(encoding="utf-8")
    assert "raise NotImplementedError('Exercise 2.2: implement backpropagation')" in student
    assert "BEGIN SOLUTION" not in student and "edit that file" not in student  # no maintainer header
    assert "### BEGIN SOLUTION" in solution
    assert sorted(p.name for p in (tmp_path / "student" / "labs").iterdir()) == [
        "__init__.py", "log_linear.py", "numpy_mlp.py", "pytorch_mlp.py"]
    assert (tmp_path / "student" / "backprop_mlp.ipynb").read_bytes() == BACKPROP.notebook.read_bytes()
    assert BACKPROP.edited_modules() == ["labs/log_linear.py", "labs/numpy_mlp.py", "labs/pytorch_mlp.py"]


def test_bad_assignment_names_and_table_entries_are_explained(tmp_path):
    with pytest.raises(AssignmentError, match="no assignment 'nope': choose from .*backprop_mlp"):
        get_assignment("nope")
    with pytest.raises(AssignmentError, match="names 'missing.py'"):
        Assignment("broken", BACKPROP.notebook, ("missing.py",)).shipped_files()
    assert {assignment.name for assignment in all_assignments()} >= set(assignment_table())


def test_leak_scan_finds_a_solution_line_in_highlighted_html_and_not_in_student_files(tmp_path):
    secrets = secret_lines(BACKPROP)
    line = next(secret for secret in secrets if "derivative_from_output" in secret)
    words = line.split(" ")
    highlighted = "".join(f'<span class="n">{word}</span> ' for word in words).replace("=", "&#61;")
    (tmp_path / "feedback.html").write_text(f"<html><pre>{highlighted}</pre></html>", encoding="utf-8")
    assert [leak for _, leak in find_leaks(tmp_path, secrets)] == [line]
    BACKPROP.write_files(tmp_path / "released")
    assert find_leaks(tmp_path / "released" / "labs", secrets) == []


def test_collection_copies_each_student_and_skips_links(tmp_path):
    submissions = tmp_path / "submissions"
    (submissions / "ada" / "labs").mkdir(parents=True)
    (submissions / "ada" / "backprop_mlp.ipynb").write_text("{}", encoding="utf-8")
    (submissions / "ada" / "labs" / "numpy_mlp.py").write_text("x = 1\n", encoding="utf-8")
    os.symlink(BACKPROP.notebook, submissions / "ada" / "labs" / "peek.ipynb")
    (submissions / "bob" / "backprop_mlp").mkdir(parents=True)  # nested form, as exported by some tools
    (submissions / "bob" / "backprop_mlp" / "backprop_mlp.ipynb").write_text("{}", encoding="utf-8")
    course = tmp_path / "course"
    assert collect_submissions(course, BACKPROP, submissions).students == ["ada", "bob"]
    ada = course / "submitted" / "ada" / "backprop_mlp"
    assert (ada / "labs" / "numpy_mlp.py").read_text(encoding="utf-8") == "x = 1\n"
    assert not (ada / "labs" / "peek.ipynb").exists()
    stamp = (ada / "timestamp.txt").read_text(encoding="utf-8")
    assert (course / "submitted" / "bob" / "backprop_mlp" / "backprop_mlp.ipynb").exists()
    (submissions / "bad name").mkdir()
    (submissions / "José").mkdir()
    again = collect_submissions(course, BACKPROP, submissions)
    assert again.students == ["ada", "bob"]  # the others are still collected
    assert again.refused == {
        "bad name": "student id 'bad name' refused: " + ID_RULE + " (rename the folder, e.g. to 'bad_name')",
        "José": "student id 'José' refused: " + ID_RULE + " (rename the folder, e.g. to 'Jose')"}
    assert (ada / "timestamp.txt").read_text(encoding="utf-8") == stamp  # the same work keeps its time
    (submissions / "ada" / "labs" / "numpy_mlp.py").write_text("x = 2\n", encoding="utf-8")
    collect_submissions(course, BACKPROP, submissions)
    assert (ada / "timestamp.txt").read_text(encoding="utf-8") > stamp  # new work, new time


def test_course_command_reports_an_unknown_assignment(tmp_path, capsys):
    assert main(["course", "build", str(tmp_path), "--assignment", "nope"]) == 2
    assert "no assignment 'nope'" in capsys.readouterr().out
    assert not (tmp_path / "nbgrader_config.py").exists()


def test_notebook_json_round_trip_is_untouched_by_reading():
    # The source notebook is committed in nbformat's own layout, so tools rewrite it identically.
    text = BACKPROP.notebook.read_text(encoding="utf-8")
    assert nbformat.writes(nbformat.reads(text, as_version=4)) + "\n" == text


def test_collection_takes_the_submission_time_from_the_collection_not_the_student(tmp_path):
    from grading.course.submissions import collect_submissions

    assignment = get_assignment("backprop_mlp")
    student = tmp_path / "submissions" / "alice"
    student.mkdir(parents=True)
    (student / "backprop_mlp.ipynb").write_text("{}", encoding="utf-8")
    (student / "timestamp.txt").write_text("2000-01-01 00:00:00.000000 UTC", encoding="utf-8")  # forged
    course = tmp_path / "course"
    collect_submissions(course, assignment, tmp_path / "submissions")
    stamp = (course / "submitted" / "alice" / "backprop_mlp" / "timestamp.txt").read_text(encoding="utf-8")
    assert not stamp.startswith("2000-") and stamp.startswith("20")
    collect_submissions(course, assignment, tmp_path / "submissions")  # unchanged work keeps its time
    assert (course / "submitted" / "alice" / "backprop_mlp" / "timestamp.txt").read_text(encoding="utf-8") == stamp


def _submitted_notebook(course, text):
    folder = course / "submitted" / "ada" / BACKPROP.name
    folder.mkdir(parents=True)
    (folder / f"{BACKPROP.name}.ipynb").write_text(text, encoding="utf-8")
    return folder / f"{BACKPROP.name}.ipynb"


def test_a_notebook_nested_too_deeply_is_refused_with_its_reason_not_a_crash(tmp_path):
    from grading.course.submissions import prepare_submission

    _submitted_notebook(tmp_path, '{"cells": [], "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert prepare_submission(tmp_path, BACKPROP, "ada") == (
        "backprop_mlp.ipynb is not a notebook: its JSON is nested too deeply to read", [])


def test_an_unreadable_notebook_is_a_problem_named_by_its_cause_and_is_left_as_it_is(tmp_path):
    from grading.course.submissions import prepare_submission, unreadable_reason

    path = _submitted_notebook(tmp_path, '{"cells": [')   # truncated JSON: the README's rule, it scores 0
    problem, notes = prepare_submission(tmp_path, BACKPROP, "ada")
    assert problem.startswith("backprop_mlp.ipynb is not a notebook: not JSON text") and notes == []
    assert problem == unreadable_reason(path)
    assert path.read_text(encoding="utf-8") == '{"cells": ['


def test_switched_off_test_cells_and_huge_saved_outputs_are_repaired_once(tmp_path):
    from grading.course.submissions import cell_grade_id, prepare_submission

    notebook = json.loads(BACKPROP.notebook.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        if cell_grade_id(cell) == "test_2_2_hidden":
            cell["metadata"]["nbgrader"]["grade"] = False
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "y" * (9 << 20)}]
    path = _submitted_notebook(tmp_path, json.dumps(notebook))
    problem, notes = prepare_submission(tmp_path, BACKPROP, "ada")
    assert problem is None
    assert notes == ["cell test_2_2_hidden had its grading metadata changed (grade: false): the course's was put back",
                     "removed a saved output of 9 MiB from cell test_2_2_hidden (saved outputs over 8 MiB are not "
                     "kept; grading runs the notebook again)"]
    repaired = nbformat.read(path, as_version=4)
    cell = next(cell for cell in repaired.cells if cell_grade_id(cell) == "test_2_2_hidden")
    assert cell.metadata.nbgrader["grade"] is True and cell.outputs == []
    assert prepare_submission(tmp_path, BACKPROP, "ada") == (None, [])   # idempotent: nothing left to repair


def test_graded_cells_renamed_by_the_student_are_repaired_once(tmp_path):
    # nbgrader 0.9.6 stops with KeyError: 'grade_id' on a graded cell whose grade id is not the course's
    from grading.course.submissions import cell_grade_id, prepare_submission

    notebook = json.loads(BACKPROP.notebook.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        if cell_grade_id(cell) == "test_2_2_hidden":
            cell["metadata"]["nbgrader"]["grade_id"] = "my_test"
        elif cell_grade_id(cell) == "test_2_4_hidden":
            del cell["metadata"]["nbgrader"]["grade_id"]
        elif cell_grade_id(cell) == "ex2_1_answer":
            cell["metadata"]["nbgrader"]["grade_id"] = "my_answer"      # same cell id: the course's answer cell
    notebook["cells"].append(new_code_cell("x = 1", metadata={"nbgrader": {"solution": True, "grade_id": "extra"}}))
    path = _submitted_notebook(tmp_path, json.dumps(notebook))
    problem, notes = prepare_submission(tmp_path, BACKPROP, "ada")
    assert problem is None
    assert notes == [
        "answer cell 'my_answer' is not one of the course's: it is the course's ex2_1_answer (same cell id), "
        "whose grade id was put back",
        "cell 'extra' is not one of the course's graded cells: it runs as an ordinary cell",
        "test cell 'my_test' is not one of the course's (its grade id was changed): it was removed and the "
        "course's test_2_2_hidden, test_2_4_hidden restored",
        "test cell without a grade id is not one of the course's (its grade id was changed): it was removed and "
        "the course's test_2_2_hidden, test_2_4_hidden restored"]
    repaired = nbformat.read(path, as_version=4)
    ids = [cell_grade_id(cell) for cell in repaired.cells]
    assert "ex2_1_answer" in ids and "test_2_2_hidden" not in ids and "my_test" not in ids  # nbgrader puts it back
    assert repaired.cells[-1].source == "x = 1" and "nbgrader" not in repaired.cells[-1].metadata
    assert prepare_submission(tmp_path, BACKPROP, "ada") == (None, [])   # idempotent: nothing left to repair


@pytest.mark.parametrize("source, title", [
    ("# Test 2.2b (1 point): the output layer.\nassert True", "Test 2.2b: the output layer."),
    ("# Test 2.4a (2 points): log-probabilities.\n# More.", "Test 2.4a: log-probabilities."),
    ("# Test 2.1 (1 point): the gradient with respect to\n#   the batch, in float64. Details.\nx = 1",
     "Test 2.1: the gradient with respect to the batch, in float64."),
    ("# Test F.3: the closed form\nassert True", "Test F.3: the closed form"),
    ("### BEGIN HIDDEN TESTS\nassert True", None),
    ("assert True  # no title", None),
])
def test_a_test_cell_title_is_the_first_sentence_of_its_comment_without_the_points(source, title):
    from grading.course.preprocessors import test_cell_title

    assert test_cell_title(source) == title


@pytest.mark.parametrize("notebook", sorted((REPOSITORY_ROOT / "notebooks" / "source").glob("*.ipynb")),
                         ids=lambda path: path.stem)
def test_every_feedback_title_of_the_course_is_a_whole_sentence(notebook):
    from grading.course.preprocessors import test_cell_title

    tests = [cell for cell in nbformat.read(notebook, as_version=4).cells
             if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade")
             and not cell.metadata["nbgrader"].get("solution")]
    assert tests
    for cell in tests:
        title = test_cell_title(cell.source)
        comment = " ".join(line.lstrip("#").strip() for line in cell.source.splitlines()
                           if line.startswith("#") and not line.startswith("###"))
        assert title and title.endswith("."), (cell_grade_id(cell), title)
        assert title.split(":", 1)[1].strip() in comment, (cell_grade_id(cell), title)
