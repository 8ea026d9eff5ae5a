"""A SIGKILLed coordinator leaves no grading worker behind."""
import signal
import subprocess
import sys
import time

COORDINATOR = """
import os, sys, time, multiprocessing
from concurrent.futures import ProcessPoolExecutor
from grading.trusted.parallel import die_with_coordinator

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
