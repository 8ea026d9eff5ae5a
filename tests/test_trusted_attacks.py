"""Hostile submissions (tests/attacks/) graded in one batch beside an honest one and a stub.

For every attack: the trusted score does not rise above the stub's, a feedback line names
what happened, and nothing outside the sandbox changed. The honest submission in the same
batch gets every case right.
"""
import hashlib
import os
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from backprop_labs.paths import SOLUTIONS_PACKAGE_DIR as SOLUTIONS_DIR, STUDENT_PACKAGE_DIR as STUDENT_DIR
from grading.trusted.sandbox import GIB, Limits
from grading.trusted.check_spec import trusted_checks
from grading.trusted.grade import run_check

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox's isolation needs root (CI runs as root)")

ATTACKS_DIR = Path(__file__).with_name("attacks")
ATTACKS = sorted(path.stem for path in ATTACKS_DIR.glob("*.py"))
CHECKS = trusted_checks()
CHECK = CHECKS["numpy_mlp_backpropagation"]
# The honest submission needs well under 1 s of CPU; the wall clock limit is generous so that a
# loaded machine cannot time it out (the infinite loop is stopped by the CPU limit, which load does not shorten).
LIMITS = Limits(wall_seconds=60, cpu_seconds=3, memory_bytes=int(1.5 * GIB), processes=32, disk_bytes=64 << 20)

# What the feedback must say for each attack (one of the alternatives).
EXPECTED_FEEDBACK = {
    "always_equal": ["is a AlwaysEqual, expected a NumPy array"],
    "cell_exception_handler": ["answer cell cell_exception_handler raised NameError"],
    "cell_input_transformer": ["answer cell cell_input_transformer raised NameError"],
    "fake_result": ["does not carry this run's token"],
    "fork_bomb": ["process limit 32"],
    "infinite_loop": ["CPU time", "time limit"],
    "memory_bomb": ["memory limit 1.5 GiB"],
    "monkeypatch_grader": ["differs from the reference"],
    "monkeypatch_numpy": ["differs from the reference"],
    "monkeypatch_torch": ["differs from the reference", "PyTorch is not available in this exercise"],
    "network": ["Network is unreachable"],
    "os_exit": ["ended (exit status 0) before reporting a result"],
    "read_source": ["RuntimeError: could read: []"],
    "sys_exit": ["SystemExit: 0", "do not call sys.exit()"],
    "write_gradebook": ["PermissionError", "FileNotFoundError"],
    "write_packages": ["Read-only file system", "PermissionError"],
    "unshare_namespace": ["unshare(CLONE_NEWUSER) refused: Operation not permitted"],
    "stubborn_processes": ["ended (exit status 0) before reporting a result"],
    "shared_memory": ["segment left behind (found one already: False)"],
    "disk_fill": ["No space left on device"],
    "host_processes": ["processes visible: 2"],
    "deep_status": ["the status file is nested too deeply"],
    "link_to_solution": ["labs/numpy_mlp.py (symbolic link)"],
    "link_to_device": ["labs/numpy_mlp.py (symbolic link)"],
    "link_to_other_student": ["labs/numpy_mlp.py (symbolic link)"],
    "torch_autograd": ["PyTorch is not available in this exercise"],
    "planted_link_result": ["refused: status.json is not a plain file"],
    "torch_unblocked": ["module 'torch' has no attribute 'tensor'"],   # the package folder is empty in the sandbox
}


def _digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _make_course(root):
    """A course folder as nbgrader lays it out, root-only like a real one."""
    course = root / "course"
    (course / "source" / "lab").mkdir(parents=True)
    (course / "source" / "lab" / "lab.ipynb").write_text('{"solution": "secret"}')
    (course / "submitted" / "other" / "lab" / "labs").mkdir(parents=True)
    (course / "submitted" / "other" / "lab" / "labs" / "numpy_mlp.py").write_text("# other student\n")
    with sqlite3.connect(course / "gradebook.db") as connection:
        connection.execute("create table grade (score real)")
    os.chmod(course, 0o700)
    return course


def _submission(root, name, appended="", from_dir=STUDENT_DIR):
    """The stub (or ``from_dir``) with ``appended`` added to labs/numpy_mlp.py; ``# LINK name -> target``
    lines make ``name`` a symbolic link instead."""
    folder = root / "submissions" / name
    shutil.copytree(from_dir, folder / "labs", ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "labs" / "__init__.py").write_text('"""As released: the package imports none of its modules."""\n')
    if appended:
        with open(folder / "labs" / "numpy_mlp.py", "a") as handle:
            handle.write("\n\n" + appended)
    for line in appended.splitlines():
        if line.startswith("# LINK "):
            name, target = line[len("# LINK "):].split(" -> ")
            (folder / name).unlink()
            os.symlink(target, folder / name)
    return folder


def _lingering_processes():
    """Live processes the stubborn_processes attack started (it names them; other graders may be
    running sandboxed code on this machine at the same time, under the same sandbox users)."""
    live = []
    for proc_dir in Path("/proc").iterdir():
        try:
            if proc_dir.name.isdigit() and (proc_dir / "comm").read_text().strip() == "bpl-lingering":
                if "zombie" not in (proc_dir / "status").read_text():
                    live.append(proc_dir.name)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return live


def _shared_memory_with_key(key):
    """Host SysV shared memory segments with ``key`` (the shared_memory attack's)."""
    with open("/proc/sysvipc/shm") as table:
        header, *rows = [line.split() for line in table]
    return [row for row in rows if int(row[header.index("key")]) == key]


