"""A whole class through nbgrader and the trusted checks: scores in the gradebook, export and
feedback; identical grades for 1 worker, 2 workers and Dask; nothing lost when a run is
interrupted."""
import csv
import os
import re
import shutil

import pytest

from grading.course.assignments import all_assignments, get_assignment
from grading.course.pipeline import cell_scores, export_grades, feedback_page, generate_feedback
from grading.trusted import parallel
from grading.trusted.autograde import is_done
from trusted_class import build_demo_class

pytestmark = [
    pytest.mark.slow, pytest.mark.corpus,
    pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox's isolation needs root (CI runs as root)"),
]
ASSIGNMENT = "backprop_mlp"
KINDS = ["honest", "stub", "cheat"]
KINDS_IDS = [f"s{index:02d}_{kind}" for index, kind in enumerate(KINDS)]
FULL_MARKS = {"test_2_1_input_gradient": 1.0, "test_2_2_tangent": 1.0, "test_2_2_output_layer": 1.0,
              "test_2_2_all_layers": 2.0, "test_2_2_hidden": 2.0, "test_2_4_log_forward": 2.0, "test_2_4_hidden": 1.0}


@pytest.fixture(scope="module")
def built(tmp_path_factory, books):
    """The class built once; each test grades its own copy of the course folder."""
    return build_demo_class(tmp_path_factory.mktemp("class"), KINDS)


def _copy(built, tmp_path):
    course = tmp_path / "course"
    shutil.copytree(built, course, symlinks=True)
    return course


def _scores(course):
    return {student: {cell: score for cell, (score, _) in cells.items()}
            for student, cells in cell_scores(course, get_assignment(ASSIGNMENT)).items()}


@pytest.fixture(scope="module")
def serial(built, tmp_path_factory):
    """One worker, interrupted after the first student, then run again to finish."""
    course = _copy(built, tmp_path_factory.mktemp("serial"))
    merged = []
    real_merge = parallel.merge_student

    def merge_then_interrupt(*args):
        real_merge(*args)
        merged.append(args[2]["student"])
        raise KeyboardInterrupt  # as if the run were killed right after recording one student

    parallel.merge_student = merge_then_interrupt
    try:
        with pytest.raises(KeyboardInterrupt):
            parallel.grade_class(course, ASSIGNMENT, workers=1, progress=False)
    finally:
        parallel.merge_student = real_merge
    after_interrupt = _scores(course)
    rerun = parallel.grade_class(course, ASSIGNMENT, workers=1, progress=False)
    return {"course": course, "first": merged[0], "after_interrupt": after_interrupt, "rerun": rerun,
            "scores": _scores(course)}


def test_trusted_scores_replace_in_kernel_ones(serial):
    scores = serial["scores"]
    assert scores["s00_honest"] == FULL_MARKS
    assert set(scores["s01_stub"].values()) == {0.0}
    # The cheat's input transformer made every in-kernel test "pass"; the trusted checks say 0.
    assert scores["s02_cheat"] == {cell: 0.0 for cell in FULL_MARKS}


def test_an_interrupted_run_keeps_what_it_recorded_and_a_rerun_finishes(serial):
    first = serial["first"]
    assert list(serial["after_interrupt"]) == [first]
    assert serial["after_interrupt"][first] == serial["scores"][first]
    assert serial["rerun"].unchanged == [first]
    assert sorted(serial["rerun"].graded) == sorted(set(serial["scores"]) - {first})
    assert all(is_done(serial["course"], ASSIGNMENT, student) for student in serial["scores"])


def test_two_workers_give_the_same_grades_as_one(serial, built, tmp_path):
    course = _copy(built, tmp_path)
    run = parallel.grade_class(course, ASSIGNMENT, workers=2, progress=False)
    assert run.problems == {} and sorted(run.graded) == sorted(serial["scores"])
    assert _scores(course) == serial["scores"]


