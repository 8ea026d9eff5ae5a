"""The class roster into nbgrader's gradebook, LMS downloads mapped to the roster's students, and the
grades out as Canvas, Moodle and nbgrader import them.

The downloads are built here from the layouts those systems document: Canvas's flat zip
(``<name>[_late]_<userid>_<submissionid>_<original name>``, ``-1`` appended to a name uploaded again),
Moodle's folder per student (``<Full Name>_<id>_assignsubmission_file_/``), and nbgrader's exchange inbox
(``<student>+<assignment>+<timestamp>[+random]/``). Staging needs no grading: the files it writes are checked."""
import csv
import io
import os
import stat
import zipfile

import pytest

from grading.cli import main
from grading.course import lms
from grading.course.assignments import get_assignment
from grading.course.config import write_config
from grading.course.lms import read_sidecar, stage_download
from grading.course.pipeline import EXPORT_COLUMNS
from grading.course.roster import read_roster, roster_students

ASSIGNMENT = "backprop_mlp"
NOTEBOOK = b'{"cells": [], "nbformat": 4, "nbformat_minor": 5, "metadata": {}}'
MODULE = b"def forward(x):\n    return x\n"
ROSTER = """id,first_name,last_name,email,lms_id
ada,Ada,Lovelace,ada@example.org,1001
john,John,Smith,john@example.org,
jose,José,Núñez,jose@example.org,
pat1,Pat,Lee,pat1@example.org,
pat2,Pat,Lee,pat2@example.org,
"""


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course folder with its configuration and the roster above in its gradebook."""
    root = tmp_path_factory.mktemp("lms")
    write_config(root / "course", [get_assignment(ASSIGNMENT)])
    (root / "roster.csv").write_text(ROSTER, encoding="utf-8")
    assert main(["course", "roster", str(root / "course"), str(root / "roster.csv")]) == 0
    return root / "course"


def _zip(path, members):
    """A zip at ``path`` of ``{name: bytes}``; a value ``("link", target)`` makes a symbolic link member."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            if isinstance(data, tuple):
                info = zipfile.ZipInfo(name)
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                archive.writestr(info, data[1])
            else:
                archive.writestr(name, data)
    return path


def _zip_bytes(members):
    buffer = io.BytesIO()
    _zip(buffer, members)
    return buffer.getvalue()


def _files(folder):
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file())


# ---------------------------------------------------------------- roster

def test_the_roster_puts_names_and_lms_ids_into_the_gradebook(course):
    students = {student.id: student for student in roster_students(course)}
    assert sorted(students) == ["ada", "john", "jose", "pat1", "pat2"]
    assert (students["ada"].first_name, students["ada"].last_name, students["ada"].email,
            students["ada"].lms_user_id) == ("Ada", "Lovelace", "ada@example.org", "1001")
    assert students["jose"].last_name == "Núñez" and students["john"].lms_user_id == ""


def test_every_refused_row_gets_its_line_and_the_others_are_imported(course, tmp_path, capsys):
    roster = tmp_path / "roster.csv"
    roster.write_text("Student ID,First Name,Last Name,Email Address,LMS ID\n"
                      "eve,Eve,Moneypenny,eve@example.org,3002\n"
                      ",No,Id,noid@example.org,\n"
                      "bad id,Bad,Id,bad@example.org,\n"
                      ".hidden,Hid,Den,hid@example.org,\n"
                      "eve,Eve,Again,eve2@example.org,\n"
                      "mal,Mal,Formed,mal-at-example.org,\n"
                      "twin,Twin,Id,twin@example.org,3002\n"
                      "\n", encoding="utf-8")
    students, refused = read_roster(roster)
    assert [s.id for s in students] == ["eve"]
    assert refused == [
        "row 3 refused: no student id",
        "row 4 refused: student id 'bad id' refused: a student id may hold ASCII letters, digits, '_', '.' and '-' "
        "only, and must not start with '.' or '-' (e.g. 'bad_id')",
        "row 5 refused: student id '.hidden' refused: a student id may hold ASCII letters, digits, '_', '.' and '-' "
        "only, and must not start with '.' or '-' (e.g. 'hidden')",
        "row 6 refused: student id 'eve' is already on row 2",
        "row 7 refused: e-mail address 'mal-at-example.org' has no '@'",
        "row 8 refused: LMS id '3002' is already on row 2",
    ]
    assert main(["course", "roster", str(course), str(roster)]) == 0   # one row imported: success
    out = capsys.readouterr().out
    assert all(line in out for line in refused) and "1 student(s) imported" in out and "6 row(s) refused" in out
    assert "eve" in {student.id for student in roster_students(course)}


