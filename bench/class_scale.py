"""Rows 7-7e: grading a class against its floor, 1 -> 2 workers, and a 1,000-submission projection.

A class of made-up submissions (honest controls, the release as handed out, partly right work with
planted mistakes, a cheat: :func:`class_kinds`) is built once. Each paired round grades it three
ways, each in a fresh interpreter (imports, warm interpreters and zygotes paid inside the time), in
an order shuffled afresh every round:

* ``floor``: what grading one submission cannot do without, student after student: one plain
  nbclient execution of the student's notebook in the same kind of kernel as ``grade`` (the
  sandboxed kernel, forked from a warm zygote, when root; the course's parameters injected), then
  the trusted checks alone on the submission (:func:`grading.trusted.grade.grade_submission`). No
  nbgrader, no gradebook, no copies, no feedback, no merge;
* ``grade N=1`` and ``grade N=2``: :func:`grading.trusted.parallel.grade_class`, as ``backprop-labs
  grade`` runs it, on a fresh copy of the course (``bench.autograde_parallel.TRUSTED_RUN``).

Every honest control must score full marks (the floor: every trusted check passes; ``grade``: the
gradebook), or the round is not a benchmark. While each contender runs, its process tree is sampled
(:class:`TreeSampler`): its CPU time and how many zygotes it started; ``grade``'s disk is the course folder's
growth. Peak proportional memory (PSS) is measured after the timed rounds, in one untimed run of each contender
on the first :data:`MEMORY_STUDENTS` students: reading a tree's PSS costs about 57 ms of CPU per sample (the
kernel walks every page table), which in a timed run would take a core's fifth from the 2-worker run only.
The projection of a 1,000-submission class (rows 7c-7e) is computed from these figures by :func:`project`,
with its assumptions in the rows' notes.

    python -m bench.class_scale [--students 40] [--rounds 1]
"""
import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from backprop_labs.paths import REPOSITORY_ROOT

from .table import Row, Target, seconds
from .timing import paired_ratio

ASSIGNMENT = "backprop_mlp"
# A third honest controls; the rest handed out as released, with one planted mistake each, or a cheat.
KINDS = ("honest", "stub", "sigmoid_only", "honest", "output_layer_only", "forward_without_bias", "honest",
         "cheat", "stub")
FLOOR_GOAL = 1.5       # grade per student within 1.5x its floor
WORKERS_GOAL = 1.8     # 1 -> 2 workers on 2 cores
PROJECTED_CLASS = 1000
MEMORY_STUDENTS = 10   # the untimed memory runs: every kind graded once; a peak is per process, not per student

# The floor in a fresh interpreter: argv = course, assignment, students...
FLOOR_RUN = """
from backprop_labs.light_imports import skip_iri_parser
skip_iri_parser()   # as the grading command does, before nbclient imports nbformat
from backprop_labs.process_exit import freeze_at_exit
freeze_at_exit()    # and as it ends
import os, shutil, sys, tempfile
from pathlib import Path
from nbclient import NotebookClient
from backprop_labs.student_notebooks import read_notebook
from grading.course.assignments import get_assignment
from grading.course.config import DEFAULT_PARAMETERS, DEFAULT_TIMEOUT, SANDBOXED_KERNEL_MANAGER
from grading.course.preprocessors import inject_parameters
from grading.trusted.check_spec import trusted_checks
from grading.trusted.grade import grade_submission

course, assignment, students = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
cells_by_check = get_assignment(assignment).trusted_cells
checks = {name: trusted_checks()[name] for name in cells_by_check}
kernel = {"kernel_manager_class": SANDBOXED_KERNEL_MANAGER} if os.geteuid() == 0 else {}   # as the course sets it
short = []
with tempfile.TemporaryDirectory() as scratch:
    for student in students:
        folder = Path(scratch) / student
        shutil.copytree(course / "submitted" / student / assignment, folder, symlinks=True)
        notebook_path = folder / f"{assignment}.ipynb"
        notebook = read_notebook(notebook_path)
        inject_parameters(notebook, DEFAULT_PARAMETERS)
        NotebookClient(notebook, timeout=DEFAULT_TIMEOUT, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(folder)}}, **kernel).execute()
        results = grade_submission(folder, checks, hidden=[course], notebook=notebook_path, scopes=cells_by_check)
        if student.endswith("_honest") and any(result.fraction < 1 for result in results.values()):
            short.append(student)
        shutil.rmtree(folder)
if short:
    sys.exit(f"honest controls below full marks in the floor run: {short}")
"""