def test_spawned_workers_start_before_the_set_up_when_two_students_wait(built, tmp_path, monkeypatch):
    """The spawned worker imports the grader while the coordinator checks the assignment (about 1 s of
    loading exercises), so both cores work from the start; for a single student none is spawned."""
    import multiprocessing

    course = _copy(built, tmp_path)
    before, seen = len(multiprocessing.active_children()), []

    def check_then_stop(*args):
        seen.append(len(multiprocessing.active_children()) - before)
        raise RuntimeError("stopped after the assignment's check")

    monkeypatch.setattr(parallel, "check_assignment_is_trusted", check_then_stop)
    for students in (None, ["s00_honest"]):
        with pytest.raises(RuntimeError, match="stopped after"):
            parallel.grade_class(course, ASSIGNMENT, workers=2, students=students, progress=False)
    assert seen == [1, 0]
    assert len(multiprocessing.active_children()) == before   # the pool ended with the run that raised


def test_dask_local_cluster_gives_the_same_grades(serial, built, tmp_path):
    from distributed import Client, LocalCluster

    course = _copy(built, tmp_path)
    students = ["s00_honest", "s02_cheat"]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        run = parallel.grade_class(course, ASSIGNMENT, scheduler=client, students=students, progress=False)
    assert run.problems == {}
    assert _scores(course) == {student: serial["scores"][student] for student in students}


def test_export_and_feedback_show_the_trusted_scores(serial, tmp_path):
    course, assignment = serial["course"], get_assignment(ASSIGNMENT)
    grades_csv, _ = export_grades(course, assignment, tmp_path / "grades.csv")
    with open(grades_csv, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["student_id"]: float(row["raw_score"]) for row in rows} == {
        "s00_honest": 10.0, "s01_stub": 0.0, "s02_cheat": 0.0}
    assert {float(row["max_score"]) for row in rows} == {10.0}  # the cheat's "99 points" edit is ignored
    assert generate_feedback(course, assignment) == {}  # no page failed
    page = feedback_page(course, assignment, "s02_cheat").read_text()
    # 0 of the cell's cases: the lab's sigmoid network and its wide twin (too large for per-parameter differences)
    assert re.search(r"Exercise 2\.2: NumpyMLP\.backpropagation \(trusted check, output layer of the sigmoid "
                     r"network\): 0/[1-9] cases match the reference", page)
    assert "answer cell ex2_1_answer raised NameError" in page
    assert "Test cell" not in page and all(f'<a href="#{cell}"><code>{cell}</code> Test ' in page for cell in FULL_MARKS)


def test_feedback_pages_show_the_figures_validate_and_name_no_server_path(serial):
    """Figures of the sandboxed kernel reach the page (none did with the sandbox's Agg backend); the
    graded notebooks are valid nbformat; no page shows the course folder, the repository, the
    sandbox's folders or the grader's files (the stub's tracebacks go through the repository)."""
    import re

    import nbformat

    from backprop_labs.paths import REPOSITORY_ROOT
    from grading.trusted.autograde import graded_folder
    from grading.trusted.gradebook import KERNEL_PASSED_QUALIFIED
    from grading.trusted.sandbox.accounts import sandbox_root_path

    course, assignment = serial["course"], get_assignment(ASSIGNMENT)
    assert generate_feedback(course, assignment) == {}
    server_paths = {str(course), str(course.resolve()), str(REPOSITORY_ROOT), str(sandbox_root_path()), ".grader/"}
    images = {}
    for student in KINDS_IDS:
        nbformat.validate(nbformat.read(graded_folder(course, ASSIGNMENT, student) / f"{ASSIGNMENT}.ipynb",
                                        as_version=4))
        page = feedback_page(course, assignment, student).read_text()
        images[student] = len(re.findall(r"<img ", page))
        assert [path for path in server_paths if path in page] == [], student
    assert images["s00_honest"] >= 3 and images["s01_stub"] >= 1, images
    assert KERNEL_PASSED_QUALIFIED not in feedback_page(course, assignment, "s00_honest").read_text()


