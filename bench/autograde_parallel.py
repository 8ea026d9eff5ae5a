"""Benchmark: plain serial ``nbgrader autograde`` against ``backprop-labs grade --workers 2``.

A class of 20 made-up submissions (honest, stub and cheating ones) is built once; each
repetition grades a fresh copy of the course:

* ``nbgrader serial``: ``nbgrader autograde ASSIGNMENT`` (one process, one student after the
  other, in-kernel scores only: no sandbox, no trusted checks), as configured and again with
  one thread per numeric library, as the sandboxed kernels run;
* ``trusted N=1`` and ``trusted N=2``: this project's trusted autograde with 1 and 2 worker
  processes (nbgrader per student in a private gradebook, its kernel in the sandbox, then
  every trusted check of the student in one sandboxed process).

Figures are medians over the repetitions, measured side by side in one run; the speedup is
``nbgrader serial / trusted N=2``. Needs root (the sandbox) and the books corpus
(``BACKPROP_LABS_DATA``).

    python bench/autograde_parallel.py [--students 20] [--repetitions 1]
"""
import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from backprop_labs.paths import REPOSITORY_ROOT

ASSIGNMENT = "backprop_mlp"
KINDS = ("honest", "stub", "cheat", "honest")


def _fresh_copy(course, scratch, label, repetition):
    target = Path(scratch) / f"{label}-{repetition}" / "course"
    shutil.copytree(course, target, symlinks=True)
    return target


def _nbgrader_serial(one_thread):
    """Plain ``nbgrader autograde``; ``one_thread`` gives its kernels the sandbox's thread
    settings (one thread per numeric library), to separate that effect from parallelism."""
    def grade(course):
        import os

        from grading.course.pipeline import run_nbgrader
        from grading.trusted.sandbox.runner import SINGLE_THREADED

        saved = dict(os.environ)
        if one_thread:
            os.environ.update(SINGLE_THREADED)
        try:
            result = run_nbgrader(course, "autograde", ASSIGNMENT, "--force", "--create")
        finally:
            os.environ.clear()
            os.environ.update(saved)
        if result.returncode != 0:
            raise RuntimeError("nbgrader autograde failed:\n" + (result.stdout + result.stderr)[-3000:])
    return grade


def _trusted(workers):
    def grade(course):
        from grading.trusted.parallel import grade_class

        run = grade_class(course, ASSIGNMENT, workers=workers, progress=False)
        if run.failed:
            raise RuntimeError(f"trusted autograde failed for {sorted(run.failed)}")
    return grade


def measure(students=20, repetitions=1):
    """``{label: median seconds}`` plus ``speedup`` (nbgrader serial / trusted N=2) and the
    trusted N=1 / N=2 ratio."""
    sys.path.insert(0, str(REPOSITORY_ROOT / "tests"))
    from trusted_class import build_demo_class

    methods = {"nbgrader serial": _nbgrader_serial(False), "nbgrader serial, 1 thread": _nbgrader_serial(True),
               "trusted N=1": _trusted(1), "trusted N=2": _trusted(2)}
    with tempfile.TemporaryDirectory(prefix="bench-autograde-") as scratch:
        kinds = [KINDS[i % len(KINDS)] for i in range(students)]
        course = build_demo_class(Path(scratch) / "class", kinds)
        times = {label: [] for label in methods}
        for repetition in range(repetitions):
            order = list(methods) if repetition % 2 == 0 else list(methods)[::-1]  # interleaved
            for label in order:
                method = methods[label]
                copy = _fresh_copy(course, scratch, label.replace(" ", "_"), repetition)
                started = time.perf_counter()
                method(copy)
                times[label].append(time.perf_counter() - started)
    figures = {label: statistics.median(values) for label, values in times.items()}
    figures["speedup"] = figures["nbgrader serial"] / figures["trusted N=2"]
    figures["speedup_same_threads"] = figures["nbgrader serial, 1 thread"] / figures["trusted N=2"]
    figures["workers_ratio"] = figures["trusted N=1"] / figures["trusted N=2"]
    figures["students"], figures["repetitions"] = students, repetitions
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--repetitions", type=int, default=1)
    args = parser.parse_args()
    figures = measure(args.students, args.repetitions)
    print(f"{figures['students']} submissions, median of {figures['repetitions']} repetition(s)")
    print(f"{'method':<28}{'seconds':>10}{'s/student':>12}")
    for label in ("nbgrader serial", "nbgrader serial, 1 thread", "trusted N=1", "trusted N=2"):
        print(f"{label:<28}{figures[label]:>10.1f}{figures[label] / figures['students']:>12.2f}")
    print(f"speedup nbgrader serial / trusted N=2: {figures['speedup']:.2f}x (target 1.7x)")
    print(f"speedup nbgrader serial with 1 thread / trusted N=2: {figures['speedup_same_threads']:.2f}x")
    print(f"trusted N=1 / trusted N=2 (parallelism alone): {figures['workers_ratio']:.2f}x")


if __name__ == "__main__":
    main()
