"""Grading on a real Dask cluster: ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1
(separate OS processes started from the installed ``dask`` command, the course folder shared through
this machine's file system) grade a class through ``backprop-labs grade --dask-scheduler``, and the
grade files say what a one-worker run of the same class says.

The in-process ``LocalCluster`` test (``tests/test_trusted_grading.py``) spawns its workers from the
test process, so they inherit its ``sys.path`` and state; these workers start as an instructor
starts them, and the grading command runs in its own process too. Every process is ended by the
fixture, whatever the test did; every wait is bounded, by limits far above what a loaded machine
needs, and no assertion is about time.
"""
import csv
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grading.cli import main
from trusted_class import build_demo_class

pytestmark = [
    pytest.mark.slow, pytest.mark.corpus,
    pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox's isolation needs root (CI runs as root)"),
]
ASSIGNMENT = "backprop_mlp"
KINDS = ["honest", "sigmoid_only", "stub", "cheat"]
WORKERS = 2
BIN = Path(sys.executable).parent            # the venv's commands: dask, backprop-labs
START_SECONDS = 300     # upper bounds for a loaded machine, not guesses of the time: we poll
GRADE_SECONDS = 1800
STOP_SECONDS = 60


@pytest.fixture(scope="module")
def built(tmp_path_factory, books):
    """The class built once; each run grades its own copy of the course folder."""
    return build_demo_class(tmp_path_factory.mktemp("dask-class"), KINDS)


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start(command, log_path, cwd):
    """A process in a session of its own (its whole tree ends with its process group), output to a log."""
    with open(log_path, "wb") as log:
        return subprocess.Popen(command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(process):
    """SIGTERM to the process group (Dask's clean shutdown), SIGKILL if it is still there after a while."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=STOP_SECONDS)
            return
        except subprocess.TimeoutExpired:
            continue
    process.wait()


def _logs(paths):
    return "\n".join(f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}" for path in paths)


def _wait_for_workers(address, count, processes, logs):
    """Block until ``count`` workers are connected to the scheduler at ``address``; fail with the
    processes' logs if one exits or they are not all there after :data:`START_SECONDS`."""
    from distributed import Client

    deadline = time.monotonic() + START_SECONDS
    while True:
        exited = [process.args for process in processes if process.poll() is not None]
        assert not exited, f"exited: {exited}\n{_logs(logs)}"
        assert time.monotonic() < deadline, f"{count} Dask workers not connected\n{_logs(logs)}"
        try:
            with Client(address, timeout=10) as client:
                client.wait_for_workers(count, timeout=10)
                return
        except (OSError, TimeoutError):  # the scheduler not listening yet, or workers still starting
            time.sleep(1)  # the polling interval


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """``dask scheduler`` and ``WORKERS`` ``dask worker`` processes (one thread each) on 127.0.0.1;
    the scheduler's address."""
    folder = tmp_path_factory.mktemp("dask-cluster")
    address = f"tcp://127.0.0.1:{_free_port()}"
    logs = [folder / "scheduler.log", *(folder / f"worker-{index}.log" for index in range(WORKERS))]
    processes = []
    try:
        processes.append(_start([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1",
                                 "--port", address.rsplit(":", 1)[1], "--no-dashboard"], logs[0], folder))
        for index in range(WORKERS):
            processes.append(_start([str(BIN / "dask"), "worker", address, "--name", f"worker-{index}",
                                     "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
                                     "--local-directory", str(folder / f"worker-{index}")], logs[1 + index], folder))
        _wait_for_workers(address, WORKERS, processes, logs)
        yield address, logs
    finally:
        for process in reversed(processes):  # the workers first: they would wait for a lost scheduler
            _stop(process)


def _copy(built, folder):
    course = folder / "course"
    shutil.copytree(built, course, symlinks=True)
    return course


def _grade_files(course):
    """``({student: score}, {student: {cell: score}})`` from the run's grade files."""
    def rows(name):
        with open(course / "grades" / name, encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))

    scores = {row["student_id"]: float(row["score"]) for row in rows(f"{ASSIGNMENT}.csv")}
    cells = {}
    for row in rows(f"{ASSIGNMENT}-cells.csv"):
        cells.setdefault(row["student_id"], {})[row["cell"]] = float(row["score"])
    return scores, cells


def _executed(address):
    """``{worker name: tasks it ran}``."""
    from distributed import Client

    with Client(address, timeout=60) as client:
        counts = client.run(lambda dask_worker: (dask_worker.name, dask_worker.state.executed_count))
    return dict(counts.values())


def test_a_dask_cluster_gives_the_same_grades_as_one_worker(built, cluster, tmp_path):
    address, logs = cluster
    one = _copy(built, tmp_path / "one")
    assert main(["grade", str(one), ASSIGNMENT, "--workers", "1"]) == 0
    expected = _grade_files(one)
    students = [f"s{index:02d}_{kind}" for index, kind in enumerate(KINDS)]
    assert sorted(expected[0]) == students
    assert expected[0]["s00_honest"] == 10.0 and 0.0 < expected[0]["s01_sigmoid_only"] < 10.0
    assert expected[0]["s02_stub"] == expected[0]["s03_cheat"] == 0.0

    on_dask = _copy(built, tmp_path / "dask")
    # The command as an instructor runs it, in a process of its own (cwd elsewhere: paths are absolute).
    completed = subprocess.run([str(BIN / "backprop-labs"), "grade", str(on_dask), ASSIGNMENT,
                                "--dask-scheduler", address], cwd=tmp_path, capture_output=True, text=True,
                               timeout=GRADE_SECONDS)
    assert completed.returncode == 0, f"{completed.stdout}\n{completed.stderr}\n{_logs(logs)}"
    assert f"graded {len(students)} with the trusted checks" in completed.stdout
    assert _grade_files(on_dask) == expected
    for student in students:
        assert (on_dask / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html").is_file()
    # Both workers graded: each was idle, with one thread, when the jobs were submitted.
    executed = _executed(address)
    assert sorted(executed) == [f"worker-{index}" for index in range(WORKERS)]
    assert all(count >= 1 for count in executed.values()) and sum(executed.values()) >= len(students), executed