def test_the_notebook_kernel_ran_unprivileged_and_could_write_nothing(serial):
    import nbformat

    from grading.trusted.autograde import graded_folder

    notebook = nbformat.read(graded_folder(serial["course"], ASSIGNMENT, "s02_cheat") / f"{ASSIGNMENT}.ipynb",
                             as_version=4)
    printed = "".join(output.get("text", "") for cell in notebook.cells for output in cell.get("outputs", []))
    uid_lines = [line for line in printed.splitlines() if line.startswith("CHEAT kernel uid")]
    assert uid_lines and int(uid_lines[0].split()[-1]) != 0
    assert "CHEAT could write" not in printed


def test_a_new_submission_is_graded_again_and_an_unchanged_one_is_not(built, tmp_path):
    course = _copy(built, tmp_path)
    student = ["s01_stub"]
    parallel.grade_class(course, ASSIGNMENT, workers=1, students=student, progress=False)
    assert set(_scores(course)["s01_stub"].values()) == {0.0}
    submitted = course / "submitted"
    shutil.rmtree(submitted / "s01_stub" / ASSIGNMENT)           # the student hands in finished work
    shutil.copytree(submitted / "s00_honest" / ASSIGNMENT, submitted / "s01_stub" / ASSIGNMENT)
    assert not is_done(course, ASSIGNMENT, "s01_stub")
    again = parallel.grade_class(course, ASSIGNMENT, workers=1, students=student, progress=False)
    assert again.graded == student and _scores(course)["s01_stub"] == FULL_MARKS
    unchanged = parallel.grade_class(course, ASSIGNMENT, workers=1, students=student, progress=False)
    assert unchanged.unchanged == student and unchanged.graded == []


def test_course_grade_uses_the_trusted_checks_when_run_as_root(tmp_path, capsys, books):
    from grading.cli import main

    course = build_demo_class(tmp_path / "class", ["honest", "cheat"])
    status = main(["course", "grade", str(course), ASSIGNMENT, "--submissions", str(tmp_path / "class" / "submissions"),
                   "--csv", str(tmp_path / "grades.csv"), "--workers", "1"])
    printed = capsys.readouterr().out
    assert status == 0, printed
    assert "with the trusted checks" in printed and "warning" not in printed
    scores = _scores(course)
    assert scores["s00_honest"] == FULL_MARKS
    assert scores["s01_cheat"] == {cell: 0.0 for cell in FULL_MARKS}   # in-kernel it would have full marks
    assert (tmp_path / "grades.csv").is_file()


# Every autograded cell of these has a trusted check (an assignment missing one would be refused).
TRUSTED_ASSIGNMENTS = ["advertising", "autodiff", "backprop_mlp", "conv1d", "digits", "forward_reverse", "glm",
                       "worked_graph"]


@pytest.mark.parametrize("assignment", [assignment.name for assignment in all_assignments()])
def test_every_autograded_cell_is_trusted_or_the_assignment_is_refused(assignment, tmp_path, monkeypatch):
    """Enumerates the test cells of every assignment: each is scored by a trusted check; with one
    check's cells taken out of its entry (``assignment_table``), ``grade_class`` refuses the assignment before grading
    anyone, naming a cell."""
    from grading.course import assignments
    from grading.trusted.autograde import AssignmentNotTrusted, autograded_cells, untrusted_cells

    spec = get_assignment(assignment)
    cells = autograded_cells(spec.notebook)
    assert cells, f"{assignment} has no autograded test cell"
    mapped = {cell for cells_of_check in spec.trusted_cells.values() for cell in cells_of_check}
    assert mapped <= set(cells), f"the assignment maps cells that are not autograded test cells: {mapped - set(cells)}"
    missing = untrusted_cells(spec.notebook, spec.trusted_cells)
    assert (missing == []) == (assignment in TRUSTED_ASSIGNMENTS), missing
    last_check = list(spec.trusted_cells)[-1]
    table = assignments.assignment_table()
    fewer = dict(table[assignment], scores={check: cells for check, cells in table[assignment]["scores"].items()
                                            if check != last_check})
    monkeypatch.setattr(assignments, "assignment_table", lambda: {**table, assignment: fewer})
    missing = untrusted_cells(spec.notebook, get_assignment(assignment).trusted_cells)
    assert missing == [cell for cell in cells if cell in spec.trusted_cells[last_check]]
    course = tmp_path / "course"
    course.mkdir()
    with pytest.raises(AssignmentNotTrusted, match=missing[0]):
        parallel.grade_class(course, assignment, progress=False)
    assert not (course / ".trusted-grading").exists()   # refused before touching the course


