"""Side-by-side timing: contenders run in alternating order, round after round."""
import contextlib
import os
import statistics
import time


def interleaved(contenders, repeats, warmup=1):
    """Seconds of each contender in every round: ``{name: [seconds, ...]}``.

    ``contenders`` maps a name to a factory: called untimed, it returns the function
    to time (so that building a fresh model is not counted). The order within a round
    alternates, so neither contender always runs on a cache warmed by the other.
    ``warmup`` untimed rounds come first: first calls pay for imports, lazy
    initialisation (PyTorch's dispatcher) and cold caches.
    """
    names = list(contenders)
    times = {name: [] for name in names}
    for round_index in range(warmup + repeats):
        for name in names if round_index % 2 == 0 else names[::-1]:
            timed = contenders[name]()
            start = time.perf_counter()
            timed()
            if round_index >= warmup:
                times[name].append(time.perf_counter() - start)
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


@contextlib.contextmanager
def limited_threads(threads):
    """BLAS (threadpoolctl) and PyTorch limited to ``threads`` threads; ``None`` changes nothing."""
    if threads is None:
        yield
        return
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with threadpool_limits(threads):
            yield
    finally:
        torch.set_num_threads(before)
