"""The official grade of a gradient exercise by the notebook's own judge: ``check_backpropagation`` run in
the grading process on a stand-in model that answers each call with what the student's code answered in
the sandbox (``student_side.Session`` made every call that function may make, on one model, in its order).

So the verdict, the tolerance, the precision evidence, the checks that call again (repeat call, logit
shift, mean of examples, the model's loss, what the call modified) and the diagnosis are the very ones the
notebook's test cells show: one judge, whatever the submission does.
"""
import copy

import numpy as np

from grading.gradient_check.registry import get_exercise, read_path
from grading.gradient_check.invariants import LOGIT_SHIFT, _examples_for_mean_check
from grading.gradient_check.pipeline import LOSS_CHECK_EXAMPLES, check_backpropagation
from grading.policy.arrays import rounded_to_float32, to_float64

from .results import rebuilt_value

MEAN_CHECK_SEED = 0   # check_backpropagation's default seed: its first random draw picks these examples


class ReplayedError(Exception):
    """A call that raised in the sandbox, raised again here with the student's fields (type, message, line)."""

    def __init__(self, fields):
        super().__init__(fields.get("message", ""))
        self.student_fields = fields


class ReplayMismatch(RuntimeError):
    """The judge asked for a call the sandbox did not record (the grader's problem, not the student's)."""


def session_spec(exercise, case):
    """What ``student_side.Session`` needs: the parameters' paths, the output bias (index into them) and its
    shifts, the examples of the mean-of-examples check and how many rows the loss check reads."""
    configuration = _configuration(case)
    specs = exercise.parameter_specs(configuration)
    bias = exercise.output_bias(specs) if exercise.output_bias else None
    examples = _examples_for_mean_check(case.batch()["output"], np.random.default_rng(MEAN_CHECK_SEED))
    return {"paths": [list(spec.path) for spec in specs], "output_bias": None if bias is None else specs.index(bias),
            "shifts": sorted(set(LOGIT_SHIFT.values()), reverse=True) if bias is not None else [],
            "examples": [int(row) for row in examples], "loss_rows": LOSS_CHECK_EXAMPLES,
            "localise": exercise.localise_module or None}


def _configuration(case):
    configuration = case.model_configuration()
    configuration.parameters = case.parameters()
    return configuration


class ReplayModel:
    """Stands for the student's model: the case's configuration and parameters, and each gradient or loss
    call answered with the recorded answer to the same question (same parameters, same rows)."""

    def __init__(self, case, session, arrays, spec):
        vars(self).update(vars(case.model_configuration()))
        self.parameters = copy.deepcopy(case.parameters())
        self._calls, self._modified = session["calls"], session.get("modified", {})
        self._arrays, self._key, self._spec = arrays, case.key, spec
        self._batch = case.batch()
        self._original = [to_float64(read_path(self.parameters, path)) for path in spec["paths"]]
        self._first_done = False
        self.recorded_probe = session.get("localised")   # the exercise's probe of the package, judged by the check

    def backpropagation(self, input, output):
        name = self._question(input)
        if name == "first" and self._first_done:
            name = "repeat"
        if name == "first":
            self._reenact(input)   # raises as the student's write did on a read-only array
            self._first_done = True
        return self._answer(name)

    gradients = backpropagation

    def cross_entropy_loss(self, input, output):
        return self._answer("loss")

    loss = cross_entropy_loss

    def _answer(self, name):
        entry = self._calls.get(name)
        if entry is None and "MemoryError" in {call.get("raised", {}).get("type") for call in self._calls.values()}:
            raise ReplayedError({"type": "MemoryError", "message": "not run: an earlier call ran out of memory",
                                 "where": "", "inside": ""})
        if entry is None:
            raise ReplayMismatch(f"the sandbox recorded no call {name!r}")
        if "raised" in entry:
            raise ReplayedError(entry["raised"])
        return rebuilt_value(entry["returned"], self._arrays, f"{self._key}.{name}")

    def _question(self, input):
        """Which recorded call the judge is making, from the parameters it set and the rows it passes."""
        current = [to_float64(read_path(self.parameters, path)) for path in self._spec["paths"]]
        input = to_float64(input)
        full = to_float64(self._batch["input"])
        if _all_equal(current, [rounded_to_float32(array) for array in self._original]) and not _all_equal(
                current, self._original):
            return "rounded"
        bias = self._spec["output_bias"]
        for shift in self._spec["shifts"]:
            shifted = [array + shift if index == bias else array for index, array in enumerate(self._original)]
            if _all_equal(current, shifted):
                return f"shift-{shift:g}"
        if not _all_equal(current, self._original):
            raise ReplayMismatch("the judge called with parameters the sandbox did not use")
        if input.shape == full.shape and np.array_equal(input, full):
            return "first"
        examples = self._spec["examples"]
        for rows in [examples] + [[row] for row in examples]:
            if input.shape == full[rows].shape and np.array_equal(input, full[rows]):
                return "rows-" + "-".join(map(str, rows))
        raise ReplayMismatch("the judge called on rows the sandbox did not use")

    def _reenact(self, input):
        """Make the first call's changes again (so the judge's own watch finds and names them)."""
        for index in self._modified.get("parameters", []):
            path = self._spec["paths"][index]
            after = self._arrays.get(f"{self._key}.after.parameter{index}")
            target = read_path(self.parameters, path)
            if after is not None and np.shape(after) == np.shape(target):
                target[...] = after
            else:
                read_path(self.parameters, path[:-1])[path[-1]] = after
        after_input = self._arrays.get(f"{self._key}.after.input")
        if "input" in self._modified.get("batch", []) and after_input is not None and after_input.shape == input.shape:
            input[...] = after_input


def _all_equal(arrays, others):
    return all(a.shape == b.shape and np.array_equal(a, b) for a, b in zip(arrays, others))


def replay_report(exercise_name, case, session, arrays):
    """``check_backpropagation``'s :class:`~grading.gradient_check.report.GradientReport` of the recorded
    session of ``case`` (``arrays``: the sandbox's arrays, ``'<case key>.<call>.<name>'``)."""
    exercise = get_exercise(exercise_name)
    spec = session_spec(exercise, case)
    model = ReplayModel(case, session, arrays, spec)
    batch = case.batch()
    return check_backpropagation(model, batch["input"], batch["output"], exercise=exercise, seed=MEAN_CHECK_SEED)
