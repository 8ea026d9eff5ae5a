"""End a process without the garbage collector's last passes over every object it holds.

After the exit handlers, Python tears the modules down and collects what is left: in a process that
has imported PyTorch, nbgrader and SQLAlchemy, about 0.5 s of CPU spent at the end of every
``backprop-labs`` command and every grading run. Objects frozen by :func:`gc.freeze` are left out
of those passes. Every exit handler and finalizer still runs, and whatever references free is still
freed; only objects kept alive by reference cycles are left to the operating system, as Python
never promised to finalize them at exit.
"""
import atexit
import gc

_registered = False


def freeze_at_exit():
    """Freeze every object at exit, before the teardown (once per process, however often it is asked)."""
    global _registered
    if not _registered:
        atexit.register(gc.freeze)
        _registered = True
