"""The done records of trusted grading are signed with the grader's key, and its work folder is its own:
a record that student code wrote (the real fingerprint, full marks) is not one, nor one without scores,
nor another student's; a ``.trusted-grading`` folder this grader did not make is refused, naming it."""
import json
import os

import pytest

from grading.course import trusted_records
from grading.course.trusted_records import RecordsError, read_record, record_path, work_folder, write_record

SCORES = {"test_2_2_hidden": [2.0, 2.0], "test_2_4_hidden": [1.0, 1.0]}


@pytest.fixture
def key_dir(tmp_path, monkeypatch):
    """The grader's config folder for this test (outside the course, as in real use)."""
    folder = tmp_path / "config"
    monkeypatch.setenv(trusted_records.CONFIG_VARIABLE, str(folder))
    return folder


def test_a_record_this_grader_wrote_reads_back_and_its_key_is_private(tmp_path, key_dir):
    course = tmp_path / "course"
    course.mkdir()
    write_record(course, "lab", "ada", "f" * 64, SCORES, {"check": {"passed": 2}}, note="repaired")
    assert read_record(course, "lab", "ada") == {"submission": "f" * 64, "scores": SCORES,
                                                 "checks": {"check": {"passed": 2}}, "note": "repaired"}
    key = key_dir / trusted_records.KEY_FILE
    assert oct(os.stat(key).st_mode & 0o777) == "0o600" and oct(os.stat(key_dir).st_mode & 0o777) == "0o700"
    assert not key.is_relative_to(course)


def test_a_record_written_by_anything_else_is_no_record(tmp_path, key_dir):
    course = tmp_path / "course"
    course.mkdir()
    write_record(course, "lab", "ada", "a" * 64, SCORES, {})
    write_record(course, "lab", "bob", "b" * 64, {"test_2_2_hidden": [0.0, 2.0]}, {})
    signed = json.loads(record_path(course, "lab", "ada").read_text())
    # What a kernel writes: the real fingerprint and full marks, with no signature or a made-up one.
    forged = {"submission": "b" * 64, "scores": SCORES, "checks": {}, "note": ""}
    record_path(course, "lab", "bob").write_text(json.dumps(forged))
    assert read_record(course, "lab", "bob") is None
    record_path(course, "lab", "bob").write_text(json.dumps({**forged, "signature": "0" * 64}))
    assert read_record(course, "lab", "bob") is None
    # ada's signed record copied to bob (another student), or its scores raised: not bob's, not ada's
    record_path(course, "lab", "bob").write_text(json.dumps(signed))
    assert read_record(course, "lab", "bob") is None
    record_path(course, "lab", "ada").write_text(json.dumps({**signed, "scores": {"test_2_2_hidden": [9.0, 2.0]}}))
    assert read_record(course, "lab", "ada") is None


def test_a_record_without_scores_is_never_done(tmp_path, key_dir):
    course = tmp_path / "course"
    course.mkdir()
    write_record(course, "lab", "ada", "a" * 64, {}, {})
    assert record_path(course, "lab", "ada").is_file() and read_record(course, "lab", "ada") is None


def test_a_key_others_can_read_is_refused_with_its_name(tmp_path, key_dir):
    course = tmp_path / "course"
    course.mkdir()
    write_record(course, "lab", "ada", "a" * 64, SCORES, {})
    os.chmod(key_dir / trusted_records.KEY_FILE, 0o644)
    with pytest.raises(RecordsError, match=f"record key {key_dir / trusted_records.KEY_FILE} is refused: others can "
                                           f"read or write it \\(mode 644\\)"):
        read_record(course, "lab", "ada")


