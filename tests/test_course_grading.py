"""The one grading command on a class with real problems: every student ends with a score or a
reason, in the summary and in the grade files; re-runs; checks before any student is touched."""
import errno
import os
import shutil
from pathlib import Path

import pytest

from grading.cli import main
from grading.course.pipeline import CourseError, feedback_page
from grading.course.assignments import get_assignment
from grading.commands.grading_run import NOT_ROOT
from problem_class import (ASSIGNMENT, CELLS, EXPECTED, FULL, LARGE_BYTES, LARGE_FILE, NOT_RUN, REASONS, SMALL_FILE,
                           cell_scores, csv_rows, write_problem_class)
from trusted_class import _build_course_folder

pytestmark = [pytest.mark.corpus, pytest.mark.slow]


@pytest.fixture(scope="module")
def graded(tmp_path_factory, books):
    root = tmp_path_factory.mktemp("problem_class")
    release = _build_course_folder(root / "course", get_assignment(ASSIGNMENT))
    write_problem_class(release, root / "submissions")
    pristine = root / "pristine"
    shutil.copytree(root / "course", pristine, symlinks=True)  # built, nothing collected: for the in-kernel run
    status = main(["grade", str(root / "course"), ASSIGNMENT, "--submissions", str(root / "submissions"),
                   "--csv", str(root / "grades.csv"), "--workers", "2"])
    return root, status


def test_every_student_ends_with_a_score_or_a_reason(graded, capsys):
    root, status = graded
    assert status == 1  # some students could not be graded
    grades = {row["student_id"]: row for row in csv_rows(root / "grades.csv")}
    assert sorted(grades) == sorted(EXPECTED)
    cells = cell_scores(root / "grades-cells.csv")
    assert sorted(cells) == sorted(EXPECTED)
    problems = {row["student_id"]: row for row in csv_rows(root / "grades-problems.csv")}
    for student, expected in EXPECTED.items():
        if expected is None:
            assert cells[student] == [0.0] * len(CELLS), student
            assert float(grades[student]["score"]) == 0.0
            assert grades[student]["problem"].startswith(REASONS[student]), grades[student]["problem"]
            assert problems[student]["graded"] == "no" and problems[student]["reason"] == grades[student]["problem"]
        else:
            assert cells[student] == expected, student
            assert float(grades[student]["score"]) == sum(expected) and grades[student]["problem"] == ""
    for student, reason in NOT_RUN.items():  # graded all the same, and told why the notebook did not run
        assert problems[student]["graded"] == "yes" and problems[student]["reason"].startswith(reason)
        assert "DeadKernelError" in problems[student]["reason"], problems[student]["reason"]
        assert Path(problems[student]["log"]).is_file()
        page = feedback_page(root / "course", get_assignment(ASSIGNMENT), student).read_text(encoding="utf-8")
        assert reason in page and "from the trusted check" in page
    assert problems["duplicated_cells"]["graded"] == "yes"
    assert "removed a second copy of graded cell ex2_1_answer" in problems["duplicated_cells"]["reason"]


def test_formgrader_lists_every_graded_student_as_graded(graded):
    # formgrader shows "needs autograding" unless the gradebook's submission time is timestamp.txt's: a
    # notebook nbgrader could not run, or one with repaired cells, is graded all the same
    from grading.course.nbgrader_api import nbgrader_api

    root, _ = graded
    with nbgrader_api(root / "course") as api:
        autograded = api.get_autograded_students(ASSIGNMENT)
    assert autograded == {student for student, expected in EXPECTED.items() if expected is not None}


