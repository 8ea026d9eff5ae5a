"""Measurements that need a process of their own: ``python -m bench.<module> ARGS`` prints JSON.

A fresh process gives a load its own peak memory, and a library its own thread pool:
NumPy's OpenBLAS threads and PyTorch's OpenMP threads, alternating in one process, keep
spinning for each other's cores and slow both down.
"""
import json
import subprocess
import sys

from .settings import REPOSITORY_ROOT


def run_child(module, *arguments, timeout=600):
    """Run ``python -m module arguments`` from the repository root; its last stdout line, as JSON."""
    command = [sys.executable, "-m", module, *(str(argument) for argument in arguments)]
    finished = subprocess.run(command, cwd=REPOSITORY_ROOT, capture_output=True, text=True, timeout=timeout)
    if finished.returncode != 0:
        last = (finished.stderr.strip().splitlines() or ["no error output"])[-1]
        raise RuntimeError(f"`python -m {module}` failed: {last}")
    return json.loads(finished.stdout.strip().splitlines()[-1])
