"""Rows 5, 5b, 5c: autograding submissions, serial nbgrader against the parallel command.

The measurement belongs to the parallel-grading work (``bench/autograde_parallel.py``): it
builds a class of made-up submissions and grades copies of it with plain serial
``nbgrader autograde`` and with ``backprop-labs grade`` on 1 and 2 workers, repetitions paired
and alternated. Row 5 is everything the command gains over plain nbgrader; 5b is parallelism
alone (1 -> 2 workers), kept apart from 5c, what one worker gains over plain nbgrader (warm
kernels, against the sandbox and the trusted checks it adds). A run in which an honest control
submission scores below full marks fails the row. Not run with ``--quick``.
"""
import contextlib
import importlib
import os

from backprop_labs.paths import DATA_DIR_VARIABLE

from .table import NOT_AVAILABLE, Row, Target, seconds


def measure(settings):
    what = f"autograde {settings.autograde_submissions} submissions"
    target, workers_target = Target(">=", 1.7), Target(">=", 1.6)
    if settings.quick:
        return [Row("5", what + ", serial nbgrader / parallel",
                    status="skipped with --quick (grades notebooks for minutes)", target=target)]
    try:
        module = importlib.import_module("bench.autograde_parallel")
    except ModuleNotFoundError as error:
        if error.name != "bench.autograde_parallel":
            raise
        return [Row("5", what, status=NOT_AVAILABLE, target=target)]
    with _data_directory(settings.data_dir):
        figures = module.measure(settings.autograde_submissions, settings.autograde_repetitions)
    medians = figures["medians"]
    checked = (f"{figures['honest']} honest controls at full marks in every run; "
               f"{figures['repetitions']} repetitions, order alternated")
    if figures["pythonpath_dropped"]:
        checked += f"; left out of the children's PYTHONPATH (stubs): {', '.join(figures['pythonpath_dropped'])}"
    serial = f"serial nbgrader {seconds(medians['nbgrader serial'])}"
    one, two = (f"`backprop-labs grade`, {n} worker{'s' if n > 1 else ''} {seconds(medians[f'trusted N={n}'])}"
                for n in (1, 2))
    return [
        Row("5", what + ", serial nbgrader / parallel", measured=serial, baseline=two,
            paired=figures["speedup"], target=target,
            note=f"{checked}; the parallel command also runs the sandboxed checks that plain nbgrader does not"),
        Row("5b", what + ", 1 -> 2 workers", measured=one.replace("`backprop-labs grade`, ", ""),
            baseline=two.replace("`backprop-labs grade`, ", ""), paired=figures["workers"], target=workers_target,
            note="parallelism alone: the same command in a fresh interpreter each time, both sides with "
                 "their own imports, warm kernels and the sandbox; with 2, the coordinator grades beside one "
                 "spawned worker"),
        Row("5c", what + ", serial nbgrader / 1 worker", measured=serial, baseline=one,
            paired=figures["one_worker"],
            note="what the command gains or loses on one worker (warm kernels; sandbox and trusted checks "
                 "added); for information, no target"),
    ]


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