def test_a_large_file_is_kept_once_and_named(graded):
    root, _ = graded
    course = root / "course"
    assert (course / "submitted" / "honest" / ASSIGNMENT / LARGE_FILE).stat().st_size == LARGE_BYTES
    for copy in ("autograded", "feedback"):
        folder = course / copy / "honest" / ASSIGNMENT
        assert not (folder / LARGE_FILE).exists(), copy
        assert (folder / SMALL_FILE).is_file() and (folder / "labs" / "numpy_mlp.py").is_file(), copy
    problems = {row["student_id"]: row for row in csv_rows(root / "grades-problems.csv")}
    assert problems["honest"]["graded"] == "yes"
    assert problems["honest"]["reason"] == ("kept only in submitted/ (files over 1.0 MiB are not copied to "
                                            f"autograded/ and feedback/): {LARGE_FILE} (3.0 MiB)")


def test_only_large_files_that_are_not_notebooks_or_modules_leave_the_graded_copy(tmp_path):
    from grading.course.pipeline import trim_graded_copy

    assignment = get_assignment(ASSIGNMENT)
    graded = tmp_path / "autograded" / "ada" / ASSIGNMENT
    files = {f"{ASSIGNMENT}.ipynb": 5000, "labs/numpy_mlp.py": 5000, "labs/helper.py": 5120, "plot.png": 1024,
             "data/big.csv": 1536, "weights.npy": 4096}
    for relative, size in files.items():
        (graded / relative).parent.mkdir(parents=True, exist_ok=True)
        (graded / relative).write_bytes(b"x" * size)
    (graded / "link.npy").symlink_to(graded / "weights.npy")
    note = trim_graded_copy(tmp_path, assignment, "ada", limit=1024)
    left = sorted(path.relative_to(graded).as_posix() for path in graded.rglob("*") if not path.is_dir())
    # a module the assignment does not ship (labs/helper.py) is an ordinary file
    assert left == [f"{ASSIGNMENT}.ipynb", "labs/numpy_mlp.py", "link.npy", "plot.png"]
    assert note == ("kept only in submitted/ (files over 1.0 KiB are not copied to autograded/ and "
                    "feedback/): data/big.csv (1.5 KiB), labs/helper.py (5.0 KiB), weights.npy (4.0 KiB)")
    assert trim_graded_copy(tmp_path, assignment, "ada", limit=1024) == ""


def test_an_unchanged_class_is_not_graded_again(graded, capsys):
    root, _ = graded
    before = (root / "grades-cells.csv").read_text(encoding="utf-8")
    status = main(["course", "grade", str(root / "course"), ASSIGNMENT, "--submissions", str(root / "submissions"),
                   "--csv", str(root / "grades.csv"), "--workers", "2"])
    out = capsys.readouterr().out
    assert status == 1
    graded_count = sum(expected is not None for expected in EXPECTED.values())
    assert f"graded 0 with the trusted checks, {graded_count} unchanged since graded" in out, out
    assert (root / "grades-cells.csv").read_text(encoding="utf-8") == before
    for student, reason in REASONS.items():
        assert f"not graded {student}: {reason}" in out


def test_a_run_for_one_student_or_without_submissions_keeps_the_whole_class(graded, capsys):
    # The grade files are the class's record: a part of the class graded (here: nothing changed)
    # rewrites them the same, every problem and every note (the large file kept in submitted/) kept.
    root, _ = graded
    files = [root / name for name in ("grades.csv", "grades-cells.csv", "grades-problems.csv")]
    before = [path.read_text(encoding="utf-8") for path in files]
    for options in (["--student", "honest"], [], ["--submissions", str(root / "submissions"), "--student", "stub"]):
        status = main(["grade", str(root / "course"), ASSIGNMENT, "--csv", str(root / "grades.csv"), *options])
        assert status == 1, capsys.readouterr().out   # the class still has students not graded
        assert [path.read_text(encoding="utf-8") for path in files] == before, options
        out = capsys.readouterr().out
        assert all(f"not graded {student}: {reason}" in out for student, reason in REASONS.items()), out
        assert "note honest: kept only in submitted/" in out, out


