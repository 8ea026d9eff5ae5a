"""Autograde a class: one job per student, N at a time (the coordinator and N-1 spawned processes) or on Dask.

Workers only write their own job folders; the coordinator (this process) is the only
writer of the course gradebook and merges each student as soon as its job finishes, so
killing the run loses nothing already merged and running it again grades only the
students without a done marker for their current submission. Grades do not depend on the
number of workers: each job starts from the same gradebook snapshot and the checks are
deterministic.

Nothing of a killed run goes on: its workers die with the coordinator, zygotes with the
process that started them, and sandboxed kernels with their kernel manager's process (see
:mod:`.sandbox.kernel`); and :func:`claim_course` ends whatever an earlier, killed run of the
course left before a new run starts.
"""
import json
import multiprocessing
import os
import signal
import queue
import threading
import time
import uuid
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path

from grading.course.case_secret import MissingCourseSecret, read_course_secret
from grading.course.pipeline import CourseError, keep_log
from grading.course.run_record import GradingRun

from .autograde import (check_assignment_is_trusted, grade_student, graded_notebook, is_done, merge_student,
                        recorded_note, snapshot_gradebook, work_root)
from .cases import course_cases
from .sandbox.runner import RUN_TAG_VARIABLE
from .worker_process import start_worker


def submitted_students(course_dir, assignment):
    return sorted(path.parent.name for path in (Path(course_dir) / "submitted").glob(f"*/{assignment}")
                  if path.is_dir())


def protect_course(course_dir):
    """The course folder holds solutions, hidden tests and every grade: root only."""
    os.chmod(course_dir, 0o700)


RUN_MARKER = "run.json"   # in the course's work folder: the coordinator of the run and its processes' tag


def _stat_fields(pid):
    """The fields of ``/proc/<pid>/stat`` after the command name (field 3, the state, comes first),
    or None if there is no such process. The name may hold spaces and parentheses: split after its last ')'."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _started(pid):
    """When process ``pid`` started (clock ticks since boot), None if there is no such process:
    with the pid, it names one process even after its pid is reused."""
    fields = _stat_fields(pid)
    try:
        return int(fields[19])
    except (TypeError, ValueError, IndexError):
        return None


def tagged_processes(tag):
    """Pids of the live processes whose environment carries the run tag ``tag``."""
    needle = f"\0{RUN_TAG_VARIABLE}={tag}\0".encode()
    pids = []
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) != os.getpid():
            try:
                with open(f"/proc/{name}/environ", "rb") as environ:
                    if needle in b"\0" + environ.read():
                        pids.append(int(name))
            except OSError:  # ended meanwhile, or a kernel thread
                pass
    return pids


def _end_processes(pids, seconds=60):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + seconds
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)  # the kernel ends them asynchronously; slot locks free once they are gone


def _alive(pid):
    """Whether process ``pid`` exists and is neither a zombie nor dead."""
    fields = _stat_fields(pid)
    return bool(fields) and fields[0] not in ("Z", "X")


@contextmanager
def claim_course(course_dir):
    """Hold the course for this grading run. Refuses (``CourseError``) while the coordinator of
    another run of the course is alive; ends every process that an earlier, killed run left
    (found by the run's tag, which its workers, zygotes and kernel launchers inherit, and their
    sandboxed runs with them); tags the processes this run starts."""
    marker = work_root(course_dir) / RUN_MARKER
    try:
        earlier = json.loads(marker.read_text())
        earlier_pid, earlier_start, earlier_tag = earlier["pid"], earlier["started"], earlier["tag"]
    except (OSError, ValueError, KeyError, TypeError):
        earlier_tag = None
    if earlier_tag is not None:
        if _started(earlier_pid) == earlier_start:
            raise CourseError(f"another grading run (process {earlier_pid}) is grading {course_dir}: wait for it "
                              f"to end, or end it, then run again")
        _end_processes(tagged_processes(earlier_tag))
    tag, previous = uuid.uuid4().hex, os.environ.get(RUN_TAG_VARIABLE)
    marker.write_text(json.dumps({"pid": os.getpid(), "started": _started(os.getpid()), "tag": tag}))
    os.environ[RUN_TAG_VARIABLE] = tag
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(RUN_TAG_VARIABLE, None)
        else:
            os.environ[RUN_TAG_VARIABLE] = previous
        marker.unlink(missing_ok=True)


def grade_student_with_course_cases(job):
    """:func:`.autograde.grade_student`, its trusted cases drawn with the course's secret (:mod:`.cases`)."""
    with course_cases(job["course_dir"]):
        return grade_student(job)


