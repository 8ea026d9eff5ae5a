"""Runs every benchmark row and makes the markdown table.

A row whose code raises becomes an ``error: ...`` row: one failing benchmark does not hide
the others, and the command exits non-zero.
"""
import datetime
import importlib
import os
import traceback

from .table import Row, machine_lines, render
from .timing import load_average

# (key, what, module): each module's measure(settings) returns its rows.
BENCHMARKS = [
    ("1", "gradient check of the books MLP", "bench.gradient_check"),
    ("2", "one training epoch, NumPy vs PyTorch", "bench.epoch"),
    ("3", "NumPy MLP backward / forward", "bench.backward_forward"),
    ("4", "books corpus load", "bench.corpus_load"),
    ("5", "autograde of submissions, serial vs parallel", "bench.autograde"),
    ("6", "full test suite", "bench.suite_time"),
]


def run_benchmarks(settings, report=print):
    """All rows, in table order. ``report`` gets a progress line per benchmark (None: silent)."""
    settings.load_before = load_average()
    rows = []
    for key, what, module_name in BENCHMARKS:
        if report is not None:
            report(f"[bench] {key}: {what} ...")
        try:
            measured = importlib.import_module(module_name).measure(settings)
        except Exception as error:  # noqa: BLE001 - reported in the table, and the exit code
            if report is not None:
                report(traceback.format_exc())
            message = " ".join(str(error).split())
            message = message if len(message) <= 200 else message[:200] + " ..."
            measured = [Row(key, what, status=f"error: {type(error).__name__}: {message}")]
        load = load_average()
        for row in measured:
            row.load = load if row.load is None else row.load
        rows.extend(measured)
    settings.load_after = load_average()
    return rows


def make_document(rows, settings):
    title = ["# Benchmarks", "",
             f"Measured {datetime.date.today().isoformat()} by `{settings.command}`"
             + (" (tiny settings on a made-up corpus: the figures mean nothing)" if settings.quick else "")
             + ".", ""]
    load = (f"- load average (1 min) before / after the run: {settings.load_before:.2f} / "
            f"{settings.load_after:.2f} on {os.cpu_count()} cores: above ~0.5 other work shared the machine")
    return render(rows, title + machine_lines() + [load], settings.repeats)


def failed(rows):
    return [row for row in rows if row.status.startswith("error")]
