"""Row 5: autograding submissions, serial nbgrader against the parallel command.

The measurement belongs to the parallel-grading work (``bench/autograde_parallel.py``): it
builds a class of made-up submissions and grades copies of it with plain serial
``nbgrader autograde`` and with ``backprop-labs grade`` on 1 and 2 workers. One repetition
takes minutes, so it runs ``autograde_repetitions`` times (1 by default) and not at all
with ``--quick``.
"""
import contextlib
import importlib
import os

from backprop_labs.paths import DATA_DIR_VARIABLE

from .table import NOT_AVAILABLE, Row, Target, seconds


def measure(settings):
    what = f"autograde {settings.autograde_submissions} submissions, serial nbgrader / parallel"
    target = Target(">=", 1.7)
    if settings.quick:
        return [Row("5", what, status="skipped with --quick (grades notebooks for minutes)", target=target)]
    try:
        module = importlib.import_module("bench.autograde_parallel")
    except ModuleNotFoundError as error:
        if error.name != "bench.autograde_parallel":
            raise
        return [Row("5", what, status=NOT_AVAILABLE, target=target)]
    with _data_directory(settings.data_dir):
        figures = module.measure(settings.autograde_submissions, settings.autograde_repetitions)
    repetitions = figures["repetitions"]
    notes = [f"{repetitions} repetition{'s' if repetitions > 1 else ''}",
             f"with 1 worker {seconds(figures['trusted N=1'])}, so 2 workers gain {figures['workers_ratio']:.2f}x"]
    if "speedup_same_threads" in figures:
        notes.append(f"serial nbgrader with one thread per library (as the sandbox runs) "
                     f"{seconds(figures['nbgrader serial, 1 thread'])}: {figures['speedup_same_threads']:.2f}x")
    notes.append("the parallel command also runs the sandboxed checks that plain nbgrader does not")
    return [Row(
        "5", what, measured=f"serial nbgrader {seconds(figures['nbgrader serial'])}",
        baseline=f"`backprop-labs grade`, 2 workers {seconds(figures['trusted N=2'])}",
        ratio=figures["speedup"], target=target, note="; ".join(notes),
    )]


@contextlib.contextmanager
def _data_directory(data_dir):
    """The grading code reads the corpus through the environment variable."""
    if data_dir is None:
        yield
        return
    before = os.environ.get(DATA_DIR_VARIABLE)
    os.environ[DATA_DIR_VARIABLE] = str(data_dir)
    try:
        yield
    finally:
        if before is None:
            del os.environ[DATA_DIR_VARIABLE]
        else:
            os.environ[DATA_DIR_VARIABLE] = before
