"""Row 4: loading the books corpus, time and peak memory, each in a fresh process.

The child process imports everything first, so the figures are the load alone. Time is
compared with the floor of any line-by-line reader: reading (decompressing, for the shipped
``.gz`` files) and splitting the two files; the load also checks their SHA-256 sums.
Peak memory is measured twice: Python allocations (tracemalloc, numpy arrays included;
its own run, since tracing slows the load) and the rise of the peak resident set size.
"""
import gzip
import json
import os
import sys
import time

from .child import run_child
from .table import Row, Target, seconds
from .timing import median, paired_ratio

MB = 2 ** 20


def measure(settings):
    from backprop_labs.datasets.amazon import books_files

    files_size = sum(os.path.getsize(path) for path in books_files(settings.data_dir))
    timed = [_child("time", settings.data_dir, load_first=run % 2 == 0) for run in range(settings.load_runs)]
    traced = _child("tracemalloc", settings.data_dir)
    load = median([run["load_seconds"] for run in timed])
    split = median([run["split_seconds"] for run in timed])
    rss = median([run["peak_rss_rise"] for run in timed])
    worst = max(traced["traced_peak"], rss)
    runs = f"median of {settings.load_runs} fresh processes"
    return [
        Row("4a", "books corpus load: time", measured=seconds(load),
            baseline=f"reading, gunzipping and splitting the files {seconds(split)}",
            paired=paired_ratio([run["load_seconds"] for run in timed], [run["split_seconds"] for run in timed]),
            target=Target("<", 1, "s"), checked=load, note=runs + " (load and split timed in each)"),
        Row("4b", "books corpus load: peak memory",
            measured=f"{traced['traced_peak'] / MB:.1f} MB traced, +{rss / MB:.1f} MB peak RSS",
            baseline=f"files on disk {files_size / MB:.1f} MB (as stored)", ratio=worst / files_size,
            target=Target("<", 100, "MB"), checked=worst / MB,
            note=f"target checked on the larger figure; RSS {runs}"),
    ]


def _child(mode, data_dir, load_first=True):
    return run_child("bench.corpus_load", mode, int(load_first), *([] if data_dir is None else [data_dir]))


def _resident_bytes(field):
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process, from /proc (Linux)."""
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise OSError(f"{field} not in /proc/self/status")


def _reset_peak_rss():
    """Make the kernel's peak RSS start again from the current RSS (Linux 4.0+)."""
    with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
        handle.write("5")


def _split_files(paths):
    """Read (and gunzip, for the shipped .gz files) and split every line: the floor of any reader."""
    from backprop_labs.paths import text_lines

    for path in paths:
        content = path.read_bytes()
        if path.suffix == ".gz":
            content = gzip.decompress(content)
        for line in text_lines(content):
            line.split()


def _run_child(mode, load_first, data_dir):
    from backprop_labs.datasets.amazon import books_files, load_amazon_books

    paths = books_files(data_dir)
    _split_files(paths)  # the files are in the page cache for both timings
    if mode == "tracemalloc":
        import tracemalloc

        tracemalloc.start()
        load_amazon_books(data_dir)
        return {"traced_peak": tracemalloc.get_traced_memory()[1]}
    result = {}

    def time_load():
        _reset_peak_rss()
        before = _resident_bytes("VmRSS")
        start = time.perf_counter()
        load_amazon_books(data_dir)
        result["load_seconds"] = time.perf_counter() - start
        result["peak_rss_rise"] = _resident_bytes("VmHWM") - before

    def time_split():
        start = time.perf_counter()
        _split_files(paths)
        result["split_seconds"] = time.perf_counter() - start

    for step in (time_load, time_split) if load_first else (time_split, time_load):
        step()
    return result


if __name__ == "__main__":
    mode, load_first = sys.argv[1], sys.argv[2] == "1"
    print(json.dumps(_run_child(mode, load_first, sys.argv[3] if len(sys.argv) > 3 else None)))
