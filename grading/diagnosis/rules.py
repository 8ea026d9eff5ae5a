"""From evidence to plain sentences: a table of rules, each a detector and what it tells the student.

:data:`RULES` is read top to bottom. A rule's ``detect(evidence)`` returns the sentence to
show, or ``(cause, sentence)`` when it can name a finer cause than its own, or ``None``.
Rules in the ``"values"`` group explain wrong numbers and are exclusive: the first that fires wins, and the last one (:func:`_localise`) always fires, so
a wrong gradient never goes without a pointer to where the error enters. The "error" and
"format" groups are exclusive too (the first problem found explains the ones after it);
side-effect rules each add their sentence.
"""
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from .hypotheses import matching_hypothesis
from grading.gradient_check.tolerances import normwise_error


@dataclass
class Evidence:
    """Everything the rules may look at (built by :mod:`grading.gradient_check.pipeline`).

    ``found``/``usable`` are aligned with ``specs`` (float64 arrays or None); ``reference``
    is the float64 reference; ``errors[i]`` the normwise error of usable entries (else None);
    ``checks`` maps a check name to its :class:`~grading.gradient_check.invariants.CheckResult`.
    """

    exercise: object
    specs: list
    batch_size: int
    raw: object
    error: object
    problems: list
    found: list
    usable: list
    reference: list
    errors: list
    checks: dict
    tolerance: object
    hypothesis_context: object = None
    internal_errors: list = field(default_factory=list)

    def problems_of(self, kind):
        return [problem for problem in self.problems if problem.kind == kind]

    def failed(self, name):
        check = self.checks.get(name)
        return check is not None and check.passed is False

    @property
    def layers(self):
        return sorted({spec.layer for spec in self.specs if spec.layer is not None})

    def indices_of_layer(self, layer):
        return [i for i, spec in enumerate(self.specs) if spec.layer == layer]

    @property
    def wrong(self):
        """Indices of parameters whose gradient is usable but outside the tolerance, or unusable."""
        return [i for i, error in enumerate(self.errors) if error is None or error > self.tolerance.rtol]


@dataclass(frozen=True)
class Rule:
    cause: str
    group: str           # "error", "format", "side_effect", "values"
    detect: Callable[[Evidence], Optional[str]]


def _close(student, reference, tolerance):
    return (student is not None and reference is not None and student.shape == reference.shape
            and normwise_error(student, reference) <= tolerance.hypothesis_match)


# ---- exceptions ----------------------------------------------------------------------------

def _not_implemented(evidence):
    error = evidence.error
    if error is not None and error.not_implemented:
        return (f"{evidence.exercise.title} is not implemented yet: the call raised NotImplementedError"
                f"('{error.message}'). Replace the `raise` with your code.")
    return None


SHAPE_ERROR_WORDS = ("matmul", "shapes", "broadcast", "aligned", "dimension")


def _shape_exception(evidence):
    error = evidence.error
    if error is not None and error.type_name == "ValueError" and any(w in error.message for w in SHAPE_ERROR_WORDS):
        return (f"Your code raised {error.describe()}. Shapes do not line up: rows are examples, so an "
                f"error (B, out) goes back through layer n as error @ W (W is (out, in)), a weight "
                f"gradient is error.T @ layer_input (out, in), and element-wise products need equal shapes.")
    return None


def _other_exception(evidence):
    error = evidence.error
    if error is not None:
        return f"Your code raised {error.describe()}; fix that line first."
    return None


# ---- returned format -----------------------------------------------------------------------

def _none_returned(evidence):
    problems = evidence.problems_of("none_returned")
    return problems[0].message if problems else None


def _shared_lists(evidence):
    raw = evidence.raw
    if not isinstance(raw, (list, tuple)) or len(raw) < 2:
        return None
    shared = [i for i in range(1, len(raw)) if isinstance(raw[i], list) and raw[i] is raw[0]]
    if shared:
        return ("All layers' entries are one and the same list object ([[None, None]] * n copies a reference "
                "to one inner list, so each layer overwrites the others): build the list with "
                "[[None, None] for _ in range(n)] or append a new pair per layer.")
    return None


