"""nbgrader's in-kernel autograde with the notebook kernel inside the sandbox.

nbgrader executes each submitted notebook in a Jupyter kernel; by default that kernel is
an ordinary process of the grader (root here), which the student's cells could use to
edit the gradebook, the installed packages or other students' work. A course job sets::

    c.Execute.kernel_manager_class = "grading.sandbox.kernel.SandboxedKernelManager"

and every kernel then starts through :func:`launch`: the kernel's usual command runs in
the sandbox (own uid, no network, resource limits, course and repository hidden except
the venv, ``backprop_labs``, ``grading`` and the data directory), in a copy of the
notebook's folder. Kernel and grader talk over Unix sockets (ZeroMQ ``ipc`` transport) in a
folder under ``/run`` that only the kernel's user and root can enter, since a kernel without
network cannot reach the grader's TCP ports.
"""
import json
import os
import shutil
import signal
import sys
import uuid
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import CaselessStrEnum

from backprop_labs.paths import REPOSITORY_ROOT, data_directory

from .limits import GIB, Limits

SOCKETS_ROOT = Path("/run/backprop-labs-kernels")
CONNECTION_FILE = "kernel.json"
# A whole notebook runs in one kernel: nbgrader's per-cell timeout bounds each cell.
KERNEL_LIMITS = Limits(wall_seconds=3 * 3600, cpu_seconds=3600, memory_bytes=8 * GIB, processes=128)
_BOOT = ("import sys; sys.path.insert(0, {root!r}); "
         "from grading.sandbox.kernel import launch; sys.exit(launch(sys.argv[1:]))")


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels run in the sandbox and talk over Unix sockets."""

    transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

    def _ip_default(self):
        folder = SOCKETS_ROOT / uuid.uuid4().hex
        SOCKETS_ROOT.mkdir(mode=0o711, exist_ok=True)
        folder.mkdir(mode=0o700)
        return str(folder / "kernel")

    def cleanup_ipc_files(self):
        """Remove the sockets and the kernel's socket folder."""
        super().cleanup_ipc_files()
        shutil.rmtree(Path(self.ip).parent, ignore_errors=True)

    def format_kernel_cmd(self, extra_arguments=None):
        command = super().format_kernel_cmd(extra_arguments)
        return [sys.executable, "-c", _BOOT.format(root=str(REPOSITORY_ROOT)), *command]


def _course_folders(folder):
    """The folder's ancestors that are nbgrader course folders (a job's and the course's)."""
    return [path for path in [folder, *folder.parents] if (path / "gradebook.db").exists()]


def launch(command):
    """Run the kernel ``command`` (``... -f CONNECTION_FILE ...``) in the sandbox until it exits.

    Runs as root, started by the kernel manager. Interrupts and termination signals sent
    to this process are passed on to the kernel.
    """
    position = command.index("-f") + 1
    connection = json.loads(Path(command[position]).read_text())
    sockets = Path(connection["ip"]).parent
    command = [*command[:position], f".grader/{CONNECTION_FILE}", *command[position + 1:]]
    cwd = Path.cwd()

    def hand_over_sockets(slot):
        os.chown(sockets, slot.uid, slot.gid)

    def forward_signals(process):
        def forward(signum, frame):
            try:
                os.killpg(process.pid, signum)
            except ProcessLookupError:
                pass
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, forward)

    from .runner import run_sandboxed

    run = run_sandboxed(
        command, submission=cwd, grader_files={CONNECTION_FILE: json.dumps(connection).encode()},
        limits=KERNEL_LIMITS, hidden=_course_folders(cwd),
        extra_kept=[REPOSITORY_ROOT / "grading", data_directory()],
        extra_env={"BACKPROP_LABS_DATA": str(data_directory())},
        prepare=hand_over_sockets, started=forward_signals)
    if run.setup_failed:
        print(f"sandboxed kernel could not start: {run.setup_error}", file=sys.stderr)
    sys.stderr.write(run.stderr[-2000:])
    return 0 if run.returncode == 0 else 1
