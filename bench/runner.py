"""Runs every benchmark row and makes the markdown table.

A row whose code raises becomes an ``error: ...`` row: one failing benchmark does not hide
the others, and the command exits non-zero.
"""
import datetime
import importlib
import os
import re
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
    ("7", "a class graded against its floor; 1,000 submissions projected", "bench.class_scale"),
]


def run_benchmarks(settings, report=print, only=None):
    """All rows, in table order (``only``: the benchmarks with these keys). ``report`` gets a progress line
    per benchmark (None: silent)."""
    settings.load_before = load_average()
    rows = []
    for key, what, module_name in BENCHMARKS:
        if only and key not in only:
            continue
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


CARRIED = "carried over unchanged from the table measured "


class CarriedRow:
    """A row of an earlier table, kept as it was printed (``--only`` ran other benchmarks). Its note says
    when it was measured: the date of that table, or the date it already gave when it was carried before."""

    status = "carried"

    def __init__(self, key, cells, measured_on):
        self.key, self._cells, self.measured_on = key, cells, measured_on

    def cells(self):
        note = self._cells[-1]
        if CARRIED not in note:
            note = "; ".join(part for part in (note, CARRIED + self.measured_on) if part)
        return self._cells[:-1] + [note]


def benchmark_key(row_key):
    """The benchmark a row belongs to: ``'1a'`` -> ``'1'``."""
    return re.match(r"\d+", row_key).group(0)


def carried_rows(document, keys):
    """The rows of an earlier table (``document``, markdown as :func:`make_document` writes it) whose
    benchmark is in ``keys``, their cells unescaped."""
    measured = re.search(r"^Measured (\S+)", document, re.M)
    rows = []
    for line in document.splitlines():
        if not re.match(r"^\| \d+[a-z]? \|", line):
            continue
        cells = [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if benchmark_key(cells[0]) in keys:
            rows.append(CarriedRow(cells[0], cells, measured.group(1) if measured else "earlier"))
    return rows


def in_table_order(rows):
    """Rows sorted by their benchmark's place in :data:`BENCHMARKS`, each benchmark's rows as they came."""
    order = {key: index for index, (key, _, _) in enumerate(BENCHMARKS)}
    return sorted(rows, key=lambda row: order.get(benchmark_key(row.key), len(order)))