def test_a_roster_with_nothing_to_import_or_unreadable_fails(course, tmp_path, capsys):
    nothing = tmp_path / "nothing.csv"
    nothing.write_text("id,first_name\nbad id,X\n", encoding="utf-8")
    assert main(["course", "roster", str(course), str(nothing)]) == 1
    assert "0 student(s) imported" in capsys.readouterr().out
    no_id = tmp_path / "no_id.csv"
    no_id.write_text("name,mail\nAda,ada@example.org\n", encoding="utf-8")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("id,first_name\njose,Jos\xe9\n".encode("latin-1"))
    for path, why in ((no_id, "has no student id column"), (latin, "is not UTF-8 text"),
                      (tmp_path / "missing.csv", "No such file")):
        assert main(["course", "roster", str(course), str(path)]) == 2
        assert why in capsys.readouterr().out
    assert main(["course", "roster", str(tmp_path / "not-a-course"), str(nothing)]) == 2
    assert "is not a built course" in capsys.readouterr().out


# ---------------------------------------------------------------- downloads

def test_a_canvas_zip_is_mapped_by_lms_id_and_name_with_late_flags_and_nested_zips(course, tmp_path):
    nested = _zip_bytes({"my work/backprop_mlp.ipynb": NOTEBOOK, "my work/labs/numpy_mlp.py": MODULE,
                         "my work/labs/evil.py": ("link", "/etc/passwd"), "my work/../../escape.py": MODULE,
                         "__MACOSX/my work/._backprop_mlp.ipynb": b"attributes"})
    download = _zip(tmp_path / "submissions.zip", {
        "lovelaceada_late_1001_501_backprop_mlp.ipynb": NOTEBOOK,     # by LMS id, late
        "lovelaceada_late_1001_501_numpy_mlp-1.py": MODULE,           # uploaded again: -1, a module loose
        "smithjohn_2002_502_backprop_mlp.zip": nested,                # by name, a zip inside
        "nunezjose_2003_503_backprop_mlp.ipynb": NOTEBOOK,            # by name, accents dropped
        "leepat_2004_504_backprop_mlp.ipynb": NOTEBOOK,               # two students called Pat Lee
        "stranger_2005_505_backprop_mlp.ipynb": NOTEBOOK,             # nobody of the roster
        "../../outside.ipynb": NOTEBOOK,                              # a path climbing out
    })
    staged = stage_download(course, get_assignment(ASSIGNMENT), download, roster_students(course))
    assert staged.layout == "canvas"
    assert sorted(os.listdir(staged.folder)) == ["ada", "john", "jose"]
    assert _files(staged.folder / "ada") == ["backprop_mlp.ipynb", "labs/numpy_mlp.py"]
    assert _files(staged.folder / "john") == ["backprop_mlp.ipynb", "labs/numpy_mlp.py"]
    assert (staged.folder / "john" / "labs" / "numpy_mlp.py").read_bytes() == MODULE
    assert not (tmp_path / "outside.ipynb").exists() and not list(course.parent.rglob("escape.py"))
    unmapped = "\n".join(staged.unmapped)
    assert "leepat_2004_504_backprop_mlp.ipynb: 2 students of the roster are called 'leepat' (pat1, pat2)" in unmapped
    assert "stranger_2005_505_backprop_mlp.ipynb: no student of the roster has LMS id '2005'" in unmapped
    assert "..: not named as a canvas download names its entries" in unmapped
    assert staged.notes["ada"] == ["marked late by canvas"]
    john = "\n".join(staged.notes["john"])
    assert "my work/labs/evil.py not unpacked (symbolic link)" in john
    assert "my work/../../escape.py not unpacked (a path outside the download" in john
    sidecar = read_sidecar(course, ASSIGNMENT)
    assert (sidecar["ada"]["late"], sidecar["ada"]["lms_user_id"], sidecar["john"]["late"]) == ("yes", "1001", "no")
    assert sidecar["ada"]["submitted_at"].startswith("20")   # the zip members' time