def test_outputs_showing_hidden_tests_or_imitating_a_verdict_are_removed(tmp_path):
    """A kernel hook can capture the hidden tests and update_display an answer cell's output with
    them; a student can print a fake verdict. Both are replaced; honest outputs and the real
    (marked) verdict stay."""
    import nbformat

    from grading.course.leaks import secret_lines
    from grading.trusted.gradebook import TRUSTED_OUTPUT_MARK, scrub_outputs, trusted_output

    hidden = secret_lines(get_assignment(ASSIGNMENT))[0]
    cell = nbformat.v4.new_code_cell("x = 1", outputs=[
        nbformat.v4.new_output("display_data", data={"text/plain": f"captured:\n    {hidden}\n"}),
        nbformat.v4.new_output("stream", name="stdout", text="Exercise 2.2 (trusted check): 4/4 cases match\n"),
        nbformat.v4.new_output("stream", name="stdout", text="loss 0.25\n")])
    path = tmp_path / "graded.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), path)
    notebook = nbformat.read(path, as_version=4)                 # the real verdict, as annotate_notebook adds it
    notebook.cells[0]["outputs"].append(trusted_output("Exercise 2.2 (trusted check): 0/4 cases\n"))
    nbformat.write(notebook, path)
    assert scrub_outputs(path, secret_lines(get_assignment(ASSIGNMENT))) == 2
    outputs = nbformat.read(path, as_version=4).cells[0].outputs
    assert "hidden tests" in outputs[0]["text"] and hidden not in outputs[0]["text"]
    assert "a copy of a trusted verdict" in outputs[1]["text"]
    assert outputs[2]["text"] == "loss 0.25\n" and outputs[3]["metadata"] == {TRUSTED_OUTPUT_MARK: True}
    assert scrub_outputs(path, secret_lines(get_assignment(ASSIGNMENT))) == 0   # its own notices are not verdicts
    nbformat.validate(nbformat.read(path, as_version=4))


def test_the_students_own_traceback_stays_when_one_of_their_lines_equals_a_solution_line(tmp_path):
    """A traceback through the student's module quotes their own line, which may equal a solution
    line: it is shown back (the student wrote it). Hidden-test text stays removed, and an error
    output stays an error of the same name, so the feedback still knows the cell failed."""
    import nbformat

    from grading.course.leaks import secret_lines, secrets_not_written_in
    from grading.trusted.gradebook import scrub_outputs

    secrets = secret_lines(get_assignment(ASSIGNMENT))
    solution = next(line for line in secrets if "derivative_from_output" in line)
    hidden = next(line for line in secrets if "hidden_generator" in line)
    submitted = tmp_path / "submitted"
    (submitted / "labs").mkdir(parents=True)
    (submitted / "labs" / "numpy_mlp.py").write_text(f"def backpropagation(self):\n        {solution}\n")
    own = nbformat.v4.new_output("error", ename="ValueError", evalue="shapes (3, 4) and (5, 6) not aligned",
                                 traceback=["File labs/numpy_mlp.py:2, in backpropagation", f"----> 2 {solution}",
                                            "ValueError: shapes (3, 4) and (5, 6) not aligned"])
    captured = nbformat.v4.new_output("error", ename="CheckFailed", evalue="", traceback=[f"----> 3 {hidden}"])
    path = tmp_path / "graded.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x", outputs=[own]),
                                                   nbformat.v4.new_code_cell("y", outputs=[captured])]), path)
    assert scrub_outputs(path, secrets_not_written_in(secrets, submitted)) == 1
    shown, removed = (cell.outputs[0] for cell in nbformat.read(path, as_version=4).cells)
    assert shown == own
    assert (removed.output_type, removed.ename) == ("error", "CheckFailed") and hidden not in str(removed)
    assert scrub_outputs(path, secrets) == 1   # without the student's files, their line was hidden too


