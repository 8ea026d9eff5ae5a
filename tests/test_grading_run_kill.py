"""A SIGKILLed grading run leaves nothing behind, and running it again gives the grades of an
uninterrupted run."""
import csv
import os
import signal
import subprocess
import sys
import time

import pytest

COORDINATOR = """
import os, sys, time, multiprocessing
from concurrent.futures import ProcessPoolExecutor
from grading.trusted.worker_process import die_with_coordinator

def busy_job(_):  # a student being graded: it would go on for minutes
    print(os.getpid(), flush=True)
    time.sleep(600)

if __name__ == "__main__":
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=die_with_coordinator) as pool:
        pool.submit(busy_job, 0).result()
"""


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


def test_workers_die_when_the_coordinator_is_killed(tmp_path):
    script = tmp_path / "coordinator.py"
    script.write_text(COORDINATOR)
    coordinator = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    worker = int(coordinator.stdout.readline())
    assert _alive(worker)
    coordinator.send_signal(signal.SIGKILL)
    coordinator.wait()
    for _ in range(600):  # the kernel sends the death signal at once; a loaded machine may be slow to show it
        if not _alive(worker):
            break
        time.sleep(0.1)
    assert not _alive(worker)


WORKER_EXIT = """
import atexit, multiprocessing, os, sys, tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from grading.trusted.worker_process import start_worker

class TornDown:   # kept to the end of the process: only module teardown would call __del__
    def __init__(self, folder):
        self.file = os.open(os.path.join(folder, "torn down"), os.O_WRONLY | os.O_CREAT)

    def __del__(self, write=os.write):   # bound now: teardown clears the modules' names
        write(self.file, b"teardown ran")

def job(folder):
    global kept, scratch
    kept = TornDown(folder)
    scratch = tempfile.TemporaryDirectory(dir=folder)   # cleaned by a finalizer at exit
    atexit.register(Path(folder, "exit handler").write_text, "ran")
    return scratch.name

if __name__ == "__main__":
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=start_worker) as pool:
        print(pool.submit(job, sys.argv[1]).result())
"""


