"""Feedback lines for the ways a sandboxed run can end without a usable result.

A table of rules, tried in order: the first whose ``applies(run)`` holds gives the line.
Each line names the problem and what the student can do about it.
"""
from dataclasses import dataclass
from typing import Callable

from .sandbox import GIB, MIB


@dataclass(frozen=True)
class Ending:
    kind: str
    applies: Callable
    message: Callable


ENDINGS = (
    Ending("time limit", lambda run, limits: run.timed_out,
           lambda run, limits: f"your code did not finish within {limits.wall_seconds:g} s (time limit): "
                               f"look for an endless loop or a very slow step"),
    Ending("cpu limit", lambda run, limits: run.signal_name == "SIGXCPU",
           lambda run, limits: f"your code used more than {limits.cpu_seconds} s of CPU time (limit)"),
    Ending("killed", lambda run, limits: run.signal_name is not None,
           lambda run, limits: f"the Python process running your code was killed by {run.signal_name} "
                               f"(limits: {limits.memory_bytes / GIB:g} GiB memory, "
                               f"{limits.processes} processes)"),
    Ending("disk limit", lambda run, limits: "[Errno 28] No space left on device" in run.stderr,
           lambda run, limits: f"your code filled its working area (disk limit {limits.disk_bytes / MIB:g} MiB: "
                               f"No space left on device), so no result could be written"),
    Ending("exited", lambda run, limits: True,
           lambda run, limits: f"the Python process running your code ended (exit status {run.returncode}) "
                               f"before reporting a result: do not call sys.exit(), exit(), quit() or "
                               f"os._exit() in your code"),
)


TIME_LIMIT_KINDS = ("time limit", "cpu limit")   # the endings of code that was too slow


def ending_without_result(run, limits):
    """``(kind, feedback line)`` for a run that left no usable status."""
    for ending in ENDINGS:
        if ending.applies(run, limits):
            return ending.kind, ending.message(run, limits)
    raise AssertionError("the last rule always applies")


def explain_case_error(message, limits):
    """The student side's error text, with the limit named when a limit caused it."""
    if message.startswith("MemoryError"):
        return f"{message} (memory limit {limits.memory_bytes / GIB:g} GiB)"
    if message.startswith("SystemExit"):
        return f"{message} (do not call sys.exit(), exit() or quit() in your code)"
    if message.startswith(("BlockingIOError", "RuntimeError: can't start new thread")):
        return f"{message} (process limit {limits.processes})"
    return message