def test_the_sandboxs_paths_and_the_graders_files_are_removed_from_outputs(tmp_path):
    import nbformat

    from grading.course.leaks import secret_lines
    from grading.trusted.gradebook import GRADER_FILE, scrub_outputs
    from grading.trusted.sandbox.accounts import sandbox_root_path

    text = (f"File {sandbox_root_path()}/slot-3/work/labs/numpy_mlp.py:85\n"
            f"os.listdir(): ['.grader', 'labs']; kernel {sandbox_root_path()}/slot-3/work/.grader/kernel.json\n")
    path = tmp_path / "graded.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text=text)])]), path)
    assert scrub_outputs(path, secret_lines(get_assignment(ASSIGNMENT))) == 0   # rewritten, not replaced
    assert nbformat.read(path, as_version=4).cells[0].outputs[0].text == (
        f"File labs/numpy_mlp.py:85\nos.listdir(): ['.grader', 'labs']; kernel {GRADER_FILE}\n")


class _Verdict:
    """Stands for a TrustedResult: annotate_notebook asks it for a cell's feedback and how many of
    the cases that score the cell match (``cells``: ``{cell: (matching, total)}``)."""

    def __init__(self, text, cells=None):
        from types import SimpleNamespace

        self.text, self.passed, self.total = text, 0, 0
        self.cells = {cell: SimpleNamespace(passed=passed, total=total)
                      for cell, (passed, total) in (cells or {}).items()}

    def feedback_for(self, cell):
        return self.text


def _graded_test_cell(grade_id, verdict, error=None, points=2):
    """A test cell as nbgrader's run leaves it: the report it displayed, then the error it raised."""
    import nbformat

    outputs = [nbformat.v4.new_output("display_data", data={"text/plain": f"Exercise 2.2 [numpy_mlp]: {verdict}",
                                                             "text/html": f"<b>{verdict}</b>"})]
    if error:
        outputs.append(nbformat.v4.new_output("error", ename=error, evalue="", traceback=[f"{error}: ..."]))
    cell = nbformat.v4.new_code_cell("check()", outputs=outputs, execution_count=1)
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": grade_id, "points": points}
    return cell


