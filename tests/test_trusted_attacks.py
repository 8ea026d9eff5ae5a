"""Hostile submissions (tests/attacks/) graded in one batch beside an honest one and a stub.

For every attack: the trusted score does not rise above the stub's, a feedback line names
what happened, and nothing outside the sandbox changed. The honest submission in the same
batch gets every case right.
"""
import hashlib
import os
import shutil
import sqlite3
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from backprop_labs.paths import SOLUTIONS_PACKAGE_DIR as SOLUTIONS_DIR, STUDENT_PACKAGE_DIR as STUDENT_DIR
from grading.trusted.sandbox import GIB, Limits
from grading.trusted.cases import mlp_cases
from grading.trusted.check_spec import trusted_checks
from grading.trusted.grade import run_check

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox's isolation needs root (CI runs as root)")

ATTACKS_DIR = Path(__file__).with_name("attacks")
ATTACKS = sorted(path.stem for path in ATTACKS_DIR.glob("*.py") if not path.stem.startswith("notebook_"))
NOTEBOOK_ATTACKS = sorted(path.stem for path in ATTACKS_DIR.glob("notebook_*.py"))
CHECKS = trusted_checks()
CHECK = CHECKS["numpy_mlp_backpropagation"]
# Files named worked_graph_*.py attack exercise W.1 instead: appended to labs/worked_graph.py, graded by its check.
WORKED_GRAPH_CHECK = CHECKS["worked_graph_by_hand"]
WORKED_GRAPH_PREFIX = "worked_graph_"
# The honest submission needs well under 1 s of CPU; the wall clock limit is generous so that a
# loaded machine cannot time it out (the infinite loop is stopped by the CPU limit, which load does not shorten).
LIMITS = Limits(wall_seconds=60, cpu_seconds=3, memory_bytes=int(1.5 * GIB), processes=32, disk_bytes=64 << 20)

# What the feedback must say for each attack (one of the alternatives).
EXPECTED_FEEDBACK = {
    "always_equal": ["gradient is a AlwaysEqual; expected a NumPy array"],
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
    "complex_step": ["of CPU time (limit)", "the gradients must come from backpropagation, one forward and one "
                     "backward pass: differences taken one parameter at a time (finite or complex-step)"],
    "worked_graph_torch_autograd": ["No module named 'torch': PyTorch is not available in this exercise"],
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
    "bytecode_solution": ["NotImplementedError: Exercise 2.2"],   # the visible stub runs, not the planted bytecode
}
EVERY_PART_EXPECTED = {"sys_exit", "complex_step"}   # their feedback holds every part listed, not one of them


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


def _target(attack):
    """``(module the attack's code is appended to, the check that grades it)``."""
    if attack.startswith(WORKED_GRAPH_PREFIX):
        return "worked_graph.py", WORKED_GRAPH_CHECK
    return "numpy_mlp.py", CHECK