class WorkerPool:
    """The ``workers - 1`` spawned processes of a local run, started on the first :meth:`start`, from the
    coordinator's main thread: a worker's death signal (``die_with_coordinator``) follows the thread that
    started it, and a pool starts its processes in the thread that submits. Each is sent a first job that
    only imports the grader, so its ~1 s of imports runs beside the coordinator's own set-up."""

    def __init__(self, workers):
        self.workers, self.executor = workers, None

    def start(self):
        if self.executor is None and self.workers > 1:
            # spawn, not fork: the coordinator may hold threads and locks (nbgrader's kernel client,
            # tqdm) that a forked worker would inherit in a locked state.
            self.executor = ProcessPoolExecutor(max_workers=self.workers - 1, initializer=start_worker,
                                                mp_context=multiprocessing.get_context("spawn"))
            for _ in range(self.workers - 1):
                self.executor.submit(import_grader)
        return self.executor

    def __enter__(self):
        return self

    def __exit__(self, *exception):
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
        return False


def import_grader():
    """A spawned worker's first job: unpickling it imported this module and the grader with it; this loads
    the exercise modules too (0.8 s), which every job reads."""
    from grading.gradient_check.registry import registered_exercises

    registered_exercises()


def _local_results(jobs, pool):
    """Answers as jobs finish, ``pool.workers`` students at a time: the coordinator grades too, beside the
    pool's spawned processes (:class:`WorkerPool`) that a feeding thread keeps busy. A spawned worker pays
    about 1 s of CPU importing nbgrader and the grader (started early, beside the coordinator's set-up),
    then ~3.5 s starting its zygotes with its first student, which on 2 cores is time taken from the
    grading (benchmark rows 5b and 7b). It ends without module teardown (:mod:`.worker_process`), which the
    coordinator would wait for."""
    pending, lock = deque(jobs), threading.Lock()

    def next_job():
        with lock:
            return pending.popleft() if pending else None

    if pool.workers <= 1 or len(jobs) <= 1:
        while (job := next_job()) is not None:
            yield grade_student_with_course_cases(job)
        return
    executor = pool.start()
    finished = queue.Queue()   # futures of the spawned workers' jobs, then None when none is left

    def feed(running):
        while True:
            while len(running) < pool.workers - 1 and (job := next_job()) is not None:
                running.add(executor.submit(grade_student_with_course_cases, job))
            if not running:
                finished.put(None)
                return
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                finished.put(future)

    feeder = threading.Thread(target=feed, args=(set(),), name="feed-workers", daemon=True)
    feeder.start()
    fed_all = False
    while not fed_all:
        job = next_job()
        if job is not None:
            yield grade_student_with_course_cases(job)
        # What the workers finished meanwhile; once the coordinator has nothing left, wait for the rest.
        while not fed_all and (job is None or not finished.empty()):
            future = finished.get()
            fed_all = future is None
            if future is not None:
                yield future.result()
    feeder.join()


def _dask_results(jobs, scheduler):
    from distributed import Client, as_completed as dask_as_completed

    client = scheduler if hasattr(scheduler, "submit") else Client(scheduler)
    try:
        futures = [client.submit(grade_student_with_course_cases, job, key=f"grade-{job['student']}", pure=False) for job in jobs]
        for future in dask_as_completed(futures):
            yield future.result()
    finally:
        if client is not scheduler:
            client.close()