def test_a_worker_runs_the_exit_handlers_of_its_jobs_and_skips_module_teardown(tmp_path):
    """A spawned worker's own end (start_worker): what its jobs registered to run at exit runs (a handler, a
    temporary folder's clean-up); the module teardown, about 1.1 s of CPU the coordinator waits for, does not."""
    script, folder = tmp_path / "coordinator.py", tmp_path / "out"
    script.write_text(WORKER_EXIT)
    folder.mkdir()
    result = subprocess.run([sys.executable, str(script), str(folder)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (folder / "exit handler").read_text() == "ran"
    assert not os.path.exists(result.stdout.strip()), "the job's temporary folder was left behind"
    assert (folder / "torn down").read_bytes() == b"", "the worker tore its modules down"


# ----------------------------------------------------------------- a killed run's leftovers and re-runs

def test_a_new_run_ends_what_a_killed_run_left_and_refuses_while_one_is_alive(tmp_path):
    import json

    from grading.course.pipeline import CourseError
    from grading.trusted.autograde import work_root
    from grading.trusted.parallel import RUN_MARKER, _started, claim_course
    from grading.trusted.sandbox.runner import RUN_TAG_VARIABLE

    marker = work_root(tmp_path) / RUN_MARKER
    # a killed run: its coordinator's pid now names another process (this one), a zygote it started is still up
    marker.write_text(json.dumps({"pid": os.getpid(), "started": -1, "tag": "killed-run"}))
    leftover = subprocess.Popen(["sleep", "600"], env={RUN_TAG_VARIABLE: "killed-run"})
    bystander = subprocess.Popen(["sleep", "600"], env={RUN_TAG_VARIABLE: "another-run"})
    with claim_course(tmp_path):
        assert leftover.wait(timeout=60) == -signal.SIGKILL
        assert bystander.poll() is None                            # another course's run is left alone
        assert json.loads(marker.read_text())["pid"] == os.getpid()
        assert os.environ[RUN_TAG_VARIABLE] == json.loads(marker.read_text())["tag"]
    bystander.kill()
    bystander.wait()
    assert not marker.exists() and RUN_TAG_VARIABLE not in os.environ
    marker.write_text(json.dumps({"pid": os.getpid(), "started": _started(os.getpid()), "tag": "alive"}))
    with pytest.raises(CourseError, match=f"another grading run \\(process {os.getpid()}\\) is grading"):
        with claim_course(tmp_path):
            pass


def _processes():
    """{pid: (parent pid, start ticks)} of every process."""
    table = {}
    for name in os.listdir("/proc"):
        try:
            with open(f"/proc/{name}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            table[int(name)] = (int(fields[1]), int(fields[19]))
        except (OSError, ValueError):
            pass
    return table


def _descendants(pid):
    """{pid: start ticks} of the processes below ``pid`` (a start time tells a reused pid apart)."""
    table, found, frontier = _processes(), {}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, (ppid, started) in table.items():
            if ppid == parent and child not in found:
                found[child] = started
                frontier.append(child)
    return found


def _sandbox_uids():
    import pwd

    from grading.trusted.sandbox.accounts import USER_PREFIX

    return {entry.pw_uid for entry in pwd.getpwall() if entry.pw_name.startswith(USER_PREFIX)}


def _uid(pid):
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None


def _grade(course, csv):
    return subprocess.Popen([sys.executable, "-m", "grading.cli", "grade", str(course), "backprop_mlp",
                             "--csv", str(csv), "--workers", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_for(event, command):
    """Until ``event()`` is true once (it may be a moment: a sandboxed check's process ends soon after)."""
    deadline = time.monotonic() + 600  # a deadline against a hang, not a guess of when the event comes
    while command.poll() is None and time.monotonic() < deadline:
        if event():
            return
        time.sleep(0.05)
    assert event(), f"the run ended (status {command.returncode}) or hung before the kill point"


@pytest.mark.slow
def test_a_run_killed_at_any_point_and_run_again_grades_as_an_uninterrupted_run(tmp_path):
    """SIGKILL `backprop-labs grade` once the run has claimed the course, while the first
    student's sandboxed code runs, and once a student is recorded; each time the next run
    ends what the killed one left and goes on; the last completes. Grades and per-cell grades
    equal those of an uninterrupted run, and nothing of a killed run is left. One worker: the
    students are graded one after the other, so the last kill comes between them (pool workers
    dying with the coordinator: the test above)."""
    import shutil

    from grading.course.trusted_records import RECORDS
    from grading.trusted.parallel import RUN_MARKER
    from trusted_class import build_demo_class

    students = ["s00_honest", "s01_stub"]
    course = build_demo_class(tmp_path / "killed", [student.split("_", 1)[1] for student in students])
    reference = tmp_path / "uninterrupted"
    shutil.copytree(course, reference, symlinks=True)  # the same collected submissions, timestamps included
    uninterrupted = _grade(reference, tmp_path / "uninterrupted.csv")
    records = course / RECORDS

    def recorded():
        return len(list(records.glob("*/*.json"))) if records.is_dir() else 0

    seen = {}   # the snapshot in which sandboxed code was seen: a check's process may end a moment later

    def runs_sandboxed_code(command):
        descendants = _descendants(command.pid)
        seen["snapshot"] = (descendants, {pid: _uid(pid) for pid in descendants})
        return any(owner in _sandbox_uids() for owner in seen["snapshot"][1].values())

    kill_points = [lambda command: (course / ".trusted-grading" / RUN_MARKER).exists(),  # the run claimed the course
                   runs_sandboxed_code,                                 # a kernel or check of the first students
                   lambda command: recorded() > 0]                      # a student is recorded
    killed, sandboxed = {}, set()
    for reached in kill_points:
        command = _grade(course, tmp_path / "killed.csv")
        seen.clear()
        _wait_for(lambda: reached(command), command)
        left = _descendants(command.pid)
        owners = {pid: _uid(pid) for pid in left}   # read before the kill: a killed process's /proc entry goes
        if reached is runs_sandboxed_code:
            left = {**seen["snapshot"][0], **left}
            owners = {**owners, **seen["snapshot"][1]}
        command.kill()
        command.wait()
        killed.update(left)
        sandboxed.update(pid for pid, owner in owners.items() if owner in _sandbox_uids())
    assert sandboxed, "no kill came while sandboxed code ran"
    assert recorded() < len(students), "the last kill came after the whole class was recorded"
    assert _grade(course, tmp_path / "killed.csv").wait() == 0
    assert uninterrupted.wait() == 0

    for suffix in (".csv", "-cells.csv"):   # no grade lost or duplicated, none different
        assert (tmp_path / f"killed{suffix}").read_text() == (tmp_path / f"uninterrupted{suffix}").read_text()
    with open(tmp_path / "killed.csv", newline="") as handle:
        assert sorted(row["student_id"] for row in csv.DictReader(handle)) == students
    assert all((course / "feedback" / student / "backprop_mlp" / "backprop_mlp.html").is_file() for student in students)
    table = _processes()
    assert [pid for pid, started in killed.items() if table.get(pid, (0, 0))[1] == started and _alive(pid)] == []