def test_the_trusted_verdict_qualifies_a_contradicting_in_kernel_verdict_and_keeps_the_notebook_valid(tmp_path):
    """A test cell whose own run passed but that the trusted check scores 1/2 says which one
    decides; one whose own run raised but that the trusted check gives full marks likewise; an
    agreeing verdict is left alone. A marked output the student's kernel made is dropped. The
    result validates."""
    import nbformat

    from grading.trusted.gradebook import (KERNEL_FAILED_QUALIFIED, KERNEL_PASSED_QUALIFIED, TRUSTED_OUTPUT_MARK,
                                           annotate_notebook, is_trusted_output)

    forged = nbformat.v4.new_code_cell("display(...)", outputs=[nbformat.v4.new_output(
        "display_data", data={"text/plain": "This cell's score: 2/2"}, metadata={TRUSTED_OUTPUT_MARK: True})])
    path = tmp_path / "graded.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[
        forged, _graded_test_cell("partly", "PASSED"), _graded_test_cell("full", "FAILED", error="CheckFailed"),
        _graded_test_cell("agrees", "PASSED")]), path)
    annotate_notebook(path, {"check": _Verdict("Exercise 2.2 (trusted check): details",
                                               {"partly": (1, 2), "full": (2, 2), "agrees": (2, 2)})},
                      {"check": ["partly", "full", "agrees"]},
                      {"partly": (1.0, 2.0), "full": (2.0, 2.0), "agrees": (2.0, 2.0)})
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    forged_cell, partly, full, agrees = notebook.cells
    assert forged_cell.outputs == []
    kernel, verdict = partly.outputs
    assert is_trusted_output(verdict) and not is_trusted_output(kernel)
    assert KERNEL_PASSED_QUALIFIED in kernel.data["text/plain"] and KERNEL_PASSED_QUALIFIED in kernel.data["text/html"]
    assert verdict.data["text/plain"].startswith("This cell's score: 1/2 (from the trusted check")
    assert KERNEL_FAILED_QUALIFIED in full.outputs[0].data["text/plain"]
    assert "scored 0/2 (it raised CheckFailed)" in full.outputs[2].data["text/plain"]
    assert agrees.outputs[0].data["text/plain"] == "Exercise 2.2 [numpy_mlp]: PASSED"
    assert "your notebook" not in agrees.outputs[1].data["text/plain"]


def test_a_score_that_differs_from_the_notebooks_run_is_explained_by_what_is_known(tmp_path):
    """The verdict states both scores and what the trusted check found (how many of its own cases
    differ), and claims no cause it does not know (the old text blamed the notebook's test for
    checking fewer cases); the test's own "passed" is qualified as the notebook's."""
    import nbformat

    from grading.trusted.gradebook import annotate_notebook

    passed_in_kernel = _graded_test_cell("test_2_2_hidden", "PASSED")
    passed_in_kernel.outputs.append(nbformat.v4.new_output("stream", name="stdout", text="Test 2.2d passed\n"))
    path = tmp_path / "graded.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[passed_in_kernel]), path)
    annotate_notebook(path, {"check": _Verdict("details", {"test_2_2_hidden": (1, 2)})},
                      {"check": ["test_2_2_hidden"]}, {"test_2_2_hidden": (0.0, 2.0)})
    _, printed, verdict = nbformat.read(path, as_version=4).cells[0].outputs
    text = verdict.data["text/plain"]
    assert text.startswith("This cell's score: 0/2 (from the trusted check, which decides it).\n")
    assert ("Your notebook's own run of this test scored 2/2 (it raised no error); the trusted check ran your "
            "code outside your notebook on its own 2 cases, and 1 of them differs from the reference") in text
    assert "fewer cases" not in text and "because" not in text
    assert printed.text == "Test 2.2d passed in your notebook's own run (the trusted check below decides the score)\n"


