"""Start one notebook kernel in the sandbox: the launcher the sandboxed kernel manager runs.

:class:`grading.trusted.sandbox.kernel.SandboxedKernelManager` starts ``python -c <boot> KERNEL
COMMAND``; the boot code imports this module (stdlib and :mod:`grading.trusted.sandbox` only, no
jupyter_client, since it runs once per notebook) and calls :func:`launch`.
"""
import json
import os
import select
import signal
import sys
import threading
from pathlib import Path

from backprop_labs.paths import REPOSITORY_ROOT, data_directory

from .limits import GIB, Limits

CONNECTION_FILE = "kernel.json"
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
# A whole notebook runs in one kernel: nbgrader's per-cell timeout bounds each cell, and the
# kernel's wall clock bounds the notebook (an endless loop in every cell would otherwise hold a
# worker for cells x timeout). Configurable per grading run by environment variable.
NOTEBOOK_SECONDS_VARIABLE = "BACKPROP_LABS_NOTEBOOK_SECONDS"
DEFAULT_NOTEBOOK_SECONDS = 300
KERNEL_LIMITS = Limits(wall_seconds=DEFAULT_NOTEBOOK_SECONDS, cpu_seconds=3600, memory_bytes=8 * GIB,
                       processes=128, disk_bytes=GIB)


def kernel_limits():
    """:data:`KERNEL_LIMITS` with the notebook's wall-clock budget from the environment, if set."""
    from dataclasses import replace

    value = os.environ.get(NOTEBOOK_SECONDS_VARIABLE, "")
    try:
        seconds = float(value) if value else DEFAULT_NOTEBOOK_SECONDS
    except ValueError:
        raise ValueError(f"{NOTEBOOK_SECONDS_VARIABLE}={value!r} is not a number of seconds") from None
    return replace(KERNEL_LIMITS, wall_seconds=seconds)


def _course_folders(folder):
    """The folder's ancestors that are nbgrader course folders (a job's and the course's)."""
    return [path for path in [folder, *folder.parents] if (path / "gradebook.db").exists()]


def _manager_process():
    """A pidfd of the kernel manager's process (jupyter_client names it in ``JPY_PARENT_PID``),
    readable once it ended; exits at once if it already has."""
    parent = int(os.environ.get("JPY_PARENT_PID") or os.getppid())
    try:
        manager = os.pidfd_open(parent)
    except ProcessLookupError:
        manager = None
    if manager is None or os.getppid() != parent:  # ended before this launcher looked (its pid may be reused)
        sys.exit("the kernel manager's process has ended: no kernel started")
    return manager


def launch(command, zygote_path=""):
    """Run the kernel ``command`` (``... -f CONNECTION_FILE ...``) in the sandbox until it exits.

    Runs as root, started by the kernel manager. Interrupts and termination signals sent
    to this process are passed on to the kernel; the kernel is killed when the manager's
    process ends (a grading worker killed with its run: nothing of a dead run goes on).
    ``zygote_path``: the socket of the zygote the manager leased, which forks the kernel with
    ipykernel, numpy and torch already imported ("" or unreachable: a fresh python).
    """
    position = command.index("-f") + 1
    connection = json.loads(Path(command[position]).read_text())
    sockets = Path(connection["ip"]).parent
    command = [*command[:position], f".grader/{CONNECTION_FILE}", *command[position + 1:]]
    cwd = Path.cwd()
    run_limits = kernel_limits()

    def hand_over_sockets(slot):
        os.chown(sockets, slot.uid, slot.gid)

    manager = _manager_process()

    def forward_signals(process):
        def forward(signum, frame):
            try:
                os.killpg(process.pid, signum)
            except ProcessLookupError:
                pass
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, forward)

        def end_with_manager():
            select.select([manager], [], [])
            process.kill()  # the run's first process: the whole run ends with it
        threading.Thread(target=end_with_manager, daemon=True).start()

    from .runner import SandboxRequest, run_sandboxed

    run = run_sandboxed(SandboxRequest(
        command, submission=cwd, grader_files={CONNECTION_FILE: json.dumps(connection).encode()},
        limits=run_limits, hidden=_course_folders(cwd),
        extra_kept=[REPOSITORY_ROOT / "grading", data_directory()], extra_writable=[sockets],
        # The sandbox sets MPLBACKEND=Agg for its scripts; a notebook kernel needs the inline backend,
        # which ipykernel only picks when MPLBACKEND is unset, or its figures never reach the notebook.
        extra_env={"BACKPROP_LABS_DATA": str(data_directory()), "MPLBACKEND": INLINE_BACKEND},
        prepare=hand_over_sockets, started=forward_signals,
        zygote=zygote_path or None))
    if run.setup_failed:
        print(f"sandboxed kernel could not start: {run.setup_error}", file=sys.stderr)
    if run.timed_out:
        print(f"the notebook used up its time budget of {run_limits.wall_seconds:g} s "
              f"({NOTEBOOK_SECONDS_VARIABLE}); the kernel was stopped", file=sys.stderr)
    sys.stderr.write(run.stderr[-2000:])
    return 0 if run.returncode == 0 else 1
