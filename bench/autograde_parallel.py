"""Benchmark: plain serial ``nbgrader autograde`` against ``backprop-labs grade`` on 1 and 2 workers.

A class of 20 made-up submissions (honest, stub and cheating ones) is built once; each
repetition grades a fresh copy of the course three ways, in an order that alternates from one
repetition to the next (reversed every other time):

* ``nbgrader serial``: ``nbgrader autograde ASSIGNMENT`` (one process, one student after the
  other, in-kernel scores only: no sandbox, no trusted checks), its kernels on the course's thread
  policy, as the sandboxed kernels run;
* ``trusted N=1`` and ``trusted N=2``: this project's trusted grading of 1 and 2 students
  at a time (nbgrader per student in a private gradebook, its kernel in the sandbox, then
  every trusted check of the student in one sandboxed process), each run in a fresh interpreter
  as the command starts: it pays its own imports and warm interpreters (with 2, the coordinator
  grades beside one spawned worker).

Three ratios, each the median of per-repetition ratios: ``nbgrader serial / trusted N=2`` (all
gains together), ``trusted N=1 / trusted N=2`` (parallelism alone) and ``nbgrader serial /
trusted N=1`` (what one worker gains or loses against plain nbgrader: warm kernels, the sandbox,
the trusted checks).

Every run is checked before its time counts: each honest submission must score full marks in
the gradebook (a submission graded as the repository's stubs, because ``PYTHONPATH`` put them
before the submission's own ``labs/``, or one whose sandbox could not import the package, scores
0 without failing). ``PYTHONPATH`` entries that hold a ``labs`` package are left out of the
children's environment. Needs root (the sandbox) and the books corpus.

    python bench/autograde_parallel.py [--students 20] [--repetitions 2]
"""
import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from backprop_labs.paths import REPOSITORY_ROOT

ASSIGNMENT = "backprop_mlp"
KINDS = ("honest", "stub", "cheat", "honest")
METHODS = ("nbgrader serial", "trusted N=1", "trusted N=2")


def _fresh_copy(course, scratch, label, repetition):
    target = Path(scratch) / f"{label}-{repetition}" / "course"
    shutil.copytree(course, target, symlinks=True)
    return target


def _nbgrader_serial(course):
    from grading.course.pipeline import run_nbgrader

    result = run_nbgrader(course, "autograde", ASSIGNMENT, "--force", "--create")
    if result.returncode != 0:
        raise RuntimeError("nbgrader autograde failed:\n" + (result.stdout + result.stderr)[-3000:])


# The trusted run in a fresh interpreter, as `backprop-labs grade` starts: each side pays its own imports
# and starts its own warm interpreters, so neither inherits the other's (or the benchmark's) warm state.
TRUSTED_RUN = """
import sys
from backprop_labs.process_exit import freeze_at_exit
from grading.trusted.parallel import grade_class
freeze_at_exit()   # as the command's main does
run = grade_class(sys.argv[1], sys.argv[2], workers=int(sys.argv[3]), progress=False)
if run.problems:
    sys.exit(f"trusted grading failed for {sorted(run.problems)}: {run.problems}")
"""