def test_a_work_folder_this_grader_did_not_make_is_refused_with_its_name(tmp_path, key_dir):
    from grading.trusted import parallel

    from grading.course.case_secret import create_course_secret

    course = tmp_path / "course"
    (course / ".trusted-grading" / "records").mkdir(parents=True, mode=0o700)
    os.chmod(course / ".trusted-grading", 0o700)
    create_course_secret(course)   # as course build does: the class is refused for its work folder alone
    expected = (f"{course / '.trusted-grading'} was not made by backprop-labs grade (it has no "
                f"{trusted_records.WORK_MARKER} file): it may hold forged records")
    with pytest.raises(RecordsError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        parallel.grade_class(course, "backprop_mlp", progress=False)
    (course / ".trusted-grading" / trusted_records.WORK_MARKER).write_text("")
    os.chmod(course / ".trusted-grading", 0o755)
    with pytest.raises(RecordsError, match=r"others can read or write it \(mode 755\)"):
        work_folder(course)
    os.chmod(course / ".trusted-grading", 0o700)
    assert work_folder(course) == course / ".trusted-grading"
    made = tmp_path / "other"
    made.mkdir()
    assert (work_folder(made) / trusted_records.WORK_MARKER).is_file()
    assert oct(os.stat(made / ".trusted-grading").st_mode & 0o777) == "0o700"


@pytest.mark.parametrize("count", [1, 3, 8])
def test_refusing_nbgraders_autograde_names_every_record_to_delete_or_their_number(tmp_path, count):
    """nbgrader's own autograde of students graded with the trusted checks is refused with the records to
    delete: each one, or the first few, how many more and their folder (formgrader's dialog shows the log)."""
    from grading.course.preprocessors import REFUSAL_RECORDS_SHOWN, trusted_refusal

    students = [f"s{n:02d}" for n in range(count)]
    refusal = trusted_refusal(tmp_path, "lab", students)
    named = [student for student in students if str(record_path(tmp_path, "lab", student)) in refusal]
    assert named == students[:REFUSAL_RECORDS_SHOWN]
    hidden = count - REFUSAL_RECORDS_SHOWN
    assert (f"and {hidden} more in\n    {record_path(tmp_path, 'lab', 's00').parent}" in refusal) == (hidden > 0)
    assert (f"delete these {count} records" in refusal) == (count > 1)


KEY_PROBE = """
import os
try:
    open({key!r}, "rb").read()
    print("PROBE key read")
except OSError as error:
    print("PROBE key refused:", type(error).__name__)
print("PROBE uid", os.geteuid())
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox needs root (CI runs as root)")
def test_plain_nbgrader_autograde_as_root_runs_the_notebook_where_the_key_cannot_be_read(tmp_path, key_dir):
    """formgrader's Autograde button, or the nbgrader command, run as root on a course: the notebook's
    code runs in the sandbox, as another user, so it cannot read the key and forge a record."""
    import nbformat

    from grading.course.pipeline import run_nbgrader
    from trusted_class import build_demo_class

    key = trusted_records.record_key(create=True)
    key_file = key_dir / trusted_records.KEY_FILE
    assert key_file.read_bytes() == key            # root, here, can read it: the probe below is not vacuous
    course = build_demo_class(tmp_path / "class", ["stub"], "worked_graph")
    notebook_path = course / "submitted" / "s00_stub" / "worked_graph" / "worked_graph.ipynb"
    notebook = nbformat.read(notebook_path, as_version=4)
    first_code = next(cell for cell in notebook.cells if cell.cell_type == "code")
    first_code.source += KEY_PROBE.format(key=str(key_file))
    nbformat.write(notebook, notebook_path)
    result = run_nbgrader(course, "autograde", "worked_graph", "--student", "s00_stub", "--force", timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    graded = nbformat.read(course / "autograded" / "s00_stub" / "worked_graph" / "worked_graph.ipynb", as_version=4)
    printed = "".join(output.get("text", "") for cell in graded.cells if cell.cell_type == "code"
                      for output in cell.outputs)
    assert "PROBE key refused" in printed and "PROBE key read" not in printed, printed
    uid = int(printed.split("PROBE uid", 1)[1].split()[0])
    assert uid != 0
