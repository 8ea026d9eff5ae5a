"""Benchmarks of the labs: ``python -m bench`` (or ``make bench``) prints a markdown table
and writes it to ``BENCHMARKS.md``.

Each row is one function in its own small module, returning :class:`bench.table.Row`;
:mod:`bench.runner` runs them and makes the table. Every figure is a median over repetitions,
and every ratio compares two figures measured side by side, interleaved, in the same run.
"""
