"""One benchmark row, its target, and the markdown table the runner prints."""
import operator
import os
import platform
from dataclasses import dataclass

NOT_AVAILABLE = "not available yet"
UNRELIABLE = "unreliable"

_COMPARISONS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


@dataclass(frozen=True)
class Target:
    """A bound on one figure, e.g. ``Target('<=', 10, 'forward passes')``."""

    op: str
    limit: float
    unit: str = "x"

    def met(self, value):
        return _COMPARISONS[self.op](value, self.limit)

    def __str__(self):
        return f"{self.op} {self.limit:g} {self.unit}".rstrip()


@dataclass
class Row:
    """A measured figure, what it is compared with, and their ratio ``measured / baseline``.

    ``checked`` is the value the target applies to (the ratio unless a row says otherwise,
    e.g. seconds for the corpus load). ``status`` is ``'ok'``, ``NOT_AVAILABLE`` when a
    part the row needs does not exist yet, or ``'error: ...'``. ``unreliable_load`` is set
    (to the load average) when the repetitions disagreed too much for the ratio to mean
    anything: the ratio cell then says ``unreliable (load N)`` and the target is not judged.
    ``paired`` (a :class:`bench.timing.PairedRatio`) gives the ratio, the notes on its rounds and,
    when the rounds disagree, ``unreliable_load``. ``load`` is the 1-minute load average when the
    row was measured (the runner fills it in), printed on every row.
    """

    key: str
    what: str
    measured: str = ""
    baseline: str = ""
    ratio: float | None = None
    ratio_unit: str = "x"
    target: Target | None = None
    checked: float | None = None
    note: str = ""
    status: str = "ok"
    unreliable_load: float | None = None
    paired: object = None
    load: float | None = None

    def __post_init__(self):
        if self.paired is not None:
            from .timing import load_average

            self.ratio = self.paired.value
            self.note = "; ".join(part for part in (self.note, self.paired.describe()) if part)
            if not self.paired.reliable and self.unreliable_load is None:
                self.unreliable_load = load_average()

    @property
    def met(self):
        if self.status != "ok" or self.target is None or self.unreliable_load is not None:
            return None
        value = self.ratio if self.checked is None else self.checked
        return None if value is None else self.target.met(value)

    def cells(self):
        load = "" if self.load is None else f"{self.load:.1f}"
        if self.status != "ok":
            return [self.key, self.what, self.status, "", "", str(self.target or ""), "", load, self.note]
        ratio = "" if self.ratio is None else f"{_figure(self.ratio)} {self.ratio_unit}".rstrip()
        if self.unreliable_load is not None:
            ratio = f"{UNRELIABLE} (load {self.unreliable_load:.2f})"
        met = {True: "yes", False: "**no**", None: ""}[self.met]
        return [self.key, self.what, self.measured, self.baseline, ratio, str(self.target or ""), met, load,
                self.note]


HEADER = ["#", "benchmark", "measured", "compared with (same run)", "ratio", "target", "met", "load", "notes"]


def _figure(value):
    """Three significant figures, without scientific notation for everyday sizes."""
    if value == 0 or 1e-3 <= abs(value) < 1e6:
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{value:.2e}"


def seconds(value):
    """A duration for a table cell, in s, ms or µs."""
    if value >= 1:
        return f"{_figure(value)} s"
    return f"{1000 * value:.3g} ms" if value >= 1e-3 else f"{1e6 * value:.3g} µs"


def machine_lines():
    """What the figures depend on: processor, cores, library versions and the BLAS kernel."""
    import numpy
    import torch

    lines = [f"- machine: {_processor()}, {os.cpu_count()} cores, Python {platform.python_version()}"]
    lines.append(f"- numpy {numpy.__version__}; BLAS: {_blas_description()}")
    coretype = os.environ.get("OPENBLAS_CORETYPE")
    if coretype:
        lines.append(f"- OPENBLAS_CORETYPE={coretype} is set in the environment (left as it is)")
    lines.append(f"- torch {torch.__version__}, {torch.get_num_threads()} intra-op threads")
    from backprop_labs.threads import THREADS_VARIABLE, requested_threads

    lines.append(f"- thread policy (backprop_labs.threads): {requested_threads()} BLAS and PyTorch thread(s) for "
                 f"the training loop, the grader and every unit timed here, on both sides of every ratio, child "
                 f"processes included (${THREADS_VARIABLE}); rows that say otherwise name their threads")
    return lines


def _processor():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _blas_description():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl is not installed)"
    pools = [pool for pool in threadpool_info() if pool.get("user_api") == "blas"]
    if not pools:
        return "unknown (no BLAS library found by threadpoolctl)"
    return "; ".join(
        f"{pool['internal_api']} {pool.get('version') or ''}, kernel {pool.get('architecture') or '?'}, "
        f"{pool['num_threads']} threads".replace("  ", " ")
        for pool in pools
    )


def render(rows, title_lines, repeats):
    """The markdown document: title, machine, how to read the table, then the table."""
    escape = lambda cell: str(cell).replace("|", "\\|")  # noqa: E731
    lines = list(title_lines)
    lines += ["", f"Every figure is the median of {repeats} repetitions unless its notes say otherwise. "
              "The ratio is the median of per-round ratios measured / compared-with: both are timed in every "
              "round, in a shuffled order, so each pair shares the machine's load. `load` is the 1-minute load "
              "average when the row was measured (2 cores: above ~0.5 other work shared them); a row whose "
              "rounds disagree says `unreliable (load N)` and its target is not judged.", ""]
    lines.append("| " + " | ".join(HEADER) + " |")
    lines.append("|" + "---|" * len(HEADER))
    for row in rows:
        lines.append("| " + " | ".join(escape(cell) for cell in row.cells()) + " |")
    return "\n".join(lines) + "\n"