def _missing_layer(evidence):
    short = [p for p in evidence.problems_of("wrong_length") if isinstance(evidence.raw, (list, tuple))
             and len(evidence.raw) < len(evidence.layers)]
    if short:
        return (f"Only {len(evidence.raw)} layer(s) of gradients were returned for a {len(evidence.layers)}-layer "
                f"model: a layer is missing (does the backward loop reach layer 0?). Return one [dW, db] "
                f"per layer, layer 0 first.")
    for layer in evidence.layers:
        indices = evidence.indices_of_layer(layer)
        reference_zero = all(not np.any(evidence.reference[i]) for i in indices)
        if reference_zero:
            continue
        if all(evidence.found[i] is None for i in indices) or all(
                evidence.found[i] is not None and evidence.found[i].shape == evidence.reference[i].shape
                and not np.any(evidence.found[i]) for i in indices):
            return (f"Layer {layer}'s gradients are {'missing' if evidence.found[indices[0]] is None else 'all zero'} "
                    f"although its parameters change the loss: the backward loop skips layer {layer} "
                    f"(range(L - 1, 0, -1) stops before 0; use reversed(range(L))).")
    return None


def _permuted_layers(evidence, offset_of):
    """True when every layer's found arrays equal the reference of layer ``offset_of(layer)``."""
    layers = evidence.layers
    if len(layers) < 2:
        return False
    for layer in layers:
        source = offset_of(layer, len(layers))
        found = [evidence.found[i] for i in evidence.indices_of_layer(layer)]
        wanted = [evidence.reference[i] for i in evidence.indices_of_layer(source)]
        if len(found) != len(wanted) or not all(_close(f, w, evidence.tolerance) for f, w in zip(found, wanted)):
            return False
    return True


def _reversed_order(evidence):
    if _permuted_layers(evidence, lambda layer, count: count - 1 - layer):
        return ("The gradients are in reverse layer order (last layer first): the backward loop appends from the "
                "output down, so reverse the list (or fill gradients[n]) before returning.")
    return None


def _off_by_one(evidence):
    if (_permuted_layers(evidence, lambda layer, count: (layer + 1) % count)
            or _permuted_layers(evidence, lambda layer, count: (layer - 1) % count)):
        return ("Each layer's gradients are stored one position off (gradients[n - 1] or gradients[n + 1] "
                "instead of gradients[n]): layer n's [dW, db] belongs at index n, counting layers from 0.")
    return None


def _structure(evidence):
    """The returned object is not nested like the parameters (a dict, a string, pairs of three...)."""
    too_long = [p for p in evidence.problems_of("wrong_length")
                if isinstance(evidence.raw, (list, tuple)) and len(evidence.raw) > len(evidence.layers)]
    problems = (evidence.problems_of("not_a_list") + evidence.problems_of("wrong_keys")
                + evidence.problems_of("not_a_pair") + too_long)
    if problems:
        return f"{problems[0].message}: return one [dW, db] pair per layer, in layer order."
    return None


def _not_arrays(evidence):
    problems = (evidence.problems_of("missing") + evidence.problems_of("not_an_array")
                + evidence.problems_of("not_numeric"))
    if problems:
        return problems[0].message + "."
    return None


def _transposed(evidence):
    for i, spec in enumerate(evidence.specs):
        found, reference = evidence.found[i], evidence.reference[i]
        if found is None or spec.is_bias or found.ndim != 2:
            continue
        if found.shape == reference.shape and found.shape[0] != found.shape[1]:
            continue
        if found.shape == reference.T.shape and _close(found.T, reference, evidence.tolerance) and (
                found.shape != reference.shape or not _close(found, reference, evidence.tolerance)):
            return (f"The {spec.label} gradient is transposed: found {found.shape}, the weight is {spec.shape} "
                    f"(out, in). Compute error.T @ layer_input, not layer_input.T @ error.")
    return None


