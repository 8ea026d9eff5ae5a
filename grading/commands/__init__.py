"""The sub-commands of ``backprop-labs`` (table in :mod:`grading.cli`), one module per job."""