def test_plain_nbgrader_scores_agree_for_every_honest_submission(graded, tmp_path, capsys):
    root, _ = graded
    course = tmp_path / "course"
    shutil.copytree(root / "pristine", course, symlinks=True)
    status = main(["grade", str(course), ASSIGNMENT, "--submissions", str(root / "submissions"),
                   "--csv", str(tmp_path / "grades.csv"), "--in-kernel"])
    assert status == 1, capsys.readouterr().out
    in_kernel, trusted = cell_scores(tmp_path / "grades-cells.csv"), cell_scores(root / "grades-cells.csv")
    given_up = NOT_RUN
    assert all(in_kernel[student] == [0.0] * len(CELLS) for student in given_up)  # plain nbgrader gives up
    assert {s: v for s, v in in_kernel.items() if s not in given_up} == {s: v for s, v in trusted.items()
                                                                          if s not in given_up}


def test_plain_nbgrader_autograde_refuses_to_replace_trusted_scores(graded):
    # What formgrader's Autograde button runs, through the command line: the trusted scores stand.
    from grading.course.pipeline import cell_scores, run_nbgrader

    root, _ = graded
    course, assignment = root / "course", get_assignment(ASSIGNMENT)
    before = cell_scores(course, assignment)["partly_right"]
    result = run_nbgrader(course, "autograde", ASSIGNMENT, "--student", "partly_right", "--force")
    assert result.returncode != 0
    assert "partly_right was graded with the trusted checks" in result.stdout + result.stderr
    assert cell_scores(course, assignment)["partly_right"] == before


@pytest.fixture
def built_course(tmp_path):
    from grading.course.config import write_config
    from grading.course.pipeline import copy_source

    assignment = get_assignment(ASSIGNMENT)
    write_config(tmp_path / "course", [assignment])
    copy_source(tmp_path / "course", assignment)
    (tmp_path / "submissions" / "ada").mkdir(parents=True)
    return tmp_path / "course", tmp_path / "submissions"


def _refused_before_touching_anyone(course, submissions, capsys, *options):
    status = main(["grade", str(course), ASSIGNMENT, "--submissions", str(submissions), *options])
    out = capsys.readouterr().out
    assert status == 2
    assert not (course / "submitted").exists()
    return out.strip()


def test_without_root_trusted_grading_says_what_to_do_before_touching_anyone(built_course, capsys, monkeypatch):
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    assert _refused_before_touching_anyone(*built_course, capsys) == f"grade: {NOT_ROOT}"


def test_a_work_folder_the_grader_did_not_make_is_named_before_touching_anyone(built_course, capsys):
    """A .trusted-grading folder without the grader's marker may hold forged done records: refused, named."""
    course = built_course[0]
    (course / ".trusted-grading").mkdir(mode=0o700)
    out = _refused_before_touching_anyone(*built_course, capsys)
    assert out.startswith(f"grade: {course.resolve() / '.trusted-grading'} was not made by backprop-labs grade "
                          f"(it has no made-by-backprop-labs-grade file): it may hold forged records") and "\n" not in out


def test_a_read_only_course_folder_gets_one_sentence(built_course, capsys, monkeypatch):
    import tempfile

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")
    monkeypatch.setattr(tempfile, "NamedTemporaryFile", read_only)
    out = _refused_before_touching_anyone(*built_course, capsys)
    assert out.startswith(f"grade: cannot write in the course folder {built_course[0]} (Read-only file system)")
    assert out.count("\n") == 0


def test_a_full_disk_gets_one_sentence(built_course, capsys, monkeypatch):
    usage = shutil.disk_usage(built_course[0])
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage._replace(free=50 << 20))
    out = _refused_before_touching_anyone(*built_course, capsys)
    assert out.startswith("grade: only 50 MiB free on the disk of") and "free some space" in out


