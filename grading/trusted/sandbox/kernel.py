"""nbgrader's in-kernel autograde with the notebook kernel inside the sandbox.

nbgrader executes each submitted notebook in a Jupyter kernel; by default that kernel is
an ordinary process of the grader (root here), which the student's cells could use to
edit the gradebook, the installed packages or other students' work. The course's config sets, whenever
nbgrader runs as root (``grading.course.config.SANDBOXED_KERNEL_MANAGER``)::

    c.Execute.kernel_manager_class = "grading.trusted.sandbox.kernel.SandboxedKernelManager"

and every kernel then starts through :func:`grading.trusted.sandbox.kernel_launch.launch`: the kernel's usual command runs in
the sandbox (own uid, no network, resource limits, course and repository hidden except
the venv, ``backprop_labs``, ``grading`` and the data directory), in a copy of the
notebook's folder. Kernel and grader talk over Unix sockets (ZeroMQ ``ipc`` transport) in a
folder under ``/run`` that only the kernel's user and root can enter, since a kernel without
network cannot reach the grader's TCP ports.

The kernel is forked from a zygote of the grading process (:mod:`grading.trusted.sandbox.zygote`)
that has imported ipykernel, numpy and torch once: about 1 s of CPU saved per notebook. The
kernel manager leases it for its kernel's life (kernels started side by side get a zygote each)
and passes its socket to the launcher. The fork enters the sandbox by the same steps and gets
the ``sys.path`` a fresh ``python -m ipykernel_launcher`` would have. The launcher ends the
kernel when the grading process ends, even by SIGKILL.
"""
import shutil
import sys
import uuid
import weakref
from contextlib import ExitStack
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
KERNEL_COMMAND = ["python", "-m", "ipykernel_launcher"]


def leased_kernel_zygote():
    """The socket of an idle kernel zygote of this process, held for the block (None: none could start)."""
    from .runner import leased_zygote, zygote_flags

    return leased_zygote(KERNEL_WARM_MODULES, zygote_flags(KERNEL_COMMAND))


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels run in the sandbox and talk over Unix sockets."""

    transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)
    _zygote = None   # holds the leased zygote (an ExitStack) from the kernel's start to its shutdown

    def _ip_default(self):
        folder = SOCKETS_ROOT / uuid.uuid4().hex
        SOCKETS_ROOT.mkdir(mode=0o711, exist_ok=True)
        folder.mkdir(mode=0o700)
        return str(folder / "kernel")

    def cleanup_ipc_files(self):
        """Remove the sockets and the kernel's socket folder."""
        super().cleanup_ipc_files()
        shutil.rmtree(Path(self.ip).parent, ignore_errors=True)

    async def _async_cleanup_resources(self, restart=False):
        await super()._async_cleanup_resources(restart=restart)
        if not restart and self._zygote is not None:  # the launcher has ended: the zygote is free
            self._zygote.close()
            self._zygote = None

    def _zygote_path(self):
        """The socket of the zygote this manager holds for its kernel ("" if none could start)."""
        if self._zygote is None:
            self._zygote = ExitStack()
            self._zygote_socket = self._zygote.enter_context(leased_kernel_zygote()) or ""
            weakref.finalize(self, self._zygote.close)  # given back also if the kernel is never shut down
        return self._zygote_socket

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
        return [sys.executable, "-c", _BOOT.format(root=str(REPOSITORY_ROOT)), self._zygote_path(), *command]
