"""How a spawned grading worker starts and ends (see :mod:`.parallel`).

A worker process imports this module before anything else (it holds the pool's initializer), so
this module stays light: the exit handler it registers then runs after every handler that the
grading registers later (temporary folders, ZeroMQ, PyTorch).
"""
import atexit
import logging
import os
import sys

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def start_worker():
    """Pool initializer: die with the coordinator, and leave without module teardown at the end."""
    die_with_coordinator()
    atexit.register(leave_without_teardown)


def die_with_coordinator():
    """The kernel kills this worker when the coordinator dies (even by SIGKILL), so a dead run never goes
    on grading queued students."""
    import ctypes
    import signal

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() == 1:  # the coordinator died before the setting took effect
        os._exit(1)


def leave_without_teardown():
    """The worker's last exit handler: every job has returned (its files written and closed, its answer
    sent) and the handlers registered after this one have run; end the process now. A spawned worker
    otherwise ends with ``sys.exit``, whose module teardown frees PyTorch, nbgrader and SQLAlchemy object by
    object: about 1.1 s of CPU that the coordinator waits for at the end of every run on 2 or more workers.
    Its zygotes end when its pipes close, as after any exit."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(0)