def test_the_disk_check_counts_what_the_copy_takes_not_a_sparse_file(built_course, monkeypatch):
    """One student's sparse 100 GB file is refused unread by the copy (named in their feedback): it
    costs the disk nothing, so it never stops the class's run; files beside the submissions are not copied."""
    from grading.commands.grading_run import preflight

    course, submissions = built_course
    with open(submissions / "ada" / "weights.bin", "wb") as handle:
        handle.truncate(100 << 30)
    with open(submissions / "class_archive.zip", "wb") as handle:   # not a student's folder
        handle.truncate(100 << 30)
    usage = shutil.disk_usage(course)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage._replace(free=300 << 20))
    preflight(course, get_assignment(ASSIGNMENT), submissions=submissions)   # 200 MiB spare + nothing copied
    (submissions / "ada" / "notes.bin").write_bytes(b"n" * (120 << 20))    # a real file is counted
    with pytest.raises(CourseError, match="only 300 MiB free .* and grading this class needs about 322 MiB"):
        preflight(course, get_assignment(ASSIGNMENT), submissions=submissions)


def test_grade_files_in_a_folder_that_cannot_be_written_get_one_sentence(built_course, capsys):
    out = _refused_before_touching_anyone(*built_course, capsys, "--csv", "/proc/x.csv")
    assert out.startswith("grade: cannot write the grade files in /proc (") and "give --csv a file" in out
    assert out.count("\n") == 0


def test_another_user_after_a_run_as_root_gets_one_sentence(built_course, capsys, monkeypatch):
    # --in-kernel needs no root, but what a trusted run as root wrote is root's (.trusted-grading is 0700)
    course = built_course[0]
    (course / ".trusted-grading").mkdir(mode=0o700)
    real_access = os.access
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    monkeypatch.setattr("os.access", lambda path, mode, **options: (
        Path(path).name != ".trusted-grading" and real_access(path, mode, **options)))
    out = _refused_before_touching_anyone(*built_course, capsys, "--in-kernel")
    assert out.startswith(f"grade: this user cannot write .trusted-grading in {course} (an earlier grading run "
                          "as root wrote them): run as root") and out.count("\n") == 0


def test_a_submissions_file_that_is_no_zip_is_named(built_course, capsys):
    course, submissions = built_course
    archive = submissions.parent / "class.tar.gz"
    archive.write_bytes(b"\x1f\x8b not a zip")
    assert "the submissions folder " + str(archive) + " is not a zip file" in _refused_before_touching_anyone(
        course, archive, capsys)


def test_another_user_who_cannot_read_a_root_only_course_gets_one_sentence(built_course, capsys, monkeypatch):
    # a trusted run leaves the course root-only (0700): another user cannot even see that it is built
    course = built_course[0]
    real_stat = Path.stat

    def stat(path, **options):
        if path.is_relative_to(course) and path != course:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_stat(path, **options)
    monkeypatch.setattr(Path, "stat", stat)
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    assert main(["grade", str(course), ASSIGNMENT, "--in-kernel"]) == 2
    out = capsys.readouterr().out
    assert out.startswith(f"grade: this user cannot read the course folder {course} (Permission denied): "
                          "run as the user who graded it") and out.count("\n") == 1


