"""One thread policy for the course's small matrix products: one BLAS thread and one PyTorch
thread, unless the user asks for more.

The products of the labs are small (a batch of 30 against a [13989, 20] weight): a second
thread saves little even on an idle machine, and on a shared one a two-thread product waits for
a busy core (a forward pass measured 8.0 ms at two threads against 1.8 ms at one, load 2.2).
The training loop (:func:`backprop_labs.training.train`), the grader's calls of the student's
code and the benchmark units all run under :func:`small_products`, so both sides of every
measured ratio use the same threads.

A library loaded inside the block (a first ``import scipy.linalg``) is limited from the next
block on. More threads: ``small_products(threads=N)``, or the environment variable ``BACKPROP_LABS_THREADS=N``
(``python -m bench --threads N`` sets it, so child processes follow it too).
"""
import os
import sys
from contextlib import contextmanager

THREADS_VARIABLE = "BACKPROP_LABS_THREADS"
DEFAULT_THREADS = 1
# Read by the libraries when they start their thread pools: they reach code that runs outside the
# policy in a child process (a notebook kernel, nbgrader).
LIBRARY_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

_controller = None
_modules_seen = 0


def requested_threads(threads=None):
    """``threads`` if given, else ``$BACKPROP_LABS_THREADS``, else 1."""
    if threads is None:
        value = os.environ.get(THREADS_VARIABLE, "").strip()
        if not value:
            return DEFAULT_THREADS
        try:
            threads = int(value)
        except ValueError:
            raise ValueError(f"{THREADS_VARIABLE}={value!r} is not a whole number of threads") from None
    if threads < 1:
        raise ValueError(f"the number of threads must be at least 1, got {threads}")
    return threads


def _blas():
    """A threadpoolctl controller of the BLAS libraries loaded now. Finding them costs about a
    millisecond, more than some of the products it limits, so it is found again only after new
    modules were imported (SciPy and PyTorch bring BLAS libraries of their own)."""
    global _controller, _modules_seen
    if _controller is None or len(sys.modules) != _modules_seen:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController().select(user_api="blas")
        _modules_seen = len(sys.modules)
    return _controller


@contextmanager
def small_products(threads=None):
    """BLAS (every BLAS library loaded, through threadpoolctl) and PyTorch's intra-op pool limited to
    :func:`requested_threads` threads meanwhile; restored afterwards. (PyTorch is imported here
    even for NumPy code: ``backprop_labs`` imports it anyway, and a PyTorch imported later inside
    the block would start with a thread per core.)"""
    import torch

    threads = requested_threads(threads)
    before = torch.get_num_threads()
    if before != threads:
        torch.set_num_threads(threads)
    # Each BLAS library set and restored directly (threadpoolctl's limit() does the same, at about
    # 20 µs a block: as much as a forward pass of the digits lab's network, and the grader opens one
    # per check); only the libraries not at ``threads`` already are touched.
    changed = []
    try:
        for library in _blas().lib_controllers:
            current = library.num_threads
            if current != threads:
                library.set_num_threads(threads)
                changed.append((library, current))
        yield threads
    finally:
        for library, current in reversed(changed):
            library.set_num_threads(current)
        if before != threads:
            torch.set_num_threads(before)


def ask_child_processes_for(threads):
    """Make every child process started from now on use ``threads`` threads: the policy's variable
    and the libraries' own (this process's pools are set by :func:`small_products`)."""
    threads = requested_threads(threads)
    os.environ[THREADS_VARIABLE] = str(threads)
    for name in LIBRARY_THREAD_VARIABLES:
        os.environ[name] = str(threads)