def _bias_axis(evidence):
    batch = evidence.batch_size
    for i, spec in enumerate(evidence.specs):
        found = evidence.found[i]
        if not spec.is_bias or found is None or found.shape == tuple(spec.shape):
            continue
        if batch in found.shape and found.size in (batch, batch * spec.shape[-1]):
            summed = found.size == batch * spec.shape[-1] != batch
            what = "not summed at all" if summed else "summed over the wrong axis"
            return "bias_wrong_axis", (
                f"The {spec.label} gradient has shape {found.shape}: the error is {what}. Sum it over the "
                f"examples, axis 0: np.sum(error, axis=0, keepdims=True) has shape {tuple(spec.shape)}.")
        if found.size == int(np.prod(spec.shape)):
            return "bias_shape", (f"The {spec.label} gradient has shape {found.shape}; it must match the bias, "
                    f"{tuple(spec.shape)} (keepdims=True when summing over axis 0).")
    return None


def _wrong_shape(evidence):
    problems = evidence.problems_of("wrong_shape")
    return problems[0].message + "." if problems else None


def _not_finite(evidence):
    problems = evidence.problems_of("not_finite")
    if problems:
        return (problems[0].message.rstrip(".") + ". Compute the softmax from log-probabilities (subtract the "
                "row maximum before exp) and avoid dividing by zero.")
    return None


# ---- side effects and probes ---------------------------------------------------------------

def _modifies_parameters(evidence):
    if evidence.failed("parameters_unchanged"):
        changed = ", ".join(evidence.checks["parameters_unchanged"].evidence["changed"])
        return (f"backpropagation changed the model's parameters ({changed}): it must only compute gradients. "
                f"Leave the update to update(), and copy an array before any in-place operation (-=, *=).")
    return None


def _modifies_input(evidence):
    if evidence.failed("input_unchanged"):
        return ("backpropagation changed the batch it was given (an in-place operation on the input or on an "
                "array that shares its memory): compute new arrays instead (a = a * x, not a *= x).")
    return None


def _accumulates(evidence):
    if evidence.failed("repeat_call"):
        ratio = evidence.checks["repeat_call"].evidence.get("ratio", float("nan"))
        if np.isfinite(ratio) and abs(ratio - 2.0) < 0.01:
            return ("A second call returns twice the gradients: something accumulates across calls (a buffer kept "
                    "on self, or += into stored arrays). Start every call from fresh zeros.")
        return ("Calling backpropagation twice on the same batch gives different results: the function keeps "
                "state between calls or uses randomness. It must depend only on the parameters and the batch.")
    return None


def _unstable_softmax(evidence):
    if evidence.failed("logit_shift"):
        shift = evidence.checks["logit_shift"].evidence.get("shift")
        return (f"With every logit shifted by +{shift:g} (which leaves the softmax unchanged) your gradients "
                f"overflow or change: exp(z) is taken without subtracting the row maximum. Use "
                f"p = exp(z - logsumexp(z)) or the log-probabilities from the forward pass.")
    return None


def _not_a_mean(evidence):
    if evidence.failed("mean_of_examples") and not evidence.wrong:
        ratio = evidence.checks["mean_of_examples"].evidence.get("ratio", float("nan"))
        return (f"On this batch the gradients are right, but for a few examples together they are {ratio:.3g} times "
                f"the mean of the single-example gradients: the code assumes a batch size (a hard-coded B?). "
                f"Divide by len(output).")
    return None


def _loss_mismatch(evidence):
    check = evidence.checks.get("loss_matches_reference")
    if check is None or check.passed is not False or "error" in check.evidence:
        return None  # a forward pass that raised is explained by the exception rules
    if evidence.exercise.grades_forward:
        return ("Your forward pass computes a different loss from the same parameters: "
                + check.evidence.get("hint", "check each layer's z = a @ W.T + b, its activation, and a "
                                              "log_softmax over classes (dim=1) at the end."))
    return ("The model's own loss differs from the loss rebuilt from its parameters, so its forward pass is not "
            "the lab's: gradients of a different function cannot be graded (was log_forward changed?).")


# ---- wrong values (exclusive) -------------------------------------------------------------