def test_an_error_on_the_course_files_ends_in_one_line_not_a_traceback(built_course, capsys, monkeypatch):
    def unwritable(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", "/course/gradebook.db")
    monkeypatch.setattr("grading.commands.grading_run.grade_assignment", unwritable)
    assert main(["grade", str(built_course[0]), ASSIGNMENT]) == 2
    out = capsys.readouterr().out
    assert out.startswith("grade: stopped, cannot use /course/gradebook.db (Permission denied)") and out.count("\n") == 1


def test_an_unbuilt_course_is_named(tmp_path, capsys):
    assert main(["grade", str(tmp_path), ASSIGNMENT]) == 2
    assert f"run `backprop-labs course build {tmp_path}` first" in capsys.readouterr().out


def test_grade_and_course_grade_take_the_same_options():
    from grading.cli import build_parser

    options = ["C", ASSIGNMENT, "--submissions", "S", "--csv", "g.csv", "--workers", "3", "--dask-scheduler",
               "tcp://127.0.0.1:8786", "--student", "ada", "--student", "bob", "--in-kernel"]
    direct = vars(build_parser().parse_args(["grade", *options]))
    via_course = vars(build_parser().parse_args(["course", "grade", *options]))
    for key in ("course_dir", "assignment", "submissions", "csv", "workers", "dask_scheduler", "students", "in_kernel"):
        assert direct[key] == via_course[key], key
    assert direct["students"] == ["ada", "bob"] and direct["csv"] == Path("g.csv")


def _zip_folder(folder, wrapper):
    """The bytes of a zip of ``folder``'s files under the top folder ``wrapper`` (as a student zips their work)."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            name = f"{wrapper}/{path.relative_to(folder).as_posix()}"
            if path.is_dir():
                archive.writestr(name + "/", b"")
            else:
                archive.write(path, name)
    return buffer.getvalue()


def test_a_canvas_download_and_a_roster_go_from_grade_to_an_importable_csv(graded, capsys):
    # Runs last on the graded class: the roster, then the same work as a Canvas download (each student's
    # folder zipped inside it), then the Canvas export: three commands, no folder moved by hand.
    import zipfile

    root, _ = graded
    course = root / "course"
    (root / "roster.csv").write_text("id,first_name,last_name,email,lms_id\n"
                                     "honest,Ada,Lovelace,ada@example.org,1001\n"
                                     "partly_right,John,Smith,john@example.org,\n"
                                     "empty_file,Eve,Empty,eve@example.org,1003\n", encoding="utf-8")
    assert main(["course", "roster", str(course), str(root / "roster.csv")]) == 0
    download = root / "canvas.zip"
    with zipfile.ZipFile(download, "w") as archive:
        archive.writestr("lovelaceada_1001_9001_backprop_mlp.zip", _zip_folder(root / "submissions" / "honest", "lab"))
        archive.writestr("smithjohn_late_1002_9002_backprop_mlp.zip",
                         _zip_folder(root / "submissions" / "partly_right", "backprop_mlp"))
        archive.writestr("emptyeve_1003_9003_backprop_mlp.ipynb", b"")
        archive.writestr("strangerx_1999_9004_backprop_mlp.ipynb", b"{}")
    capsys.readouterr()
    status = main(["grade", str(course), ASSIGNMENT, "--submissions", str(download), "--csv", str(root / "grades.csv")])
    out = capsys.readouterr().out
    assert status == 1   # the class still has students not graded
    graded_count = sum(expected is not None for expected in EXPECTED.values())
    assert f"graded 0 with the trusted checks, {graded_count} unchanged since graded" in out, out   # the same work
    assert "not mapped to a student: strangerx_1999_9004_backprop_mlp.ipynb: no student of the roster has LMS id" \
           in out
    assert "note partly_right: marked late by canvas" in out
    assert f"not graded empty_file: {REASONS['empty_file']}" in out
    grades = {row["student_id"]: row for row in csv_rows(root / "grades.csv")}
    assert (grades["honest"]["first_name"], grades["honest"]["last_name"]) == ("Ada", "Lovelace")
    assert (grades["empty_file"]["first_name"], grades["empty_file"]["email"]) == ("Eve", "eve@example.org")
    assert main(["course", "export", str(course), ASSIGNMENT, "--format", "canvas", "--csv",
                 str(root / "grades.csv")]) == 0
    rows = {row["Student"]: row for row in csv_rows(root / "grades-canvas.csv")}
    assert rows["Points Possible"][ASSIGNMENT] == f"{sum(FULL):g}"
    assert (rows["Lovelace, Ada"]["ID"], rows["Lovelace, Ada"][ASSIGNMENT]) == ("1001", f"{sum(FULL):g}")
    assert rows["Empty, Eve"][ASSIGNMENT] == "0"
