"""Benchmarks of the labs: ``python -m bench`` (or ``make bench``) prints a markdown table;
``--write`` also writes it to ``BENCHMARKS.md``.

Each row is one function in its own small module, returning :class:`bench.table.Row`;
:mod:`bench.runner` runs them and makes the table. Every figure is a median over repetitions,
and every ratio is the median of per-round ratios of two figures timed in the same rounds
(shuffled order), on the course's thread policy (:mod:`backprop_labs.threads`).
"""