def _ratios(evidence):
    """Per-parameter least-squares factor c (student ~ c * reference) and whether it explains the array."""
    ratios = []
    for student, reference in zip(evidence.usable, evidence.reference):
        if student is None or not np.any(reference):
            ratios.append(None)
            continue
        c = float(np.sum(student * reference) / np.sum(reference * reference))
        explained = normwise_error(student, c * reference) <= evidence.tolerance.hypothesis_match * max(1.0, abs(c))
        ratios.append(c if explained else None)
    return ratios


def _all_near(values, target):
    return bool(values) and all(v is not None and abs(v - target) <= 1e-3 * abs(target) for v in values)


def _sign(evidence):
    ratios = [r for r in _ratios(evidence) if r is not None]
    if len(ratios) == len([r for r in evidence.reference if np.any(r)]) and _all_near(ratios, -1.0):
        return ("Every gradient has the wrong sign: the error at the softmax input is p - onehot(y) "
                "(probability minus target), not onehot(y) - p.")
    return None


def _batch_scale(evidence):
    ratios = _ratios(evidence)
    batch = evidence.batch_size
    wrong = [i for i in evidence.wrong if ratios[i] is not None]
    if batch < 2 or not wrong or len(wrong) != len(evidence.wrong):
        return None
    labels = ", ".join(evidence.specs[i].label for i in wrong)
    every = len(wrong) == len([r for r in evidence.reference if np.any(r)])
    which = "All gradients are" if every else f"The gradients of {labels} are"
    if _all_near([ratios[i] for i in wrong], float(batch)):
        return "missing_batch_mean", (
            f"{which} B = {batch} times too large: that is the gradient of the SUM of the losses. The loss is "
            f"the MEAN over the batch: divide the output error by B once.")
    if _all_near([ratios[i] for i in wrong], 1.0 / batch):
        return "extra_batch_mean", (
            f"{which} B = {batch} times too small: the batch size is divided out twice (e.g. error / B "
            f"and then np.mean). Divide the output error by B once and sum over examples afterwards.")
    return None


def _zero_gradient(evidence):
    """A parameter whose gradient is exactly zero although the loss depends on it."""
    for i in evidence.wrong:
        student, reference = evidence.usable[i], evidence.reference[i]
        if student is None or np.any(student) or not np.any(reference):
            continue
        label = evidence.specs[i].label
        if evidence.exercise.grades_forward:
            return "unused_parameter", (f"Your forward pass never uses the {label}: its gradient is zero, but the "
                                        f"loss depends on it (z = a @ W.T + b in every layer).")
        return "zero_gradient", (f"The {label} gradient is all zero although the loss depends on it: is it "
                                 f"computed at all, or overwritten with zeros?")
    return None


def _hypotheses(evidence):
    if evidence.hypothesis_context is None or not evidence.exercise.hypotheses:
        return None
    hypothesis = matching_hypothesis(evidence.exercise.hypotheses, evidence.hypothesis_context,
                                     evidence.found, evidence.tolerance.hypothesis_match)
    return None if hypothesis is None else (hypothesis.cause, hypothesis.sentence)


def _common_scale(evidence):
    ratios = [r for r in _ratios(evidence) if r is not None]
    nonzero = len([r for r in evidence.reference if np.any(r)])
    if ratios and len(ratios) == nonzero and all(abs(r - ratios[0]) <= 1e-3 * abs(ratios[0]) for r in ratios):
        return (f"Every gradient is {ratios[0]:.4g} times the right one: the directions are right but a constant "
                f"factor is off (learning rate, batch size or a 1/2 left in the formula?).")
    return None


def _precision(evidence):
    errors = [evidence.errors[i] for i in evidence.wrong]
    if errors and all(e is not None and e <= 1e-3 for e in errors):
        return (f"The gradients agree only to about {max(errors):.0e}: right formula, lost precision. Some step "
                f"runs in float32 (astype(np.float32)?) while the result is compared as "
                f"{evidence.tolerance.dtype.name}; keep one precision throughout.")
    return None


