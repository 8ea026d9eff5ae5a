"""The whole course, every assignment, built as the README says; the leak scan it runs."""
import pytest

from grading.cli import main
from grading.course.assignments import all_assignments
from grading.course.leaks import find_leaks, secret_lines

pytestmark = pytest.mark.slow


def test_the_whole_course_builds_and_releases_every_assignment(tmp_path, capsys):
    course = tmp_path / "course"
    assert main(["course", "build", str(course)]) == 0, capsys.readouterr().out
    names = [assignment.name for assignment in all_assignments()]
    assert len(names) == 8 and "conv1d" in names   # conv1d: declared by its exercise module alone
    for assignment in all_assignments():
        release = course / "release" / assignment.name
        assert (release / assignment.notebook.name).is_file(), assignment.name
        assert find_leaks(release, secret_lines(assignment)) == [], assignment.name
        for shipped in assignment.shipped_files():
            assert (release / "labs" / shipped).is_file(), (assignment.name, shipped)
    released = (course / "release" / "conv1d" / "conv1d.ipynb").read_text(encoding="utf-8")
    assert "test_c_1_hidden" in released and "BEGIN HIDDEN TESTS" not in released
    out = capsys.readouterr().out
    assert [line.split(":")[0] for line in out.splitlines()] == names


def test_a_leak_is_a_whole_secret_line_not_a_substring_of_a_given_line(tmp_path):
    secret = "return g * y"
    given = tmp_path / "given.py"
    given.write_text("def grad(g, x, y):\n    return g * y * np.power(x, y - 1)\n", encoding="utf-8")
    assert find_leaks(tmp_path, [secret]) == []
    leaked = tmp_path / "leaked.py"
    leaked.write_text("def grad(g, y):\n    return  g * y\n", encoding="utf-8")  # spacing does not hide it
    assert find_leaks(tmp_path, [secret]) == [(leaked, secret)]
    leaked.unlink()
    traceback = tmp_path / "traceback.txt"
    traceback.write_text("----> 3     return g * y\n", encoding="utf-8")  # quoted by a traceback
    assert find_leaks(tmp_path, [secret]) == [(traceback, secret)]


def test_the_autodiff_solution_lines_that_start_given_lines_are_still_secrets():
    # The false alarms of the old substring scan: these are solution lines, and the release
    # holds longer given lines that start with them.
    autodiff = next(a for a in all_assignments() if a.name == "autodiff")
    assert {"return g * ans", "return g * y"} <= set(secret_lines(autodiff))