# The machine's own scaling, on two working sets: arrays of 8 MB (in cache) and of 32 MB (from memory).
WORKING_SETS = {"in cache": 1000, "from memory": 2000}


def cpu_bound_work(side, loops=5_000_000):
    """About a second of CPU-bound work on one thread: an interpreted loop, then NumPy element-wise products
    over a ``side`` x ``side`` array (300 passes over a million entries)."""
    import numpy as np

    total = 0
    for step in range(loops):
        total += step * step
    array = np.random.default_rng(0).normal(size=(side, side))
    for _ in range(max(1, 300_000_000 // side ** 2)):
        array = np.tanh(array) * 1.0001
    return total + float(array.sum())


def _processes_at_once(count, side):
    """Seconds for ``count`` forked processes doing :func:`cpu_bound_work` each, started together."""
    import multiprocessing

    started = time.perf_counter()
    processes = [multiprocessing.get_context("fork").Process(target=cpu_bound_work, args=(side,))
                 for _ in range(count)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    return time.perf_counter() - started


def machine_scaling(rounds=3):
    """The machine's own 1 -> 2 processes throughput on :func:`cpu_bound_work` (2.0: two independent cores),
    per working set: the ceiling of any 1 -> 2 workers ratio measured on it. ``{working set: (1 process's
    seconds, 2 processes' seconds, paired ratio)}``."""
    scaling = {}
    for name, side in WORKING_SETS.items():
        one, two = [], []
        for _ in range(rounds):
            one.append(_processes_at_once(1, side))
            two.append(_processes_at_once(2, side))
        scaling[name] = (statistics.median(one), statistics.median(two), paired_ratio([2 * t for t in one], two))
    return scaling


def class_kinds(students):
    """The submission kinds of a class of ``students``, :data:`KINDS` in turn."""
    return [KINDS[i % len(KINDS)] for i in range(students)]


class TreeSampler:
    """Samples a process and its descendants every ``interval`` seconds in a thread: the peak of
    their summed proportional memory (PSS), the zygotes (``zygote.py`` processes) seen among them, and each
    process's own CPU time (user + system, children not included) when last seen: their sum is the tree's CPU
    time, short of what ran after a process's last sample (at most ``interval`` each)."""

    def __init__(self, pid, interval=0.25, memory=True):
        self.pid, self.interval, self.memory = pid, interval, memory
        self.peak_rss, self.zygotes = 0, set()
        self._cpu = {}   # (pid, start time) -> the process's own CPU seconds when last sampled
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        import psutil

        while not self._stop.is_set():
            try:
                root = psutil.Process(self.pid)
                tree = [root] + root.children(recursive=True)
            except psutil.Error:
                tree = []
            total, forking = 0, {}
            for process in tree:
                try:
                    total += _proportional_bytes(process) if self.memory else 0
                    times = process.cpu_times()
                    self._cpu[process.pid, process.create_time()] = times.user + times.system
                    if any(part.endswith("zygote.py") for part in process.cmdline()):
                        forking[process.pid] = process.ppid()
                except psutil.Error:
                    pass
            # A run forked by a zygote keeps its command line: a zygote is one whose parent is no zygote.
            self.zygotes.update(pid for pid, parent in forking.items() if parent not in forking)
            self.peak_rss = max(self.peak_rss, total)
            self._stop.wait(self.interval)

    def cpu_seconds(self):
        return sum(self._cpu.values())

    def stop(self):
        self._stop.set()
        self._thread.join()
        return self


def _proportional_bytes(process):
    """The process's proportional set size (its share of pages shared with others: zygotes and their forks
    share most of theirs), or its resident size where the kernel gives no PSS."""
    try:
        return process.memory_full_info().pss
    except (AttributeError, OSError):
        return process.memory_info().rss


def folder_bytes(folder):
    """Bytes of the regular files under ``folder`` (links not followed)."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def _timed_child(code, arguments, memory=False):
    """``(seconds, peak PSS of the tree, zygotes started, CPU seconds of the tree)`` of ``python -c code
    arguments``; raises if it fails. The CPU time is a lower bound: the sum over the processes that the
    sampler saw: each process's own CPU time when last sampled (see :class:`TreeSampler`). The peak is 0
    unless ``memory``: a run whose time counts is not slowed by reading its memory."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", code, *map(str, arguments)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    sampler = TreeSampler(process.pid, memory=memory)
    _, stderr = process.communicate()
    elapsed = time.perf_counter() - started
    sampler.stop()
    if process.returncode != 0:
        raise RuntimeError(f"{arguments[:3]}: exit status {process.returncode}:\n{stderr[-3000:]}")
    return elapsed, sampler.peak_rss, len(sampler.zygotes), sampler.cpu_seconds()


def measure_class(students=40, rounds=1, seed=0, report=None):
    """Figures of :func:`format_table` and :func:`rows`: seconds, peak memory and zygotes per contender
    and round, disk per graded student, the paired ratios, and the load around the run."""
    sys.path.insert(0, str(REPOSITORY_ROOT / "tests"))
    from trusted_class import build_demo_class

    from .autograde_parallel import TRUSTED_RUN, grading_environment, require_full_marks_for_honest
    from grading.trusted.parallel import submitted_students

    load_before = os.getloadavg()
    contenders = ("floor", "grade N=1", "grade N=2")
    figures = {name: {"seconds": [], "rss": [], "zygotes": [], "cpu": []} for name in contenders}
    disk = []
    order = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="bench-class-") as scratch, grading_environment():
        kinds = class_kinds(students)
        course = build_demo_class(Path(scratch) / "class", kinds)
        names = submitted_students(course, ASSIGNMENT)
        honest = [name for name in names if name.endswith("_honest")]
        course_bytes = folder_bytes(course)
        machine = machine_scaling(rounds=max(rounds, 3))   # before the rounds, on the same machine and load

        def run(name, label, graded, memory=False):
            """Grade the students ``graded`` as contender ``name``: ``_timed_child``'s figures."""
            if name == "floor":
                return _timed_child(FLOOR_RUN, [course, ASSIGNMENT, *graded], memory=memory)
            copy = Path(scratch) / f"{name.replace(' ', '_').replace('=', '')}-{label}" / "course"
            shutil.copytree(course, copy, symlinks=True)
            for student in set(names) - set(graded):
                shutil.rmtree(copy / "submitted" / student)
            measured = _timed_child(TRUSTED_RUN, [copy, ASSIGNMENT, name[-1]], memory=memory)
            require_full_marks_for_honest(copy, name, [student for student in honest if student in graded])
            if not memory:
                disk.append((folder_bytes(copy) - course_bytes) / students)
            shutil.rmtree(copy.parent)
            return measured

        for round_index in range(rounds):
            for name in order.sample(contenders, len(contenders)):
                if report:
                    report(f"[bench] class of {students}, round {round_index + 1}: {name} ...")
                elapsed, _, zygotes, cpu = run(name, round_index, names)
                for key, value in zip(("seconds", "zygotes", "cpu"), (elapsed, zygotes, cpu)):
                    figures[name][key].append(value)
        for name in contenders:   # untimed: peak memory, on the first students (every kind)
            if report:
                report(f"[bench] peak memory, {name}, {min(students, MEMORY_STUDENTS)} students (untimed) ...")
            figures[name]["rss"].append(run(name, "memory", names[:MEMORY_STUDENTS], memory=True)[1])
    times = {name: figures[name]["seconds"] for name in contenders}
    return {
        "students": students, "rounds": rounds, "honest": len(honest), "kinds": sorted(set(kinds)),
        "memory_students": min(students, MEMORY_STUDENTS),
        "figures": figures, "disk_per_student": statistics.median(disk), "course_bytes": course_bytes,
        "grade_over_floor": paired_ratio(times["grade N=1"], times["floor"]),
        "grade2_over_floor": paired_ratio(times["grade N=2"], times["floor"]),
        "workers": paired_ratio(times["grade N=1"], times["grade N=2"]),
        "load_before": load_before, "load_after": os.getloadavg(), "cores": os.cpu_count(), "machine": machine,
    }


def _median(figures, name, key):
    return statistics.median(figures["figures"][name][key])


def project(figures, submissions=PROJECTED_CLASS, workers=(1, 2, 8)):
    """``{N: {seconds, peak_bytes, disk_bytes}}`` for a class of ``submissions`` on N workers.

    Time: the measured class time at 1 (and 2) workers is a fixed start (imports, zygotes: taken as
    the floor run's time less its per-student share, an upper bound) plus a per-student cost; N
    workers divide the per-student cost by N times the efficiency measured from 1 to 2 workers
    (N <= cores). Memory: the measured peak at 1 worker plus, per further worker, the measured
    increment from 1 to 2. Disk: the measured growth of the course folder per student, times the class.
    """
    students = figures["students"]
    one, two = _median(figures, "grade N=1", "seconds"), _median(figures, "grade N=2", "seconds")
    per_student = one / students
    speedup = min(one / two, 2.0)
    efficiency = speedup / 2
    memory_one, memory_two = _median(figures, "grade N=1", "rss"), _median(figures, "grade N=2", "rss")
    per_worker_memory = max(memory_two - memory_one, 0)
    projected = {}
    for count in workers:
        parallel = 1 if count == 1 else count * efficiency
        projected[count] = {
            "seconds": per_student * submissions / parallel,
            "peak_bytes": memory_one + (count - 1) * per_worker_memory,
            "disk_bytes": figures["disk_per_student"] * submissions,
        }
    return {"by_workers": projected, "per_student": per_student, "efficiency": efficiency,
            "per_worker_memory": per_worker_memory}


def _mib(value):
    """Bytes for a table cell, in KiB, MiB or GiB."""
    if value < 2 ** 20:
        return f"{value / 2 ** 10:,.0f} KiB"
    return f"{value / 2 ** 20:,.0f} MiB" if value < 2 ** 30 else f"{value / 2 ** 30:.1f} GiB"


def _duration(value):
    return f"{value / 3600:.1f} h" if value >= 3600 else f"{value / 60:.0f} min" if value >= 60 else seconds(value)


def cores_busy(figures, name):
    """How many cores contender ``name`` kept busy on average: its CPU seconds over its wall seconds
    (median over rounds)."""
    cpu = figures["figures"][name].get("cpu")
    if not cpu:
        return None
    return statistics.median(c / s for c, s in zip(cpu, figures["figures"][name]["seconds"]))


def workers_bound_note(figures):
    """What 1 -> 2 workers can reach on this machine, from the cores one worker already keeps busy: a bound
    only where nothing else shares the cores (a process waiting for a busy core keeps none busy)."""
    busy = cores_busy(figures, "grade N=1")
    if busy is None:
        return ""
    bound = min(2.0, figures["cores"] / busy)
    return (f"; 1 worker kept {busy:.2f} cores busy on average (its kernel, checks and nbgrader overlap; a lower "
            f"bound, and lower still on a loaded machine), so on {figures['cores']} free cores 2 workers can reach "
            f"at most {bound:.2f}x")


def load_line(figures):
    before, after = figures["load_before"], figures["load_after"]
    return (f"load average (1, 5, 15 min) {before[0]:.2f}, {before[1]:.2f}, {before[2]:.2f} before and "
            f"{after[0]:.2f}, {after[1]:.2f}, {after[2]:.2f} after, on {figures['cores']} cores")


def rows(figures):
    """Benchmark rows 7-7e from :func:`measure`'s figures."""
    students = figures["students"]
    what = f"grade a class of {students} ({', '.join(figures['kinds'])})"
    floor = _median(figures, "floor", "seconds")
    one, two = _median(figures, "grade N=1", "seconds"), _median(figures, "grade N=2", "seconds")
    controls = (f"{figures['honest']} honest controls at full marks in every run; {load_line(figures)}; "
                f"zygotes started: floor {_median(figures, 'floor', 'zygotes'):.0f}, grade N=1 "
                f"{_median(figures, 'grade N=1', 'zygotes'):.0f}, N=2 {_median(figures, 'grade N=2', 'zygotes'):.0f} "
                f"(per process, not per submission)")
    projection = project(figures)
    assumptions = (f"projected from this run: {seconds(projection['per_student'])} per student on 1 worker, "
                   f"1 -> 2 workers efficiency {projection['efficiency']:.0%} kept for N workers on N free cores; "
                   f"a course folder on a local disk (a shared file system for Dask adds its copy time); "
                   f"the coordinator's serial merge (gradebook rows, graded folder) included in the measured "
                   f"per-student time but not divided: it bounds N")
    result = [
        Row("7", what + ": grade per student / floor, 1 worker",
            measured=f"grade {seconds(one / students)} per student", baseline=f"floor {seconds(floor / students)}",
            paired=figures["grade_over_floor"], target=Target("<=", FLOOR_GOAL),
            note=("floor: one nbclient run of the notebook in the sandboxed kernel + the trusted checks alone, "
                  "each side in a fresh interpreter; " + controls)),
        Row("7b", what + ": 1 -> 2 workers", measured=f"1 worker {seconds(one)}",
            baseline=f"2 workers {seconds(two)}", paired=figures["workers"], target=Target(">=", WORKERS_GOAL),
            note=(f"2 workers: {figures['grade2_over_floor'].value:.2f}x the serial floor; peak memory "
                  f"{_mib(_median(figures, 'grade N=1', 'rss'))} (1 worker), "
                  f"{_mib(_median(figures, 'grade N=2', 'rss'))} (2), measured in untimed runs of "
                  f"{figures.get('memory_students', students)} students (reading memory slows the run it samples)"
                  + workers_bound_note(figures))),
    ]
    if "machine" in figures:
        one_process, two_processes, machine = figures["machine"]["from memory"]
        in_cache = figures["machine"]["in cache"][2]
        result.append(Row(
            "7f", "the machine itself: 1 -> 2 processes on CPU-bound work (the ceiling of 7b)",
            measured=f"1 process {seconds(one_process)}", baseline=f"2 at once {seconds(two_processes)}",
            paired=machine, ratio_unit="x the throughput",
            note=(f"each process: an interpreted loop and NumPy element-wise products over 32 MB arrays, one "
                  f"thread, no waits (with 8 MB arrays, in cache: {in_cache.value:.2f}x); 2.00 would be two "
                  f"independent cores; 7b reached {figures['workers'].value / machine.value:.0%} of this; "
                  f"for information, no target")))
    for key, count in zip(("7c", "7d", "7e"), sorted(projection["by_workers"])):
        projected = projection["by_workers"][count]
        result.append(Row(
            key, f"projection: {PROJECTED_CLASS:,} submissions on {count} worker{'s' if count > 1 else ''}",
            measured=(f"{_duration(projected['seconds'])}, peak {_mib(projected['peak_bytes'])}, "
                      f"disk {_mib(projected['disk_bytes'])}"),
            baseline=f"from the class of {students} above",
            note=(f"disk: {_mib(figures['disk_per_student'])} per graded student (graded folder, gradebook rows, "
                  f"feedback, record); memory: +{_mib(projection['per_worker_memory'])} per further worker "
                  f"(its interpreter, zygotes, kernel); " + assumptions)))
    return result


def measure(settings, report=None):
    """Rows 7-7e for the bench command; skipped with ``--quick`` (grades notebooks for minutes)."""
    what = f"grade a class of {settings.class_submissions}"
    if settings.quick:
        return [Row("7", what, status="skipped with --quick (grades notebooks for minutes)",
                    target=Target("<=", FLOOR_GOAL))]
    from .autograde import _data_directory

    with _data_directory(settings.data_dir):
        return rows(measure_class(settings.class_submissions, settings.class_rounds, report=report))


def format_table(figures):
    lines = [f"{figures['students']} submissions, {figures['rounds']} paired round(s), {figures['honest']} honest "
             f"controls at full marks; {load_line(figures)}", "",
             "| contender | class time | per student | peak memory | zygotes |", "|---|---|---|---|---|"]
    for name in ("floor", "grade N=1", "grade N=2"):
        total = _median(figures, name, "seconds")
        lines.append(f"| {name} | {seconds(total)} | {seconds(total / figures['students'])} | "
                     f"{_mib(_median(figures, name, 'rss'))} | {_median(figures, name, 'zygotes'):.0f} |")
    lines += ["", f"grade N=1 / floor: {figures['grade_over_floor'].value:.2f}x (target <= {FLOOR_GOAL}); "
                  f"{figures['grade_over_floor'].describe()}",
              f"grade N=1 / grade N=2: {figures['workers'].value:.2f}x (target >= {WORKERS_GOAL}); "
              f"{figures['workers'].describe()}",
              f"disk per graded student: {_mib(figures['disk_per_student'])}" + workers_bound_note(figures), ""]
    projection = project(figures)
    lines.append(f"projection, {PROJECTED_CLASS:,} submissions:")
    for count, projected in projection["by_workers"].items():
        lines.append(f"  {count} worker(s): {_duration(projected['seconds'])}, peak memory "
                     f"{_mib(projected['peak_bytes'])}, disk {_mib(projected['disk_bytes'])}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.class_scale", description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args(argv)
    figures = measure_class(args.students, args.rounds, report=lambda line: print(line, file=sys.stderr))
    print(format_table(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