def _localise(evidence):
    wrong = set(evidence.wrong)
    if not wrong:
        return None
    layers = evidence.layers
    if not layers:
        labels = ", ".join(evidence.specs[i].label for i in sorted(wrong))
        return f"The gradient of {labels} is wrong; compare your formula with the derivative of the MEAN loss."
    wrong_layers = sorted({evidence.specs[i].layer for i in wrong})
    last = layers[-1]
    if evidence.exercise.grades_forward:
        return (f"The gradients of layer(s) {', '.join(map(str, wrong_layers))} differ from the reference although "
                f"they come from autograd: the forward pass of those layers computes something else "
                f"(z = a @ W.T + b, then the activation named for the layer).")
    if last in wrong_layers:
        roles = {evidence.specs[i].role for i in wrong if evidence.specs[i].layer == last}
        what = " and ".join(sorted(roles))
        return (f"The output layer's {what} gradient is already wrong: check the error at the softmax input, "
                f"(p - onehot(y)) / B of shape (B, K), then dW = error.T @ layer_input and db = error summed "
                f"over axis 0.")
    top = max(wrong_layers)
    right = f"Layer {last} is" if top + 1 == last else f"Layers {top + 1} to {last} are"
    return (f"{right} right but layer {top} is wrong: the error goes wrong on its way from "
            f"layer {top + 1} to layer {top}. It should be (error @ W[{top + 1}]) times the derivative of layer "
            f"{top}'s activation at its output.")


RULES = (
    Rule("not_implemented", "error", _not_implemented),
    Rule("shape_mismatch_in_code", "error", _shape_exception),
    Rule("exception", "error", _other_exception),
    Rule("none_returned", "format", _none_returned),
    Rule("structure", "format", _structure),
    Rule("shared_gradient_lists", "format", _shared_lists),
    Rule("forgot_layer", "format", _missing_layer),
    Rule("reversed_layer_order", "format", _reversed_order),
    Rule("layers_off_by_one", "format", _off_by_one),
    Rule("not_an_array", "format", _not_arrays),
    Rule("transposed_weight", "format", _transposed),
    Rule("bias_wrong_axis", "format", _bias_axis),
    Rule("wrong_shape", "format", _wrong_shape),
    Rule("not_finite", "format", _not_finite),
    Rule("modifies_parameters", "side_effect", _modifies_parameters),
    Rule("modifies_input", "side_effect", _modifies_input),
    Rule("accumulates_between_calls", "side_effect", _accumulates),
    Rule("unstable_softmax", "side_effect", _unstable_softmax),
    Rule("not_a_mean", "side_effect", _not_a_mean),
    Rule("loss_mismatch", "side_effect", _loss_mismatch),
    Rule("wrong_sign", "values", _sign),
    Rule("batch_mean", "values", _batch_scale),
    Rule("zero_gradient", "values", _zero_gradient),
    Rule("hypothesis", "values", _hypotheses),
    Rule("common_scale", "values", _common_scale),
    Rule("precision", "values", _precision),
    Rule("localised", "values", _localise),
)

# Once a format rule fires, arrays are misplaced or misshapen: value rules would only add noise.
SILENCES_VALUES = {"error", "format"}


def diagnose(evidence):
    """``[(cause, sentence), ...]`` in table order; at most one rule of the "values" group."""
    found, groups_fired = [], set()
    for rule in RULES:
        if rule.group == "values" and (groups_fired & SILENCES_VALUES or "values" in groups_fired
                                       or not evidence.wrong):
            continue
        if rule.group in ("format", "error") and groups_fired & {rule.group, "error"}:
            continue  # one sentence per exception or format problem: the first explains the rest
        try:
            result = rule.detect(evidence)
        except Exception as error:  # noqa: BLE001 - a broken rule must not hide the others' findings
            evidence.internal_errors.append(f"diagnosis rule {rule.cause}: {type(error).__name__}: {error}")
            continue
        if result:
            cause, sentence = result if isinstance(result, tuple) else (rule.cause, result)
            found.append((cause, sentence))
            groups_fired.add(rule.group)
    return found
