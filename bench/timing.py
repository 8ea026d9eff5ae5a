"""Side-by-side timing: contenders run in alternating order, round after round."""
import os
import random
import statistics
from dataclasses import dataclass
import time


def interleaved(contenders, repeats, warmup=1, seed=0, clock=time.perf_counter):
    """Seconds of each contender in every round: ``{name: [seconds, ...]}``, rounds paired.

    ``contenders`` maps a name to a factory: called untimed, it returns the function
    to time (so that building a fresh model is not counted). Every round runs each contender
    once, in an order shuffled afresh (seeded by ``seed``), so neither contender always runs on a
    cache warmed by the other nor always first after a pause; the figures of one round were taken
    within moments of each other, so their ratio (:func:`paired_ratio`) sees the same load.
    ``warmup`` untimed rounds come first: first calls pay for imports, lazy initialisation
    (PyTorch's dispatcher) and cold caches. ``clock``: wall time by default; ``time.thread_time``
    counts only this thread's CPU time, which other processes on a loaded machine do not inflate
    (for contenders that run on this thread alone: one PyTorch and one BLAS thread).
    """
    names = list(contenders)
    order = random.Random(seed)
    times = {name: [] for name in names}
    for round_index in range(warmup + repeats):
        for name in order.sample(names, len(names)):
            timed = contenders[name]()
            start = clock()
            timed()
            if round_index >= warmup:
                times[name].append(clock() - start)
    return times


def repeated(function, calls):
    """A contender (see :func:`interleaved`) that times ``calls`` calls of ``function`` together:
    single calls of under a millisecond are too short to time one by one."""
    def run():
        for _ in range(calls):
            function()
    return lambda: run


def median(values):
    return statistics.median(values)


def median_ratio(numerators, denominators):
    """Median of the per-round ratios: robust to a round slowed by other work on the machine."""
    return statistics.median(a / b for a, b in zip(numerators, denominators))


def round_ratios(numerators, denominators):
    """The ratio of each round: ``numerators[i] / denominators[i]``."""
    return [a / b for a, b in zip(numerators, denominators)]


# Half the interquartile range of the per-round ratios above this fraction of their median: the
# rounds disagree (other work took the cores mid-round) and the ratio is marked unreliable.
MAX_SPREAD = 0.25


@dataclass(frozen=True)
class PairedRatio:
    """The median of per-round ratios, their range and spread (see :func:`relative_spread`)."""

    value: float
    low: float
    high: float
    spread: float
    rounds: int

    @property
    def reliable(self):
        return self.spread <= MAX_SPREAD

    def describe(self):
        """``'7 paired rounds, ratios 0.9-1.1, spread ±5 %'`` for a row's notes."""
        text = (f"{self.rounds} paired round{'s' if self.rounds != 1 else ''}, ratios "
                f"{self.low:.3g}-{self.high:.3g}, spread ±{100 * self.spread:.0f} %")
        if not self.reliable:
            text += f" (over {100 * MAX_SPREAD:.0f} %: other work shared the cores)"
        return text


def paired_ratio(numerators, denominators):
    """A :class:`PairedRatio` of two contenders timed in the same rounds (never a difference, never negative)."""
    ratios = round_ratios(numerators, denominators)
    return PairedRatio(statistics.median(ratios), min(ratios), max(ratios), relative_spread(ratios), len(ratios))


def relative_spread(values):
    """Half the interquartile range over the median: about 0.05 when rounds agree to ±5 %.

    ``0.0`` for fewer than two values (no spread can be seen); ``inf`` when the median is not
    positive (no meaningful figure).
    """
    values = list(values)
    if len(values) < 2:
        return 0.0
    middle = statistics.median(values)
    if not middle > 0:
        return float("inf")
    first, _, third = statistics.quantiles(values, n=4, method="inclusive")
    return (third - first) / 2 / middle


def load_average():
    """The 1-minute load average (``nan`` where the system does not report one)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def limited_threads(threads):
    """The course's thread policy (:func:`backprop_labs.threads.small_products`) with ``threads``
    threads for BLAS and PyTorch; ``None``: the policy's choice (1 unless ``$BACKPROP_LABS_THREADS``)."""
    from backprop_labs.threads import small_products

    return small_products(threads)
