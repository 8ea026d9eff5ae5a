"""The one walk over a student's folder (grading/course/submission_files.py), as collection uses it.

Collection runs as root on a folder the student controls: it must finish although the folder
holds a FIFO (opening one blocks), a device (``/dev/zero`` never ends), links to files outside and
a file over the size limit; name each of them; copy the regular files; and give an unchanged
folder the same digest while one changed byte changes it.
"""
import errno
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

    def listed_small(folder, leave_out=None):   # as if both files had been 10 bytes when listed, then grew
        for entry in walk(folder, leave_out):
            yield submission_files.Entry(entry.relative, entry.kind, min(entry.size, 10), entry.name,
                                         entry.directory_fd)

    monkeypatch.setattr(submission_files, "walk_submission", listed_small)
    refused = copy_submission(source, target, max_bytes=1000)
    assert list(map(str, refused)) == ["b.py (grew past the limit of 1000 bytes for a submission while read)"]
    assert os.listdir(target) == ["a.py"] and (target / "a.py").read_bytes() == b"a" * 600
    digest = fingerprint(source, hashlib.sha256(), max_bytes=1000).hexdigest()
    assert digest == fingerprint(source, hashlib.sha256(), max_bytes=1000).hexdigest()


def _deep_folder(folder, levels, name_length):
    """``levels`` folders inside each other under ``folder``, each name ``name_length`` bytes long, with
    a module at the bottom; made through folder descriptors, so a path longer than ``PATH_MAX`` works.
    Returns the first folder's name."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for level in range(levels):
            name = f"{level:03d}".ljust(name_length, "d")
            os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
        os.close(os.open("deep.py", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=fd))
    finally:
        os.close(fd)
    return "000".ljust(name_length, "d")


def test_a_path_longer_than_path_max_costs_its_student_a_line_and_the_class_is_collected(tmp_path):
    honest, hostile = tmp_path / "submissions" / "honest", tmp_path / "submissions" / "long_path"
    for folder in (honest, hostile):
        (folder / "labs").mkdir(parents=True)
        (folder / "backprop_mlp.ipynb").write_text("{}", encoding="utf-8")
        (folder / "labs" / "numpy_mlp.py").write_text("x = 1\n", encoding="utf-8")
    _deep_folder(hostile / "labs", 25, 200)   # about 5000 bytes below the submission: over PATH_MAX (4096)
    collection = _collect_in_thread(tmp_path / "course", tmp_path / "submissions")
    assert collection.students == ["honest", "long_path"] and collection.refused == {}
    [line] = map(str, collection.not_copied["long_path"])
    assert line.startswith("labs/000dd") and "..." in line and len(line) < 250, line
    assert line.endswith(f"(a path longer than {submission_files.MAX_PATH_BYTES} bytes, not entered)")
    for student in ("honest", "long_path"):
        copied = tmp_path / "course" / "submitted" / student / "backprop_mlp"
        assert (copied / "labs" / "numpy_mlp.py").read_text(encoding="utf-8") == "x = 1\n"
    assert "honest" not in collection.not_copied


def test_a_deep_tree_and_too_many_entries_are_named_and_not_walked(tmp_path, monkeypatch):
    source = tmp_path / "source"
    source.mkdir()
    (source / "a.py").write_text("a = 1\n", encoding="utf-8")
    first = _deep_folder(source, 40, 3)
    target = tmp_path / "copy"
    target.mkdir()
    refused = copy_submission(source, target)
    deepest = "/".join(f"{level:03d}" for level in range(submission_files.MAX_DEPTH + 1))
    assert list(map(str, refused)) == [f"{deepest} (a folder nested more than {submission_files.MAX_DEPTH} "
                                       "folders deep, not entered)"]
    assert (target / "a.py").is_file() and (target / first).is_dir()
    monkeypatch.setattr(submission_files, "MAX_ENTRIES", 3)
    many = tmp_path / "many"
    many.mkdir()
    for index in range(6):
        (many / f"{index}.py").write_text("", encoding="utf-8")
    (tmp_path / "copy_many").mkdir()
    refused = copy_submission(many, tmp_path / "copy_many")
    assert list(map(str, refused)) == ["3.py (more than 3 files and folders in the submission: this one and the "
                                       "rest were not read)"]
    assert sorted(os.listdir(tmp_path / "copy_many")) == ["0.py", "1.py", "2.py"]


def test_an_entry_the_copy_cannot_write_is_refused_with_what_is_below_it(tmp_path, monkeypatch):
    source, target = tmp_path / "source", tmp_path / "copy"
    (source / "labs" / "inner").mkdir(parents=True)
    (source / "labs" / "inner" / "x.py").write_text("x = 1\n", encoding="utf-8")
    (source / "labs" / "y.py").write_text("y = 1\n", encoding="utf-8")
    (source / "z.py").write_text("z = 1\n", encoding="utf-8")
    target.mkdir()
    make = submission_files._Copy.directory
    write = submission_files._Copy.file

    def refuse_inner(self, relative):
        if relative == os.path.join("labs", "inner"):
            raise OSError(errno.ENAMETOOLONG, "File name too long")
        return make(self, relative)

    def refuse_z(self, relative):
        if relative == "z.py":
            raise OSError(errno.ENOSPC, "No space left on device")
        return write(self, relative)

    monkeypatch.setattr(submission_files._Copy, "directory", refuse_inner)
    monkeypatch.setattr(submission_files._Copy, "file", refuse_z)
    refused = copy_submission(source, target)
    assert sorted(map(str, refused)) == ["labs/inner (not copied: File name too long)",
                                       "z.py (not copied: No space left on device)"]
    assert sorted(os.listdir(target)) == ["labs"] and os.listdir(target / "labs") == ["y.py"]


def test_bytecode_is_left_out_of_a_copy_that_asks_for_it(tmp_path):
    source = tmp_path / "source"
    (source / "labs" / "__pycache__").mkdir(parents=True)
    (source / "labs" / "__pycache__" / "numpy_mlp.cpython-311.pyc").write_bytes(b"\0" * 16)
    (source / "labs" / "numpy_mlp.py").write_text("x = 1\n", encoding="utf-8")
    (source / "labs" / "helper.pyc").write_bytes(b"\0" * 16)
    for bytecode, expected in ((True, ["__pycache__", "helper.pyc", "numpy_mlp.py"]), (False, ["numpy_mlp.py"])):
        target = tmp_path / f"copy-{bytecode}"
        target.mkdir()
        assert copy_submission(source, target, bytecode=bytecode) == []   # left out, not refused
        assert sorted(os.listdir(target / "labs")) == expected


def test_a_sparse_file_counts_nothing_in_what_the_copy_takes(tmp_path):
    """The disk pre-check's figure: a file over the submission's limit is refused unread, so it costs
    nothing, and a submission never counts more than its limit."""
    folder = tmp_path / "ada"
    folder.mkdir()
    (folder / "a.py").write_bytes(b"a" * 100)
    with open(folder / "weights.bin", "wb") as handle:
        handle.truncate(100 << 30)   # 100 GB, no block on the disk
    assert sorted(submission_files.copied_sizes(folder)) == [100]
    (folder / "z.bin").write_bytes(b"z" * 900)
    assert submission_files.copied_sizes(folder, max_bytes=950) == [100]   # what is left is 850: z.bin is refused


def test_a_notebook_over_the_limit_is_the_students_named_reason(tmp_path):
    from grading.course.submissions import prepare_submission

    folder = tmp_path / "submissions" / "ada"
    folder.mkdir(parents=True)
    with open(folder / "backprop_mlp.ipynb", "wb") as handle:
        handle.truncate(MAX_SUBMISSION_BYTES + 1)
    collect_submissions(tmp_path / "course", BACKPROP, tmp_path / "submissions")
    problem, notes = prepare_submission(tmp_path / "course", BACKPROP, "ada")
    assert problem == (f"backprop_mlp.ipynb was not collected: {MAX_SUBMISSION_BYTES + 1} bytes, over the limit "
                       f"of {MAX_SUBMISSION_BYTES} bytes for a submission") and notes == []