def grade_class(course_dir, assignment, workers=1, scheduler=None, students=None, progress=True, notes=None,
                allow_torch=(), run=None):
    """Grade every submitted student not already recorded; returns ``run`` (default: a new
    :class:`~grading.course.run_record.GradingRun`) with the students added to its ``graded``,
    ``unchanged`` (recorded by an earlier run) or ``problems``, a note of why a notebook could not
    run (graded all the same) added to ``notes``, and the path of nbgrader's full log of a failure
    (kept in ``logs/<assignment>/<student>.log``) in ``logs``.

    Refuses (:class:`.autograde.AssignmentNotTrusted`) an assignment with an autograded test cell
    that no trusted check scores, and (:class:`~grading.course.trusted_records.RecordsError`) a course
    whose ``.trusted-grading`` folder this grader did not make.

    ``scheduler``: a Dask scheduler address (or ``distributed.Client``) to run the jobs on
    instead of ``workers`` local processes; the course folder must then be on a file system
    the Dask workers share. ``notes``: ``{student: [what was repaired before grading]}``, shown at
    the top of the student's feedback. ``allow_torch``: names of NumPy checks whose student code may
    use torch in this run (:func:`.check_spec.with_torch_allowed`).
    """
    course_dir = Path(course_dir).resolve()
    students = submitted_students(course_dir, assignment) if students is None else list(students)
    with WorkerPool(workers if scheduler is None else 1) as pool:
        if len(_never_graded(course_dir, assignment, students)) > 1:
            pool.start()   # two students to grade at least: the workers' imports run beside the set-up below
        return _grade_jobs(course_dir, assignment, students, pool, scheduler, progress, notes, allow_torch, run)


def _never_graded(course_dir, assignment, students):
    """The students without a graded notebook, found without reading a record: they are graded in any case."""
    return [student for student in students if not graded_notebook(course_dir, assignment, student).is_file()]


def _grade_jobs(course_dir, assignment, students, pool, scheduler, progress, notes, allow_torch, run):
    from tqdm import tqdm

    check_assignment_is_trusted(course_dir, assignment)
    try:
        read_course_secret(course_dir)   # before any student: without it no trusted case can be drawn
    except MissingCourseSecret as error:
        raise CourseError(str(error)) from error
    protect_course(course_dir)
    work_root(course_dir)   # made by this grader, or refused (it could hold forged records)
    run = GradingRun() if run is None else run
    unchanged = [s for s in students if is_done(course_dir, assignment, s)]
    run.unchanged.extend(unchanged)
    for student in unchanged:
        note = recorded_note(course_dir, assignment, student)
        if note:
            run.notes.setdefault(student, []).append(note)
    todo = [s for s in students if s not in unchanged]
    if not todo:
        return run
    template = str(snapshot_gradebook(course_dir))
    jobs = [{"course_dir": str(course_dir), "assignment": assignment, "student": s, "template": template,
             "notes": list((notes or {}).get(s, [])), "allow_torch": list(allow_torch)} for s in todo]
    answers = _dask_results(jobs, scheduler) if scheduler is not None else _local_results(jobs, pool)
    with tqdm(total=len(jobs), desc=f"autograde {assignment}", unit="student", disable=not progress) as bar:
        for answer in answers:
            if answer["ok"]:
                try:
                    merge_student(course_dir, assignment, answer)
                    run.graded.append(answer["student"])
                    if answer.get("note"):
                        run.notes.setdefault(answer["student"], []).append(answer["note"])
                except Exception as error:  # noqa: BLE001 - one student's files never stop the class
                    run.problems[answer["student"]] = f"recording the grades failed: {type(error).__name__}: {error}"
            else:
                run.problems[answer["student"]] = answer["error"]
            if answer.get("log"):
                run.logs[answer["student"]] = keep_log(course_dir, assignment, answer["student"], answer["log"])
            bar.update(1)
    return run
