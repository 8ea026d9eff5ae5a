"""The one walk over a student's folder (grading/course/submission_files.py), as collection uses it.

Collection runs as root on a folder the student controls: it must finish although the folder
holds a FIFO (opening one blocks), a device (``/dev/zero`` never ends), links to files outside and
a file over the size limit; name each of them; copy the regular files; and give an unchanged
folder the same digest while one changed byte changes it.
"""
import hashlib
import os
import stat
import threading

import pytest

from grading.course import submission_files
from grading.course.assignments import get_assignment
from grading.course.submission_files import MAX_SUBMISSION_BYTES, copy_submission, fingerprint
from grading.course.submissions import collect_submissions, folder_digest, not_collected

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root (CI runs as root)")

BACKPROP = get_assignment("backprop_mlp")
ODD_NAME = bytes.fromhex("ff6e616d652e7079").decode("utf-8", "surrogateescape")   # b"\xffname.py"


def _hostile_folder(folder, outside):
    (folder / "labs").mkdir(parents=True)
    (folder / "backprop_mlp.ipynb").write_text("{}", encoding="utf-8")
    (folder / "labs" / "numpy_mlp.py").write_text("x = 1\n", encoding="utf-8")
    (folder / "labs" / ODD_NAME).write_bytes(b"y = 2\n")
    os.mkfifo(folder / "labs" / "pipe.py")
    os.mknod(folder / "labs" / "zero.py", stat.S_IFCHR | 0o600, os.makedev(1, 5))   # what /dev/zero is
    (outside / "solution.py").write_text("SOLVED = True\n", encoding="utf-8")
    os.symlink(outside / "solution.py", folder / "labs" / "pytorch_mlp.py")
    os.symlink("/dev/zero", folder / "labs" / "log_linear.py")
    with open(folder / "huge.bin", "wb") as handle:   # sparse: over the limit without using the disk
        handle.truncate(MAX_SUBMISSION_BYTES + 1)


def _collect_in_thread(course, submissions):
    """Collection in a thread, so that a FIFO that blocked it fails the test instead of hanging it."""
    outcome = {}
    worker = threading.Thread(target=lambda: outcome.update(collection=collect_submissions(course, BACKPROP,
                                                                                            submissions)),
                              daemon=True)
    worker.start()
    worker.join(timeout=120)   # a normal collection of this folder takes milliseconds
    assert not worker.is_alive(), "collection blocked on the student's folder"
    return outcome["collection"]


def test_collection_refuses_links_fifos_devices_and_oversized_files_and_names_each(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    _hostile_folder(tmp_path / "submissions" / "ada", outside)
    course = tmp_path / "course"
    collection = _collect_in_thread(course, tmp_path / "submissions")
    assert collection.students == ["ada"]
    named = sorted(map(str, collection.not_copied["ada"]))
    assert named == [f"huge.bin ({MAX_SUBMISSION_BYTES + 1} bytes, over the limit of {MAX_SUBMISSION_BYTES} "
                     "bytes for a submission)",
                     "labs/log_linear.py (symbolic link)", "labs/pipe.py (FIFO)",
                     "labs/pytorch_mlp.py (symbolic link)", "labs/zero.py (device)"]
    assert not_collected(course, BACKPROP.name, "ada") == named   # kept for the student's feedback
    copied = course / "submitted" / "ada" / "backprop_mlp"
    assert sorted(os.listdir(copied)) == ["backprop_mlp.ipynb", "labs", "timestamp.txt"]
    assert sorted(os.listdir(copied / "labs")) == sorted([ODD_NAME, "numpy_mlp.py"])
    assert (copied / "labs" / "numpy_mlp.py").read_text(encoding="utf-8") == "x = 1\n"
    assert (copied / "labs" / ODD_NAME).read_bytes() == b"y = 2\n"


def test_a_clean_collection_forgets_what_an_earlier_one_refused(tmp_path):
    folder = tmp_path / "submissions" / "ada"
    folder.mkdir(parents=True)
    (folder / "backprop_mlp.ipynb").write_text("{}", encoding="utf-8")
    os.mkfifo(folder / "pipe")
    collect_submissions(tmp_path / "course", BACKPROP, tmp_path / "submissions")
    assert not_collected(tmp_path / "course", BACKPROP.name, "ada") == ["pipe (FIFO)"]
    (folder / "pipe").unlink()
    assert collect_submissions(tmp_path / "course", BACKPROP, tmp_path / "submissions").not_copied == {}
    assert not_collected(tmp_path / "course", BACKPROP.name, "ada") == []


def test_the_digest_is_stable_for_the_same_files_and_changes_with_one_byte(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    folder = tmp_path / "ada"
    _hostile_folder(folder, outside)
    first = folder_digest(folder)
    assert folder_digest(folder) == first                     # FIFO, device and links never opened
    (folder / "timestamp.txt").write_text("2000-01-01", encoding="utf-8")
    assert folder_digest(folder) == first                     # the student's own timestamp does not count
    (folder / "labs" / ODD_NAME).write_bytes(b"y = 3\n")
    assert folder_digest(folder) != first                     # one byte, in a file whose name is not UTF-8
    (folder / "labs" / ODD_NAME).write_bytes(b"y = 2\n")
    assert folder_digest(folder) == first
    (outside / "solution.py").write_text("SOLVED = False\n", encoding="utf-8")
    assert folder_digest(folder) == first                     # a link's target is never read


def test_a_file_that_grows_past_the_limit_while_read_is_refused_and_not_kept(tmp_path, monkeypatch):
    source, target = tmp_path / "source", tmp_path / "copy"
    source.mkdir()
    target.mkdir()
    (source / "a.py").write_bytes(b"a" * 600)
    (source / "b.py").write_bytes(b"b" * 600)
    walk = submission_files.walk_submission

    def listed_small(folder):   # as if both files had been 10 bytes when listed, and grew before being read
        for entry in walk(folder):
            yield submission_files.Entry(entry.relative, entry.kind, min(entry.size, 10), entry.name,
                                         entry.directory_fd)

    monkeypatch.setattr(submission_files, "walk_submission", listed_small)
    refused = copy_submission(source, target, max_bytes=1000)
    assert list(map(str, refused)) == ["b.py (grew past the limit of 1000 bytes for a submission while read)"]
    assert os.listdir(target) == ["a.py"] and (target / "a.py").read_bytes() == b"a" * 600
    digest = fingerprint(source, hashlib.sha256(), max_bytes=1000).hexdigest()
    assert digest == fingerprint(source, hashlib.sha256(), max_bytes=1000).hexdigest()