def _submission(root, name, appended="", from_dir=STUDENT_DIR, module="numpy_mlp.py"):
    """The stub (or ``from_dir``) with ``appended`` added to labs/``module``; ``# LINK name -> target``
    lines make ``name`` a symbolic link instead; ``# BYTECODE name <- source`` lines put ``source``, compiled
    as an unchecked pyc, in ``name``'s ``__pycache__`` entry."""
    folder = root / "submissions" / name
    shutil.copytree(from_dir, folder / "labs", ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "labs" / "__init__.py").write_text('"""As released: the package imports none of its modules."""\n')
    if appended:
        with open(folder / "labs" / module, "a") as handle:
            handle.write("\n\n" + appended)
    for line in appended.splitlines():
        if line.startswith("# LINK "):
            name, target = line[len("# LINK "):].split(" -> ")
            (folder / name).unlink()
            os.symlink(target, folder / name)
        if line.startswith("# BYTECODE "):
            import py_compile
            import sys

            name, source = line[len("# BYTECODE "):].split(" <- ")
            module = folder / name
            cached = module.parent / "__pycache__" / f"{module.stem}.{sys.implementation.cache_tag}.pyc"
            py_compile.compile(source, cached, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    return folder


def _lingering_processes(name="bpl-lingering"):
    """Live processes named ``name`` (the stubborn_processes attack names its own so; other graders may
    be running sandboxed code on this machine at the same time, under the same sandbox users)."""
    live = []
    for proc_dir in Path("/proc").iterdir():
        try:
            if proc_dir.name.isdigit() and (proc_dir / "comm").read_text().strip() == name:
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
    results, folders = {}, {}
    for name in ["honest", "stub", *ATTACKS]:
        code = (ATTACKS_DIR / f"{name}.py").read_text() if name in ATTACKS else ""
        for token, value in replacements.items():
            code = code.replace(token, value)
        module, check = _target(name)
        if name == "honest":
            folder = _submission(root, name, from_dir=SOLUTIONS_DIR)
        else:
            folder = _submission(root, name, "" if name.startswith("cell_") else code, module=module)
        cells = [{"name": name, "source": code}] if name.startswith("cell_") else []
        results[name], folders[name] = run_check(check, folder, hidden=[course], cells=cells, limits=LIMITS), folder
    # The worked graph's controls, on the same honest and stub folders.
    for name in ["honest", "stub"]:
        results[WORKED_GRAPH_PREFIX + name] = run_check(WORKED_GRAPH_CHECK, folders[name], hidden=[course], limits=LIMITS)
    # The attacks are real: what defeats them is the check as it is (its wide cases, torch hidden), so each
    # scores full marks without that (on the small cases alone; with torch allowed).
    results["complex_step on the small cases"] = run_check(
        replace(CHECK, cases=mlp_cases("backprop", 2202)), folders["complex_step"], hidden=[course], limits=LIMITS)
    results["worked_graph_torch_autograd with torch allowed"] = run_check(
        replace(WORKED_GRAPH_CHECK, torch_allowed=True), folders["worked_graph_torch_autograd"], hidden=[course],
        limits=LIMITS)
    connected = loopback_listener.was_reached()
    changed = [str(path) for path in protected if _digest(path) != before[path]]
    return {"results": results, "changed": changed, "connected": connected,
            "processes_left": _lingering_processes(), "shared_memory_left": _shared_memory_with_key(0xBAC7)}


@pytest.mark.parametrize("honest, check", [("honest", CHECK), (WORKED_GRAPH_PREFIX + "honest", WORKED_GRAPH_CHECK)])
def test_honest_submission_in_the_same_batch_gets_every_case(batch, honest, check):
    honest = batch["results"][honest]
    assert (honest.passed, honest.total) == (len(check.cases), len(check.cases)), honest.feedback()
    assert honest.lines == []


def test_the_numpy_check_has_cases_too_wide_for_per_parameter_differences():
    """Every NumPy backpropagation test cell scores a case of over 50,000 parameters (each cell is all or
    nothing), and the small cases alone are what the complex-step attack passes (see the next test)."""
    from grading.course.assignments import get_assignment

    def parameter_count(case):
        return sum(array.size for pair in case.parameters() for array in pair)

    scopes = get_assignment("backprop_mlp").trusted_cells[CHECK.name]
    widest = {cell: max(parameter_count(case) for case in CHECK.cases if scope.selects(case))
              for cell, scope in scopes.items()}
    assert min(widest.values()) > 50_000, widest
    assert max(map(parameter_count, mlp_cases("backprop", 2202))) < 100
    # What the feedback adds when such a check hits a time limit: the count of its widest case; nothing elsewhere.
    assert f"a case of this check has {max(widest.values()):,} parameters" in CHECK.limit_hint()
    assert WORKED_GRAPH_CHECK.limit_hint() == ""


def test_the_gradient_attacks_pass_where_the_check_is_weakened(batch):
    """The complex-step attack gets every small case right, and W.1 by autograd every case where torch is
    allowed: the wide cases and the hidden torch are what stop them."""
    small = batch["results"]["complex_step on the small cases"]
    assert (small.passed, small.total) == (4, 4), small.feedback()
    by_torch = batch["results"]["worked_graph_torch_autograd with torch allowed"]
    assert (by_torch.passed, by_torch.total) == (2, 2), by_torch.feedback()


def test_stub_scores_zero_with_a_clear_line(batch):
    stub = batch["results"]["stub"]
    assert stub.passed == 0
    assert "NotImplementedError: Exercise 2.2" in stub.feedback()
    stub = batch["results"][WORKED_GRAPH_PREFIX + "stub"]
    assert stub.passed == 0 and "NotImplementedError: Exercise W.1" in stub.feedback()


@pytest.mark.parametrize("attack", ATTACKS)
def test_attack_does_not_raise_the_score_and_is_explained(batch, attack):
    result = batch["results"][attack]
    stub = WORKED_GRAPH_PREFIX + "stub" if attack.startswith(WORKED_GRAPH_PREFIX) else "stub"
    assert result.passed <= batch["results"][stub].passed, result.feedback()
    feedback = result.feedback()
    expected = EXPECTED_FEEDBACK[attack]
    if attack in EVERY_PART_EXPECTED:
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
    assert [(results[name].passed, results[name].total) for name in names] == [(4, 4), (len(CHECK.cases),) * 2]
    assert CHECKS["numpy_mlp_backpropagation"].torch_allowed is False


def test_the_instructor_can_allow_torch_for_a_numpy_exercise(tmp_path):
    """``--allow-torch numpy_mlp_backpropagation`` (:func:`with_torch_allowed`, what grade_student applies):
    the backpropagation done by torch.autograd then scores full marks; without it, 0 with the reason."""
    from grading.trusted.check_spec import with_torch_allowed

    course = _make_course(tmp_path)
    folder = _submission(tmp_path, "torch_autograd", (ATTACKS_DIR / "torch_autograd.py").read_text())
    allowed = with_torch_allowed({CHECK.name: CHECK}, ["numpy_mlp_backpropagation"])[CHECK.name]
    by_torch = run_check(allowed, folder, hidden=[course], limits=LIMITS)
    assert (by_torch.passed, by_torch.total) == (len(CHECK.cases),) * 2, by_torch.feedback()
    blocked = run_check(CHECK, folder, hidden=[course], limits=LIMITS)
    assert blocked.passed == 0 and "PyTorch is not available in this exercise" in blocked.feedback()
    with pytest.raises(ValueError, match="--allow-torch numpy_mlp: no trusted check of that name"):
        with_torch_allowed({}, ["numpy_mlp"])


# Notebook attacks (tests/attacks/notebook_*.py) go through the whole grading command: collection,
# the notebook checks, nbgrader in the sandboxed kernel, the trusted checks and the feedback pages.
# Their base is the honest work with answer cell 2.1 left as released, so the score they must end
# with is the trusted one of that work, neither full marks nor 0.
NOTEBOOK_CELLS = ["test_2_1_input_gradient", "test_2_2_tangent", "test_2_2_output_layer", "test_2_2_all_layers",
                  "test_2_2_hidden", "test_2_4_log_forward", "test_2_4_hidden"]
FULL_MARKS = [1, 1, 1, 2, 2, 2, 1]
ANSWER_2_1_AS_RELEASED = [0, 1, 1, 2, 2, 2, 1]
NUMPY_MLP_EXITED = [0, 0, 0, 0, 0, 2, 1]      # the checks of labs/numpy_mlp.py lost their process
NOTEBOOK_SCORES = {"notebook_exit_in_trusted_run": NUMPY_MLP_EXITED}
# Not graded at all, with this reason in the summary and the grade files (the README: a notebook that
# cannot be read scores 0).
NOT_GRADED = {"notebook_malformed_json": "backprop_mlp.ipynb is not a notebook: not JSON text"}
NOTEBOOK_FEEDBACK = {
    "notebook_grade_false": "cell test_2_1_input_gradient had its grading metadata changed (grade: false)",
    "notebook_huge_output": "removed a saved output of 128 MiB from cell",
    "notebook_malformed_json": None,      # not graded: no feedback page, see NOT_GRADED
    "notebook_ignores_interrupt": None,   # graded as usual: the feedback has nothing to add
    "notebook_exit_in_trusted_run": "ended (exit status 0) before reporting a result",
    "notebook_sparse_file": "weights.bin (107374182400 bytes, over the limit of 268435456 bytes for a submission)",
    "notebook_long_path": "(a path longer than 1024 bytes, not entered)",
    "notebook_ipython_profile": "no startup file of the submission ran",
    "notebook_reads_hidden_tests": "LEAK-B64:",
}
# The line is in the student's feedback page; these attacks' lines are also in the instructor's summary.
SUMMARIZED = {"notebook_grade_false", "notebook_huge_output", "notebook_exit_in_trusted_run", "notebook_sparse_file",
              "notebook_long_path"}


def _load_attack(name):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, ATTACKS_DIR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def notebook_batch(tmp_path_factory):
    """The honest control and every notebook attack, graded in one run of the grading command."""
    import json

    from grading.commands.grading_run import grade_assignment
    from grading.course.assignments import get_assignment
    from grading.course.pipeline import cell_scores
    from grading.course.submissions import cell_grade_id
    from trusted_class import _build_course_folder, make_submission

    root = tmp_path_factory.mktemp("notebook_attacks")
    assignment = get_assignment("backprop_mlp")
    # 30 s per cell: 10x the longest honest cell on a loaded machine; the attack that ignores SIGINT
    # and loops forever costs these 30 s once instead of the course default
    release = _build_course_folder(root / "course", assignment, timeout=30)
    released = json.loads((release / "backprop_mlp.ipynb").read_text(encoding="utf-8"))
    released_2_1 = next(cell for cell in released["cells"] if cell_grade_id(cell) == "ex2_1_answer")["source"]
    for name in ["honest", *NOTEBOOK_ATTACKS]:
        folder = root / "submissions" / name
        make_submission(release, folder, "honest", assignment)
        if name == "honest":
            continue
        path = folder / "backprop_mlp.ipynb"
        notebook = json.loads(path.read_text(encoding="utf-8"))
        next(cell for cell in notebook["cells"] if cell_grade_id(cell) == "ex2_1_answer")["source"] = released_2_1
        text = _load_attack(name).change(notebook, folder)   # a text is saved as it is (malformed JSON)
        path.write_text(text if isinstance(text, str) else json.dumps(notebook), encoding="utf-8")
    # What the grading command writes to stderr, its workers' and sandboxes' included (they share fd 2).
    stderr = root / "stderr.txt"
    saved = os.dup(2)
    try:
        with open(stderr, "wb") as capture:
            os.dup2(capture.fileno(), 2)
            run = grade_assignment(root / "course", assignment, submissions=root / "submissions", workers=2,
                                   progress=False)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    scores = {student: [cells[cell][0] for cell in NOTEBOOK_CELLS]
              for student, cells in cell_scores(root / "course", assignment).items()}
    return {"run": run, "scores": scores, "course": root / "course", "assignment": assignment,
            "stderr": stderr.read_text(encoding="utf-8", errors="replace"),
            "processes_left": _lingering_processes(_load_attack("notebook_ignores_interrupt").LOOP_NAME)}


def test_every_notebook_attack_has_an_expected_feedback_line():
    assert sorted(NOTEBOOK_FEEDBACK) == NOTEBOOK_ATTACKS


@pytest.mark.slow
def test_the_honest_control_of_the_notebook_batch_gets_full_marks(notebook_batch):
    assert notebook_batch["scores"]["honest"] == FULL_MARKS
    assert "honest" not in notebook_batch["run"].problems and "honest" not in notebook_batch["run"].notes


@pytest.mark.slow
@pytest.mark.parametrize("attack", NOTEBOOK_ATTACKS)
def test_a_notebook_attack_ends_with_the_trusted_score_and_its_reason(notebook_batch, attack):
    from grading.course.pipeline import feedback_page

    run = notebook_batch["run"]
    if attack in NOT_GRADED:
        assert run.problems[attack].startswith(NOT_GRADED[attack]) and attack not in notebook_batch["scores"]
        return
    assert attack in run.graded and attack not in run.problems, run.problems.get(attack)
    assert notebook_batch["scores"][attack] == NOTEBOOK_SCORES.get(attack, ANSWER_2_1_AS_RELEASED)
    expected = NOTEBOOK_FEEDBACK[attack]
    summary = "; ".join(run.notes.get(attack, []))
    if attack in SUMMARIZED:
        assert expected in summary, summary                                 # the instructor's summary line
    page = feedback_page(notebook_batch["course"], notebook_batch["assignment"], attack).read_text(encoding="utf-8")
    assert expected is None or expected in page                             # the student's feedback
    assert page.count("x" * 1000) == 0                                      # the huge output is not carried along


@pytest.mark.slow
def test_the_notebook_batch_leaves_no_process_and_no_traceback(notebook_batch):
    """The kernel that ignored SIGINT is gone once the run ended, and nothing the run or its sandboxes
    printed reached the instructor's terminal as a Python traceback."""
    assert notebook_batch["processes_left"] == []
    stderr = notebook_batch["stderr"]
    assert "Traceback (most recent call last)" not in stderr and "BrokenPipeError" not in stderr, stderr[-4000:]


def _decoded_forms(page):
    """What the notebook_reads_hidden_tests attack printed on the feedback page, decoded: each base64 blob,
    each run of HTML entities (the page escapes the printed ``&#..;`` once more) and each text with zero-width
    spaces between its characters."""
    import base64
    import html
    import re

    shown = html.unescape(page)
    return {"base64": [base64.b64decode(blob).decode("utf-8", "replace")
                       for blob in re.findall(r"LEAK-B64:([A-Za-z0-9+/=]+)", shown)],
            "html entities": [html.unescape(blob) for blob in re.findall(r"LEAK-HTML:((?:&#\d+;)+)", shown)],
            "zero-width": [blob.replace("\u200b", "") for blob in
                           re.findall(r"LEAK-ZW:((?:[^\u200b]\u200b)+[^\u200b])", shown, re.DOTALL)]}


@pytest.mark.slow
def test_no_hidden_test_line_reaches_the_notebook_feedback_in_any_encoding(notebook_batch):
    """The kernel never received the hidden tests: what the attack read from In, _ih and the history and
    printed encoded holds the hidden cell's title (so the channel worked) and none of its tests' lines."""
    from grading.course.pipeline import feedback_page

    import nbformat

    from grading.course.submissions import cell_grade_id

    page = feedback_page(notebook_batch["course"], notebook_batch["assignment"],
                         "notebook_reads_hidden_tests").read_text(encoding="utf-8")
    source = next(cell.source for cell in nbformat.read(notebook_batch["assignment"].notebook, as_version=4).cells
                  if cell_grade_id(cell) == "test_2_2_hidden")
    tests = source.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0]
    hidden_lines = [line.strip() for line in tests.splitlines() if len(line.strip()) > 20]
    assert len(hidden_lines) >= 4
    for form, texts in _decoded_forms(page).items():
        assert texts and all("Test 2.2d (2 points): hidden checks of NumpyMLP" in text for text in texts), form
        assert [line for line in hidden_lines if any(line in text for text in texts)] == [], form
