"""Autograde a class: one job per student on N local processes or a Dask cluster.

Workers only write their own job folders; the coordinator (this process) is the only
writer of the course gradebook and merges each student as soon as its job finishes, so
killing the run loses nothing already merged and running it again grades only the
students without a done marker for their current submission. Grades do not depend on the
number of workers: each job starts from the same gradebook snapshot and the checks are
deterministic.
"""
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from .autograde import (check_assignment_is_trusted, grade_student, is_done, merge_student, recorded_note,
                        snapshot_gradebook)


@dataclass
class ClassRun:
    graded: list = field(default_factory=list)
    skipped: list = field(default_factory=list)     # already recorded by an earlier run
    failed: dict = field(default_factory=dict)      # student -> why
    logs: dict = field(default_factory=dict)        # student -> nbgrader's full log, when it failed
    notes: dict = field(default_factory=dict)       # student -> why the notebook could not run (graded anyway)


def submitted_students(course_dir, assignment):
    return sorted(path.parent.name for path in (Path(course_dir) / "submitted").glob(f"*/{assignment}")
                  if path.is_dir())


def protect_course(course_dir):
    """The course folder holds solutions, hidden tests and every grade: root only."""
    os.chmod(course_dir, 0o700)


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_coordinator():
    """Worker initializer: the kernel kills this worker when the coordinator dies (even by
    SIGKILL), so a dead run never goes on grading queued students."""
    import ctypes
    import signal

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() == 1:  # the coordinator died before the setting took effect
        os._exit(1)


def _local_results(jobs, workers):
    if workers <= 1:
        for job in jobs:
            yield grade_student(job)
        return
    # spawn, not fork: the coordinator may hold threads and locks (nbgrader's kernel client,
    # tqdm) that a forked worker would inherit in a locked state.
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=die_with_coordinator) as pool:
        futures = [pool.submit(grade_student, job) for job in jobs]
        for future in as_completed(futures):
            yield future.result()


def _dask_results(jobs, scheduler):
    from distributed import Client, as_completed as dask_as_completed

    client = scheduler if hasattr(scheduler, "submit") else Client(scheduler)
    try:
        futures = [client.submit(grade_student, job, key=f"grade-{job['student']}", pure=False) for job in jobs]
        for future in dask_as_completed(futures):
            yield future.result()
    finally:
        if client is not scheduler:
            client.close()


def grade_class(course_dir, assignment, workers=1, scheduler=None, students=None, progress=True, notes=None):
    """Grade every submitted student not already recorded; returns a :class:`ClassRun`.

    Refuses (:class:`.autograde.AssignmentNotTrusted`) an assignment with an autograded test cell
    that no trusted check scores.

    ``scheduler``: a Dask scheduler address (or ``distributed.Client``) to run the jobs on
    instead of ``workers`` local processes; the course folder must then be on a file system
    the Dask workers share. ``notes``: ``{student: [what was repaired before grading]}``, shown at
    the top of the student's feedback.
    """
    from tqdm import tqdm

    course_dir = Path(course_dir).resolve()
    check_assignment_is_trusted(course_dir, assignment)
    protect_course(course_dir)
    students = submitted_students(course_dir, assignment) if students is None else list(students)
    run = ClassRun(skipped=[s for s in students if is_done(course_dir, assignment, s)])
    run.notes.update({s: recorded_note(course_dir, assignment, s) for s in run.skipped
                      if recorded_note(course_dir, assignment, s)})
    todo = [s for s in students if s not in run.skipped]
    if not todo:
        return run
    template = str(snapshot_gradebook(course_dir))
    jobs = [{"course_dir": str(course_dir), "assignment": assignment, "student": s, "template": template,
             "notes": list((notes or {}).get(s, []))} for s in todo]
    answers = _dask_results(jobs, scheduler) if scheduler is not None else _local_results(jobs, workers)
    with tqdm(total=len(jobs), desc=f"autograde {assignment}", unit="student", disable=not progress) as bar:
        for answer in answers:
            if answer["ok"]:
                try:
                    merge_student(course_dir, assignment, answer)
                    run.graded.append(answer["student"])
                    if answer.get("note"):
                        run.notes[answer["student"]] = answer["note"]
                except Exception as error:  # noqa: BLE001 - one student's files never stop the class
                    run.failed[answer["student"]] = f"recording the grades failed: {type(error).__name__}: {error}"
            else:
                run.failed[answer["student"]] = answer["error"]
            if answer.get("log"):
                run.logs[answer["student"]] = answer["log"]
            bar.update(1)
    return run