def test_a_moodle_folder_is_mapped_by_full_name_read_by_the_safe_walk_and_size_capped(course, tmp_path, monkeypatch):
    download = tmp_path / "moodle"
    john = download / "John Smith_77_assignsubmission_file_"
    john.mkdir(parents=True)
    (john / "backprop_mlp.ipynb").write_bytes(NOTEBOOK)
    (john / "numpy_mlp.py").write_bytes(MODULE)
    (john / "secret").symlink_to("/etc/passwd")
    ada = download / "Ada Lovelace_78_assignsubmission_file_"
    ada.mkdir()
    (ada / "backprop_mlp.ipynb").write_bytes(NOTEBOOK)
    (ada / "weights.bin").write_bytes(b"0" * 5000)
    (download / "grades.txt").write_text("not a submission")
    monkeypatch.setattr(lms, "MAX_SUBMISSION_BYTES", 1000)
    staged = stage_download(course, get_assignment(ASSIGNMENT), download, roster_students(course))
    assert staged.layout == "moodle"
    assert _files(staged.folder / "john") == ["backprop_mlp.ipynb", "labs/numpy_mlp.py"]
    assert _files(staged.folder / "ada") == ["backprop_mlp.ipynb"]
    assert staged.notes["john"] == ["John Smith_77_assignsubmission_file_/secret was not read (symbolic link)"]
    assert "weights.bin was not read (5000 bytes, over the limit of 1000 bytes" in staged.notes["ada"][0]
    assert staged.unmapped == ["grades.txt: not named as a moodle download names its entries"]
    # john's files (the link is not counted), ada's capped at the limit, and the stray file
    assert lms.download_bytes(download) == len(NOTEBOOK) + len(MODULE) + 1000 + len("not a submission")


def test_a_moodle_zip_is_staged_like_its_folder(course, tmp_path):
    download = _zip(tmp_path / "moodle.zip", {"José Núñez_80_assignsubmission_file_/backprop_mlp.ipynb": NOTEBOOK,
                                              "José Núñez_80_assignsubmission_file_/labs/numpy_mlp.py": MODULE,
                                              "José Núñez_80_assignsubmission_onlinetext_/onlinetext.html": b"<p>"})
    staged = stage_download(course, get_assignment(ASSIGNMENT), download, roster_students(course))
    assert staged.layout == "moodle" and staged.unmapped == []
    assert _files(staged.folder / "jose") == ["backprop_mlp.ipynb", "labs/numpy_mlp.py", "onlinetext.html"]


def test_the_nbgrader_exchange_inbox_keeps_the_latest_submission_and_its_time(course, tmp_path):
    inbound = tmp_path / "exchange" / "course101" / "inbound"
    for name, text in (("ada+backprop_mlp+2026-12-01 09:00:00.000000 UTC", b"old"),
                       ("ada+backprop_mlp+2026-12-02 10:30:00.000000 UTC+f3a9", b"new"),
                       ("ada+another_lab+2026-12-03 08:00:00.000000 UTC", b"other"),
                       ("zoe+backprop_mlp+2026-12-01 11:00:00.000000 UTC", b"zoe")):
        (inbound / name / "labs").mkdir(parents=True)
        (inbound / name / "backprop_mlp.ipynb").write_bytes(text)
        (inbound / name / "labs" / "numpy_mlp.py").write_bytes(MODULE)
    staged = stage_download(course, get_assignment(ASSIGNMENT), inbound.parent, roster_students(course))
    assert staged.layout == "nbgrader exchange"
    assert sorted(os.listdir(staged.folder)) == ["ada", "zoe"]   # an id need not be in the roster
    assert (staged.folder / "ada" / "backprop_mlp.ipynb").read_bytes() == b"new"
    assert _files(staged.folder / "ada") == ["backprop_mlp.ipynb", "labs/numpy_mlp.py"]
    assert sorted(staged.unmapped) == [
        "ada+another_lab+2026-12-03 08:00:00.000000 UTC: a submission of assignment another_lab, not backprop_mlp",
        "ada+backprop_mlp+2026-12-01 09:00:00.000000 UTC: an older submission of ada (the latest, "
        "ada+backprop_mlp+2026-12-02 10:30:00.000000 UTC+f3a9, is graded)"]
    assert read_sidecar(course, ASSIGNMENT)["ada"]["submitted_at"] == "2026-12-02 10:30:00.000000 UTC"


