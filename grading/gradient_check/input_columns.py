"""Leave out the input features that no example of the batch has.

A weight matrix applied to the input, ``input @ W.T`` with ``W`` of shape ``(out, I)``, meets
column ``j`` of ``W`` only through feature ``j`` of some example. Where that feature is 0 in every
example of the batch, the column does not change the loss and its gradient is exactly 0. A batch
of 30 books reviews uses about 2,000 of the 13,989 words, so the reference loss, its gradient and
the finite-difference passes are computed on those columns only (a seventh of the work), and the
gradient is put back at full size with exact zeros elsewhere, only when something asks for it: the
comparison with the student's gradient (:meth:`InputColumns.error_sizes`) needs only the used
columns and the student's largest entries in the others.

An exercise opts in by naming that weight (``GradientExercise.input_weight``); the result is
the same gradient up to rounding, the student's gradient is still compared in full.

A speed-up, not part of the check's logic: it serves benchmark rows 1a and 1c (gradient check and
whole report on the books MLP, ``bench/grader_cost.py``). ``ENABLED = False`` switches it off;
the reference then computes with every column.
"""
import numpy as np

from grading.policy.precision import largest_magnitude, sizes_from_largest

ENABLED = True

# Below this fraction of used columns the gather pays for itself; above it the full arrays are used.
WORTH_IT = 0.5


class InputColumns:
    """The used columns ``columns`` (sorted indices) of the input and of the weight ``specs[position]``."""

    def __init__(self, position, columns, width):
        self.position, self.columns, self.width = position, columns, width
        self.unused = np.ones(width, dtype=bool)
        self.unused[columns] = False

    @classmethod
    def of(cls, exercise, specs, input):
        """An ``InputColumns`` for the batch's ``input`` (a NumPy array), or None when the exercise
        does not opt in or nothing is saved."""
        if exercise.input_weight is None:
            return None
        spec = exercise.input_weight(specs)
        if spec is None or input.ndim != 2 or len(spec.shape) != 2 or spec.shape[1] != input.shape[1]:
            return None
        columns = np.flatnonzero((input != 0).any(0))
        if len(columns) > WORTH_IT * input.shape[1]:
            return None
        return cls(specs.index(spec), columns, input.shape[1])

    def reduce_batch(self, batch):
        """The batch (NumPy arrays) with only the used input columns."""
        return {**batch, "input": batch["input"][:, self.columns]}

    def reduce(self, arrays):
        """``arrays`` (in spec order) with the weight cut to its used columns; ``None`` entries stay None."""
        return [a[:, self.columns] if i == self.position and a is not None else a for i, a in enumerate(arrays)]

    def expand(self, arrays):
        """Inverse of :meth:`reduce` for gradients (NumPy arrays): the unused columns are exact zeros."""
        expanded = list(arrays)
        reduced = arrays[self.position]
        full = np.zeros((reduced.shape[0], self.width), dtype=reduced.dtype)
        full[:, self.columns] = reduced
        expanded[self.position] = full
        return expanded

    def error_sizes(self, student, reduced_reference):
        """``tolerances.error_sizes(student, reference)`` of the weight, figure for figure, from the reduced
        reference: where no example has the feature the reference is exactly 0, so the largest error
        there is the student's largest entry there (found from per-column extremes: no full-size
        temporary array, no full-size reference)."""
        student = np.asarray(student, dtype=np.float64)
        if student.size == 0:
            return 0.0, 0.0
        used = student[:, self.columns] - reduced_reference
        highest, lowest = student.max(axis=0), student.min(axis=0)
        extremes = [highest[self.unused].max(), lowest[self.unused].min()]   # there is an unused column
        if used.size:
            extremes += [used.max(), used.min()]
        scale = largest_magnitude(reduced_reference) if reduced_reference.size else 0.0
        return sizes_from_largest(largest_magnitude(np.array(extremes)), scale)