def test_the_done_record_cannot_be_forged_from_the_graded_folder_and_follows_the_gradebook(serial, tmp_path):
    """A kernel run by plain nbgrader can write into autograded/ and, as root, into the work folder; the
    record lives in the root-only work folder and counts only when signed with the grader's key and holding
    a score for every trusted cell, and a gradebook whose trusted scores changed since (e.g. plain nbgrader
    autograded again) no longer counts as recorded."""
    import json
    import stat

    from nbgrader.api import Gradebook

    from grading.course.trusted_records import write_record
    from grading.trusted.autograde import graded_folder, record_path, submission_fingerprint
    from grading.trusted.gradebook import gradebook_url

    course = _copy(serial["course"], tmp_path)
    student = "s02_cheat"
    record = record_path(course, ASSIGNMENT, student)
    assert is_done(course, ASSIGNMENT, student)
    assert stat.S_IMODE(os.stat(course / ".trusted-grading").st_mode) == 0o700
    assert not record.is_relative_to(course / "autograded")
    forged = {"submission": submission_fingerprint(course, ASSIGNMENT, student),
              "scores": {cell: [points, points] for cell, points in FULL_MARKS.items()}}
    (graded_folder(course, ASSIGNMENT, student) / "trusted_grading.json").write_text(json.dumps(forged))
    record.unlink()
    assert not is_done(course, ASSIGNMENT, student)            # the forged file in autograded/ is not a record
    record.write_text(json.dumps(forged))                     # a record whose scores the gradebook does not hold
    assert not is_done(course, ASSIGNMENT, "s02_cheat")
    # What a kernel run by plain nbgrader can write: the real fingerprint and the gradebook's own scores, unsigned.
    held = {cell: [score, FULL_MARKS[cell]] for cell, score in _scores(course)[student].items()}
    record.write_text(json.dumps({**forged, "scores": held, "checks": {}, "note": ""}))
    assert not is_done(course, ASSIGNMENT, student)
    write_record(course, ASSIGNMENT, student, forged["submission"], {}, {})   # signed, but no scores
    assert not is_done(course, ASSIGNMENT, student)
    write_record(course, ASSIGNMENT, student, forged["submission"], held, {})   # what the grader writes
    assert is_done(course, ASSIGNMENT, student)
    with Gradebook(gradebook_url(course)) as gradebook:       # the honest student's gradebook changed since
        grade = gradebook.find_grade("test_2_2_hidden", ASSIGNMENT, ASSIGNMENT, "s00_honest")
        grade.auto_score = 0.5
        gradebook.db.commit()
    assert not is_done(course, ASSIGNMENT, "s00_honest") and is_done(course, ASSIGNMENT, "s01_stub")
    record.write_text(json.dumps({**forged, "scores": held, "checks": {}, "note": ""}))   # forged again: graded again
    again = parallel.grade_class(course, ASSIGNMENT, workers=1, students=[student], progress=False)
    assert (again.graded, again.unchanged) == ([student], []) and is_done(course, ASSIGNMENT, student)


def test_a_file_name_that_is_not_utf8_neither_fails_the_student_nor_stops_a_rerun(built, tmp_path, capfd):
    import logging

    course = _copy(built, tmp_path)
    odd = os.fsdecode(b"notes-\xff.txt")
    (course / "submitted" / "s00_honest" / ASSIGNMENT / odd).write_bytes(b"my notes")
    students = ["s00_honest", "s01_stub"]
    logging.disable(logging.CRITICAL)  # nbgrader logs the file name, which pytest-xdist cannot send as UTF-8
    try:
        first = parallel.grade_class(course, ASSIGNMENT, workers=1, students=students, progress=False)
        again = parallel.grade_class(course, ASSIGNMENT, workers=1, students=students, progress=False)
    finally:
        logging.disable(logging.NOTSET)
        capfd.readouterr()
    assert first.problems == {} and sorted(first.graded) == students
    assert sorted(again.unchanged) == students
    assert _scores(course)["s00_honest"] == FULL_MARKS


def test_a_syntax_error_in_an_answer_cell_is_named_as_the_cause(tmp_path):
    # Not the NameError of the function the broken cell never defined.
    from grading.trusted.check_spec import trusted_checks
    from grading.trusted.grade import run_check

    get_assignment(ASSIGNMENT).write_files(tmp_path, solutions=True)
    broken = "import numpy as np\n\ndef loss_and_tangent(model, batch:\n    return None\n"
    result = run_check(trusted_checks()["numpy_mlp_loss_and_tangent"], tmp_path,
                       cells=[{"name": "ex2_2_tangent_answer", "source": broken}])
    assert result.passed == 0 and len(result.lines) == 1, result.lines
    cause = result.lines[0]
    assert cause.startswith("defining loss_and_tangent failed: answer cell ex2_2_tangent_answer raised SyntaxError: ")
    assert cause.endswith("(<cell ex2_2_tangent_answer>, line 3)") and "NameError" not in cause
    assert result.causes["import_failed"]["sentence"] == cause   # what the class report ranks
