"""The student package labs/ is generated from labs_solutions/ and leaks no solution."""
import importlib
import pkgutil
import re

import numpy as np
import pytest

import labs
from backprop_labs.paths import SOLUTIONS_PACKAGE_DIR as SOLUTIONS_DIR, STUDENT_PACKAGE_DIR as STUDENT_DIR
from backprop_labs.stubgen import (FenceError, generate_student_package, solution_regions,
                                   strip_solutions)

SOLUTION_FILES = sorted(p for p in SOLUTIONS_DIR.rglob("*.py") if "__pycache__" not in p.parts)


def test_regenerating_labs_gives_byte_identical_files(tmp_path):
    generate_student_package(SOLUTIONS_DIR, tmp_path)
    generated = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*.py")}
    committed = {p.relative_to(STUDENT_DIR): p.read_bytes() for p in STUDENT_DIR.rglob("*.py")
                 if "__pycache__" not in p.parts}
    assert sorted(generated) == sorted(committed)
    for relative, content in generated.items():
        assert committed[relative] == content, f"labs/{relative} differs: run `backprop-labs generate`"


def student_modules():
    return sorted(name for _, name, _ in pkgutil.walk_packages(labs.__path__, "labs."))


@pytest.mark.parametrize("module_name", student_modules())
def test_every_student_module_imports(module_name):
    importlib.import_module(module_name)


def exercise_stubs():
    """(relative path, exercise name, comment only) of every solution region."""
    for path in SOLUTION_FILES:
        lines = path.read_text().splitlines()
        for first, last, name, _ in solution_regions(path.read_text(), str(path)):
            comment_only = all(line.strip().startswith("#") for line in lines[first + 1:last] if line.strip())
            yield path.relative_to(SOLUTIONS_DIR).as_posix(), name, comment_only


@pytest.mark.parametrize("relative, name, comment_only", list(exercise_stubs()))
def test_every_region_became_a_stub_naming_its_exercise(relative, name, comment_only):
    student_text = (STUDENT_DIR / relative).read_text()
    stub = f"# {name}" if comment_only else f"raise NotImplementedError({name!r})"
    assert stub in student_text
    assert re.match(r"Exercise [\w.]+: \w", name), f"{relative}: exercise name {name!r} should read 'Exercise N: what to do'"


def test_a_comment_only_region_becomes_a_comment_and_the_code_still_runs():
    source = ("def f(x):\n    ### BEGIN SOLUTION (Exercise 9.1: say what this computes)\n"
              "    # the square\n    ### END SOLUTION\n    return x * x\n")
    student = strip_solutions(source)
    assert student == "def f(x):\n    # Exercise 9.1: say what this computes\n    return x * x\n"
    namespace = {}
    exec(student, namespace)
    assert namespace["f"](3) == 9


@pytest.mark.parametrize("path", SOLUTION_FILES, ids=lambda path: path.relative_to(SOLUTIONS_DIR).as_posix())
def test_stubs_keep_the_scaffolding_outside_the_region(path):
    """A region of several lines leaves the final ``return`` (and what it returns) to the given
    code: the student replaces only the lines to write."""
    lines = path.read_text().splitlines()
    for first, last, name, indent in solution_regions(path.read_text(), str(path)):
        body = [line for line in lines[first + 1:last] if line.strip() and not line.strip().startswith("#")]
        if len(body) > 1:
            assert not body[-1].startswith(f"{indent}return"), (
                f"{path.name}:{last}: {name}: move the return out of the region, after ### END SOLUTION")


def meaningful(line):
    stripped = line.strip()
    return bool(re.search(r"[A-Za-z0-9]", stripped)) and not stripped.startswith("#")


def split_solution_lines():
    """(inside, outside): solution-region lines with their origin, and every line given outside regions."""
    inside, outside = [], set()
    for path in SOLUTION_FILES:
        lines = path.read_text().splitlines()
        regions = solution_regions("\n".join(lines), str(path))
        numbers = {n for first, last, _, _ in regions for n in range(first + 1, last)}
        for number, line in enumerate(lines):
            if number in numbers:
                inside.append((f"{path.name}:{number + 1}", line.strip()))
            else:
                outside.add(line.strip())
    return inside, outside