@pytest.fixture(scope="module")
def batch(tmp_path_factory, loopback_listener):
    """Grade every attack, the stub and the honest solution; record what must not change."""
    root = tmp_path_factory.mktemp("attacks")
    course = _make_course(root)
    numpy_init = Path(np.__file__)
    protected = [course / "gradebook.db", course / "source" / "lab" / "lab.ipynb",
                 course / "submitted" / "other" / "lab" / "labs" / "numpy_mlp.py", numpy_init]
    before = {path: _digest(path) for path in protected}
    replacements = {"__COURSE__": str(course), "__GRADEBOOK__": str(course / "gradebook.db"),
                    "__NUMPY_INIT__": str(numpy_init), "__PORT__": str(loopback_listener.port),
                    "__SOLUTION_NUMPY_MLP__": str(SOLUTIONS_DIR / "numpy_mlp.py"),
                    "__OTHER_STUDENT_MODULE__": str(protected[2])}
    results = {}
    for name in ["honest", "stub", *ATTACKS]:
        code = (ATTACKS_DIR / f"{name}.py").read_text() if name in ATTACKS else ""
        for token, value in replacements.items():
            code = code.replace(token, value)
        if name == "honest":
            folder = _submission(root, name, from_dir=SOLUTIONS_DIR)
        else:
            folder = _submission(root, name, "" if name.startswith("cell_") else code)
        cells = [{"name": name, "source": code}] if name.startswith("cell_") else []
        results[name] = run_check(CHECK, folder, hidden=[course], cells=cells, limits=LIMITS)
    connected = loopback_listener.was_reached()
    changed = [str(path) for path in protected if _digest(path) != before[path]]
    return {"results": results, "changed": changed, "connected": connected,
            "processes_left": _lingering_processes(), "shared_memory_left": _shared_memory_with_key(0xBAC7)}


def test_honest_submission_in_the_same_batch_gets_every_case(batch):
    honest = batch["results"]["honest"]
    assert (honest.passed, honest.total) == (4, 4), honest.feedback()
    assert honest.lines == []


def test_stub_scores_zero_with_a_clear_line(batch):
    stub = batch["results"]["stub"]
    assert stub.passed == 0
    assert "NotImplementedError: Exercise 2.2" in stub.feedback()


@pytest.mark.parametrize("attack", ATTACKS)
def test_attack_does_not_raise_the_score_and_is_explained(batch, attack):
    result = batch["results"][attack]
    assert result.passed <= batch["results"]["stub"].passed, result.feedback()
    feedback = result.feedback()
    expected = EXPECTED_FEEDBACK[attack]
    if attack == "sys_exit":  # both parts must be there
        assert all(part in feedback for part in expected), feedback
    else:
        assert any(part in feedback for part in expected), feedback


def test_every_attack_has_an_expected_feedback_line():
    assert sorted(EXPECTED_FEEDBACK) == ATTACKS


def test_no_attack_changed_the_course_the_packages_or_reached_the_network(batch):
    assert batch["changed"] == []
    assert not batch["connected"]


def test_no_attack_left_a_process_or_shared_memory_behind(batch):
    assert batch["processes_left"] == []
    assert batch["shared_memory_left"] == []


INPUT_GRADIENT_CELL = ("def log_linear_input_gradient(probabilities, output, weight):\n"
                       "    onehot = np.eye(probabilities.shape[1])[output]\n"
                       "    return (probabilities - onehot) @ weight / len(output)\n")


def test_one_process_per_submission_keeps_finished_checks_and_names_where_it_stopped(tmp_path):
    """All checks of a submission share one sandboxed process: a check that ended the
    process zeroes itself and the checks after it, with a line saying so; the checks that
    finished before keep their scores."""
    from grading.trusted.grade import run_checks

    course = _make_course(tmp_path)
    folder = _submission(tmp_path, "exits_in_2_2", (ATTACKS_DIR / "os_exit.py").read_text(), from_dir=SOLUTIONS_DIR)
    from dataclasses import replace

    names = ["pytorch_mlp_log_forward", "numpy_mlp_backpropagation", "log_linear_input_gradient"]
    # All three in one process: the NumPy check allows torch here (else it runs in a process of its own).
    checks = {name: replace(CHECKS[name], torch_allowed=True) for name in names}
    results = run_checks(checks, folder, hidden=[course],
                         cells_by_check={"log_linear_input_gradient": [{"name": "ex2_1_answer",
                                                                      "source": INPUT_GRADIENT_CELL}]},
                         limits=LIMITS)
    finished, stopped, not_run = (results[name] for name in names)
    assert (finished.passed, finished.total, finished.lines) == (4, 4, [])
    assert stopped.passed == 0 and "ended (exit status 0) before reporting a result" in stopped.feedback()
    assert "while checking" not in stopped.feedback()
    assert not_run.passed == 0 and not_run.kind == "exited"
    assert "while checking Exercise 2.2: NumpyMLP.backpropagation" in not_run.feedback()


def test_a_numpy_exercise_runs_where_torch_cannot_be_imported_and_other_checks_keep_it(tmp_path):
    """The NumPy check runs in a process of its own with the torch packages hidden; the PyTorch
    check of the same submission still gets torch."""
    from grading.trusted.grade import run_checks

    course = _make_course(tmp_path)
    folder = _submission(tmp_path, "honest", from_dir=SOLUTIONS_DIR)
    names = ["pytorch_mlp_log_forward", "numpy_mlp_backpropagation"]
    results = run_checks({name: CHECKS[name] for name in names}, folder, hidden=[course], limits=LIMITS)
    assert [(results[name].passed, results[name].total) for name in names] == [(4, 4), (4, 4)]
    assert CHECKS["numpy_mlp_backpropagation"].torch_allowed is False