def _trusted(workers):
    def grade(course):
        result = subprocess.run([sys.executable, "-c", TRUSTED_RUN, str(course), ASSIGNMENT, str(workers)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"trusted grading on {workers} worker(s) failed:\n{result.stderr[-3000:]}")
    return grade


def honest_shortfalls(scores):
    """``{student: (score, max score)}`` of the honest submissions (ids ending in ``_honest``) that
    did not get full marks, or got no graded cell at all; ``scores`` as ``cell_scores`` gives them."""
    short = {}
    for student, cells in scores.items():
        if not student.endswith("_honest"):
            continue
        score = sum(score or 0.0 for score, _ in cells.values())
        most = sum(most or 0.0 for _, most in cells.values())
        if most <= 0 or score < most:
            short[student] = (score, most)
    return short


def require_full_marks_for_honest(course, label, expected):
    """Raise unless all ``expected`` honest submissions scored full marks: a benchmark of a run that
    graded them wrong times the wrong thing."""
    from grading.course.assignments import get_assignment
    from grading.course.pipeline import cell_scores

    scores = cell_scores(course, get_assignment(ASSIGNMENT))
    short = honest_shortfalls(scores)
    missing = sorted(set(expected) - set(scores))
    if short or missing:
        details = [f"{student}: {score:g} of {most:g}" for student, (score, most) in sorted(short.items())]
        details += [f"{student}: not in the gradebook" for student in missing]
        raise RuntimeError(f"{label}: honest control submissions below full marks ({'; '.join(details)}); "
                           f"the run graded something else (stubs first on PYTHONPATH? a sandbox that cannot "
                           f"import the package?), so its time is not a benchmark")


@contextlib.contextmanager
def grading_environment():
    """Children see the course's thread policy in the libraries' variables and no ``PYTHONPATH``
    entry that holds a ``labs`` package (IPython puts ``PYTHONPATH`` before the notebook's folder,
    so a kernel would import those stubs instead of the submission's ``labs/``). Yields what was
    left out."""
    from backprop_labs.threads import LIBRARY_THREAD_VARIABLES, requested_threads

    saved = dict(os.environ)
    entries = [entry for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry]
    dropped = [entry for entry in entries if (Path(entry) / "labs" / "__init__.py").exists()]
    kept = [entry for entry in entries if entry not in dropped]
    if kept:
        os.environ["PYTHONPATH"] = os.pathsep.join(kept)
    else:
        os.environ.pop("PYTHONPATH", None)
    for name in LIBRARY_THREAD_VARIABLES:
        os.environ[name] = str(requested_threads())
    try:
        yield dropped
    finally:
        os.environ.clear()
        os.environ.update(saved)


def measure(students=20, repetitions=2):
    """``{label: [seconds per repetition]}`` under ``times``, the three paired ratios
    (:class:`bench.timing.PairedRatio`), and what was left out of ``PYTHONPATH``."""
    sys.path.insert(0, str(REPOSITORY_ROOT / "tests"))
    from trusted_class import build_demo_class

    from bench.timing import paired_ratio

    methods = {"nbgrader serial": _nbgrader_serial, "trusted N=1": _trusted(1), "trusted N=2": _trusted(2)}
    with tempfile.TemporaryDirectory(prefix="bench-autograde-") as scratch, grading_environment() as dropped:
        kinds = [KINDS[i % len(KINDS)] for i in range(students)]
        course = build_demo_class(Path(scratch) / "class", kinds)
        honest = [f"s{i:02d}_{kind}" for i, kind in enumerate(kinds) if kind == "honest"]
        times = {label: [] for label in methods}
        for repetition in range(repetitions):
            order = list(methods) if repetition % 2 == 0 else list(methods)[::-1]  # alternated
            for label in order:
                copy = _fresh_copy(course, scratch, label.replace(" ", "_").replace("=", ""), repetition)
                started = time.perf_counter()
                methods[label](copy)
                times[label].append(time.perf_counter() - started)
                require_full_marks_for_honest(copy, label, honest)
                shutil.rmtree(copy.parent)
    return {
        "times": times,
        "medians": {label: statistics.median(values) for label, values in times.items()},
        "speedup": paired_ratio(times["nbgrader serial"], times["trusted N=2"]),
        "workers": paired_ratio(times["trusted N=1"], times["trusted N=2"]),
        "one_worker": paired_ratio(times["nbgrader serial"], times["trusted N=1"]),
        "students": students, "repetitions": repetitions, "honest": len(honest),
        "pythonpath_dropped": dropped,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--repetitions", type=int, default=2)
    args = parser.parse_args()
    figures = measure(args.students, args.repetitions)
    print(f"{figures['students']} submissions, {figures['repetitions']} paired repetition(s), "
          f"{figures['honest']} honest controls at full marks")
    for label in METHODS:
        print(f"{label:<20}{figures['medians'][label]:>10.1f} s"
              f"{figures['medians'][label] / figures['students']:>10.2f} s/student")
    print(f"nbgrader serial / trusted N=2: {figures['speedup'].value:.2f}x (target 1.7x)")
    print(f"trusted N=1 / trusted N=2 (parallelism alone): {figures['workers'].value:.2f}x (target 1.6x)")
    print(f"nbgrader serial / trusted N=1: {figures['one_worker'].value:.2f}x")


if __name__ == "__main__":
    main()