def test_no_solution_line_leaks_into_labs():
    student_lines = {
        line.strip() for path in STUDENT_DIR.rglob("*.py") for line in path.read_text().splitlines()
    }
    inside, given_code = split_solution_lines()
    # A line that the solutions also give outside every region (e.g. the NumPy forward pass
    # that the PyTorch forward mirrors) is handed to students anyway: not a leak.
    leaks = [f"{where}: {line}" for where, line in inside
             if meaningful(line) and line not in given_code and line in student_lines]
    assert not leaks, "solution lines found under labs/:\n" + "\n".join(leaks)


def test_leak_check_would_catch_a_copied_solution_line():
    inside, given_code = split_solution_lines()
    secret = next(line for _, line in inside if meaningful(line) and line not in given_code)
    student_lines = {secret}
    assert [line for _, line in inside if line in student_lines and line not in given_code]


def test_training_with_the_student_package_stops_at_the_exercise(digits):
    from backprop_labs.training import train

    model = labs.NumpyMLP([64, 8, 10], ["sigmoid", "softmax"], 0.1)
    with pytest.raises(NotImplementedError, match="Exercise 2.2: implement backpropagation"):
        train(model, digits, 1, 30, report=None)
    torch_model = labs.PytorchMLP([64, 8, 10], ["sigmoid", "softmax"], 0.1)
    with pytest.raises(NotImplementedError, match="Exercise 2.4"):
        torch_model.update(np.zeros((2, 64), np.float32), np.array([0, 1]))


def test_student_log_linear_is_complete(digits):
    """Exercises 2.1 and 2.3 are reading exercises: the student's log-linear models run."""
    batch = digits.batches("train", batch_size=50)[0]
    model = labs.NumpyLogLinear(64, 10, 0.5)
    loss_before = model.cross_entropy_loss(batch["input"], batch["output"])
    for _ in range(5):
        model.update(batch["input"], batch["output"])
    assert model.cross_entropy_loss(batch["input"], batch["output"]) < loss_before


@pytest.mark.parametrize("text, problem", [
    ("def f():\n    ### BEGIN SOLUTION (Exercise 1: x)\n    return 1\n", "never closed"),
    ("def f():\n    ### END SOLUTION\n", "without a BEGIN"),
    ("def f():\n    ### BEGIN SOLUTION (Exercise 1: x)\n    ### BEGIN SOLUTION (Exercise 1: y)\n", "inside another"),
    ("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n", "name the exercise"),
    ("### BEGIN SOLUTION (Exercise 1: x)\nx = 1\n### END SOLUTION\n", "inside a function"),
])
def test_malformed_fences_are_reported_with_their_line(text, problem):
    with pytest.raises(FenceError, match=problem):
        strip_solutions(text, "lesson.py")


def test_stub_keeps_indentation_and_the_code_around_it():
    text = "def f(x):\n    y = x\n    ### BEGIN SOLUTION (Exercise 9: double it)\n    y = 2 * x\n    ### END SOLUTION\n    return y\n"
    assert strip_solutions(text) == (
        "def f(x):\n    y = x\n    raise NotImplementedError('Exercise 9: double it')\n    return y\n"
    )


def test_check_mode_reports_stale_and_edited_files_without_writing(tmp_path):
    generate_student_package(SOLUTIONS_DIR, tmp_path)
    (tmp_path / "numpy_mlp.py").write_text("# edited by hand\n")
    (tmp_path / "stale.py").write_text("")
    changed = generate_student_package(SOLUTIONS_DIR, tmp_path, check=True)
    assert sorted(changed) == ["numpy_mlp.py", "stale.py"]
    assert (tmp_path / "numpy_mlp.py").read_text() == "# edited by hand\n"


def test_absolute_imports_of_the_solutions_are_refused(tmp_path):
    source = tmp_path / "solutions"
    source.mkdir()
    (source / "lesson.py").write_text("from labs_solutions.numpy_mlp import NumpyMLP\n")
    with pytest.raises(FenceError, match="relatively"):
        generate_student_package(source, tmp_path / "student")
