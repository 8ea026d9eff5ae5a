"""nbgrader's in-kernel autograde with the notebook kernel inside the sandbox.

nbgrader executes each submitted notebook in a Jupyter kernel; by default that kernel is
an ordinary process of the grader (root here), which the student's cells could use to
edit the gradebook, the installed packages or other students' work. A course job sets::

    c.Execute.kernel_manager_class = "grading.trusted.sandbox.kernel.SandboxedKernelManager"

and every kernel then starts through :func:`grading.trusted.sandbox.kernel_launch.launch`: the kernel's usual command runs in
the sandbox (own uid, no network, resource limits, course and repository hidden except
the venv, ``backprop_labs``, ``grading`` and the data directory), in a copy of the
notebook's folder. Kernel and grader talk over Unix sockets (ZeroMQ ``ipc`` transport) in a
folder under ``/run`` that only the kernel's user and root can enter, since a kernel without
network cannot reach the grader's TCP ports.

The kernel is forked from this grading process's kernel zygote (:mod:`grading.trusted.sandbox.zygote`,
socket mode, the socket in a root-only folder), which has imported ipykernel, numpy and torch
once: about 1 s of CPU saved per notebook. The fork enters the sandbox by the same steps and
gets the ``sys.path`` a fresh ``python -m ipykernel_launcher`` would have.
"""
import atexit
import shutil
import sys
import uuid
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import CaselessStrEnum

from backprop_labs.paths import REPOSITORY_ROOT

SOCKETS_ROOT = Path("/run/backprop-labs-kernels")
# The launcher imports only kernel_launch (not jupyter_client): it starts once per notebook.
_BOOT = ("import sys; sys.path.insert(0, {root!r}); "
         "from grading.trusted.sandbox.kernel_launch import launch; sys.exit(launch(sys.argv[2:], sys.argv[1]))")
# Imported once per grading process by the kernel zygote; each kernel is forked from it.
KERNEL_WARM_MODULES = ("ipykernel.kernelapp", "ipykernel.ipkernel", "numpy", "torch")
_kernel_zygote = {}  # this process's: {"path": socket path, "process": Popen}


def kernel_zygote_path():
    """The socket of this process's kernel zygote (started on first use), or "" if it cannot start."""
    from .runner import zygote_environment
    from .zygote import SocketZygote, ZygoteError

    process = _kernel_zygote.get("process")
    if process is not None and process.poll() is None:
        return _kernel_zygote["path"]
    folder = SOCKETS_ROOT / f"zygote-{uuid.uuid4().hex}"
    SOCKETS_ROOT.mkdir(mode=0o711, exist_ok=True)
    folder.mkdir(mode=0o700)  # root only: whoever reaches the socket chooses whom a run runs as
    try:
        _, process = SocketZygote.serve(folder / "socket", KERNEL_WARM_MODULES, zygote_environment())
    except ZygoteError:
        shutil.rmtree(folder, ignore_errors=True)
        return ""
    _kernel_zygote.update(path=str(folder / "socket"), process=process)
    atexit.register(shutil.rmtree, folder, True)
    return _kernel_zygote["path"]


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

    async def _async_finish_shutdown(self, waittime=None, pollinterval=0.1, restart=False):
        """End the kernel at once instead of waiting for it to tidy up (about 0.6 s per notebook).

        Nothing the kernel could still do counts: every output has reached the client, and the
        sandbox's working copy is thrown away. SIGTERM goes to the launcher, which passes
        it on to the kernel and then removes the sandbox as after any run.
        """
        if not restart:
            await self._async_send_kernel_sigterm()
        await super()._async_finish_shutdown(waittime, pollinterval=0.02, restart=restart)

    def format_kernel_cmd(self, extra_arguments=None):
        command = super().format_kernel_cmd(extra_arguments)
        return [sys.executable, "-c", _BOOT.format(root=str(REPOSITORY_ROOT)), kernel_zygote_path(), *command]