def test_a_plain_submissions_folder_is_not_a_download(tmp_path):
    (tmp_path / "ada").mkdir()
    (tmp_path / "ada" / "backprop_mlp.ipynb").write_bytes(NOTEBOOK)
    assert not lms.is_download(tmp_path)
    (tmp_path / "smith_12_34_x").mkdir()   # one id shaped like a Canvas name does not make a Canvas download
    (tmp_path / "bob").mkdir()
    assert not lms.is_download(tmp_path)
    assert lms.is_download(_zip(tmp_path.parent / "plain.zip", {"ada/backprop_mlp.ipynb": NOTEBOOK}))


# ---------------------------------------------------------------- grades out

def _write_grades(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, EXPORT_COLUMNS)
        writer.writeheader()
        for student, first, last, email, score, problem in rows:
            writer.writerow(dict(dict.fromkeys(EXPORT_COLUMNS, ""), assignment=ASSIGNMENT, student_id=student,
                                 first_name=first, last_name=last, email=email, raw_score=score, score=score,
                                 late_submission_penalty=0.0, max_score=12.0, problem=problem))


def _csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_the_grades_go_out_as_canvas_moodle_and_nbgrader_import_them(course, capsys):
    _write_grades(course / "grades" / f"{ASSIGNMENT}.csv", [
        ("ada", "Ada", "Lovelace", "ada@example.org", 11.5, ""),
        ("john", "John", "Smith", "john@example.org", 0.0, "not submitted"),
        ("walkin", "", "", "", 7.0, ""),
    ])
    assert main(["course", "export", str(course), ASSIGNMENT, "--format", "canvas"]) == 0
    out = capsys.readouterr().out
    assert _csv(course / "grades" / f"{ASSIGNMENT}-canvas.csv") == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", ASSIGNMENT],
        ["Points Possible", "", "", "", "", "12"],
        ["Lovelace, Ada", "1001", "", "", "", "11.5"],
        ["Smith, John", "", "", "", "", "0"],
        ["walkin", "", "", "", "", "7"]]
    assert "john: no Canvas user id in the roster" in out and "walkin: no Canvas user id" in out
    assert "ada:" not in out
    assert main(["course", "export", str(course), ASSIGNMENT, "--format", "moodle"]) == 0
    out = capsys.readouterr().out
    assert _csv(course / "grades" / f"{ASSIGNMENT}-moodle.csv") == [
        ["First name", "Last name", "Email address", ASSIGNMENT],
        ["Ada", "Lovelace", "ada@example.org", "11.5"],
        ["John", "Smith", "john@example.org", "0"],
        ["", "", "", "7"]]
    assert "walkin: no e-mail address" in out and "john:" not in out
    assert main(["course", "export", str(course), ASSIGNMENT, "--format", "nbgrader", "--out",
                 str(course / "nb.csv")]) == 0
    rows = _csv(course / "nb.csv")
    assert rows[0] == ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
                       "raw_score", "late_submission_penalty", "score", "max_score"]
    assert [row[3] for row in rows[1:]] == ["ada", "john", "walkin"] and rows[1][9] == "11.5"


def test_export_without_grades_says_to_grade_first(tmp_path, capsys):
    write_config(tmp_path / "course", [get_assignment(ASSIGNMENT)])
    assert main(["course", "export", str(tmp_path / "course"), ASSIGNMENT, "--format", "moodle"]) == 2
    assert "run `backprop-labs grade" in capsys.readouterr().out
