"""From evidence to plain sentences: a table of rules, each a detector and what it tells the student.

:data:`RULES` is read top to bottom. A rule's ``detect(evidence)`` returns the sentence to show,
``(cause, sentence)`` when it can name a finer cause than its own, a list of such pairs for
several independent findings, or ``None``. Groups:

* ``"error"``: the call raised; the first rule that fires explains it, and nothing was returned
  to compare.
* ``"format"``: the returned object is not nested like the parameters (arrays misplaced); the
  first rule that fires explains it and value rules stay silent.
* ``"array"``: one returned array is not usable as it is (its shape, type, NaN); each such
  finding is reported, and the other arrays are still compared by value.
* ``"side_effect"``: each adds its sentence.
* ``"values"``: wrong numbers in the arrays that could be compared; the first rule that fires
  wins (it may name several findings, e.g. a known mistake and a sign), and the last one
  (:func:`_localise`) always fires, so a wrong gradient never goes without a pointer.

Sentences come in the exercise's own words (:mod:`.vocabulary`).
"""
import re
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from .hypotheses import matching_hypothesis
from .vocabulary import MLP, vocabulary_of
from grading.policy.precision import normwise_error


@dataclass
class Evidence:
    """Everything the rules may look at (built by :mod:`grading.gradient_check.pipeline`).

    ``found``/``usable`` are aligned with ``specs``: ``found[i]`` the float64 array as returned
    (any shape) or None, ``usable[i]`` the array in the parameter's shape that was compared, or
    None; ``reference`` is the float64 reference; ``errors[i]`` the normwise error of usable
    entries (else None); ``checks`` maps a check name to its
    :class:`~grading.gradient_check.invariants.CheckResult`.
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
    localised: Optional[tuple] = None   # (cause, sentence) of the exercise's part-by-part probe, if it found one
    internal_errors: list = field(default_factory=list)
    explained: set = field(default_factory=set)     # spec indices an "array" rule has already explained
    shape_only: set = field(default_factory=set)    # spec indices explained only as "wrong shape"
    covered_by_hypothesis: set = field(default_factory=set)  # wrong-shaped arrays a confirmed mistake predicts

    def problems_of(self, kind):
        return [problem for problem in self.problems if problem.kind == kind]

    def failed(self, name):
        check = self.checks.get(name)
        return check is not None and check.passed is False

    @property
    def words(self):
        return vocabulary_of(self.exercise)

    @property
    def layers(self):
        return sorted({spec.layer for spec in self.specs if spec.layer is not None})

    def indices_of_layer(self, layer):
        return [i for i, spec in enumerate(self.specs) if spec.layer == layer]

    @property
    def wrong(self):
        """Indices of parameters whose gradient is usable but outside the tolerance, or unusable."""
        return [i for i, error in enumerate(self.errors) if error is None or error > self.tolerance.rtol]

    @property
    def wrong_values(self):
        """Indices of compared arrays whose values are outside the tolerance, and no array rule explained."""
        return [i for i in self.wrong if self.usable[i] is not None and i not in self.explained]

    @property
    def compared(self):
        """Indices of compared arrays whose reference is not all zero."""
        return [i for i, (s, r) in enumerate(zip(self.usable, self.reference)) if s is not None and np.any(r)]

    @property
    def num_classes(self):
        """K, when the last layer's weight is (K, in) (softmax exercises), else None."""
        weights = [spec for spec in self.specs if spec.role == "weight"]
        return weights[-1].shape[0] if weights and self.exercise.output_bias is not None else None


@dataclass(frozen=True)
class Rule:
    cause: str
    group: str           # "error", "format", "array", "side_effect", "values"
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
_SHAPES = re.compile(r"\(([0-9, ]*)\)")


def _shapes_in(message):
    """The tuples written in an error message, e.g. '(20,10) (20,9)' -> [(20, 10), (20, 9)]."""
    shapes = []
    for text in _SHAPES.findall(message):
        parts = [part.strip() for part in text.split(",") if part.strip()]
        if parts and all(part.isdigit() for part in parts):
            shapes.append(tuple(int(part) for part in parts))
    return shapes


def _classes_from_labels(error, labels, num_classes):
    """The error shows a class axis sized from the batch's labels (max + 1 or the distinct count)."""
    if error is None or num_classes is None or labels is None or len(labels) == 0:
        return None
    labels = np.asarray(labels).astype(np.int64)
    from_batch = {int(labels.max()) + 1, len(np.unique(labels))} - {num_classes}
    if error.type_name == "ValueError":
        widths = {shape[-1] for shape in _shapes_in(error.message) if len(shape) == 2}
        if num_classes in widths and widths & from_batch:
            return min(widths & from_batch)
    if error.type_name == "IndexError":
        sizes = [int(size) for size in re.findall(r"size (\d+)", error.message)]
        if sizes and sizes[-1] in from_batch:
            return sizes[-1]
    return None


def _classes_sentence(width, num_classes, where):
    """``width`` None: the class axis is not seen (the code broadcast it), only that the gradients follow the labels."""
    seen = (f"the class axis has {width} columns instead of K = {num_classes}" if width is not None else
            "so your gradients depend on which classes the batch contains")
    return ("classes_from_batch",
            f"{where} {seen}: the number of classes is "
            f"taken from the batch's labels (y.max() + 1, len(np.unique(y)) or len(set(y))), which depends on "
            f"which classes the batch happens to contain. Use the model's K (the output layer's size).")


def _classes_in_batch(evidence):
    context = evidence.hypothesis_context
    width = _classes_from_labels(evidence.error, None if context is None else context.output, evidence.num_classes)
    if width is None:
        return None
    return _classes_sentence(width, evidence.num_classes, f"Your code raised {evidence.error.describe()}:")


def _hard_coded_classes(evidence):
    """A broadcast of the (B, K) probabilities against a (B, n) array whose n is no size of this model nor
    taken from the batch's labels: a class count written into the code (num_classes = 10)."""
    error, num_classes = evidence.error, evidence.num_classes
    if error is None or num_classes is None or error.type_name != "ValueError" or "broadcast" not in error.message:
        return None
    rows = {shape for shape in _shapes_in(error.message) if len(shape) == 2 and shape[0] == evidence.batch_size}
    model_sizes = {size for spec in evidence.specs for size in spec.shape}
    others = {width for _, width in rows} - model_sizes - {num_classes}
    if num_classes not in {width for _, width in rows} or len(others) != 1:
        return None
    return (f"Your code raised {error.describe()}: the class axis has {others.pop()} columns instead of "
            f"K = {num_classes}, a number of classes written into the code. Take K from the model (the output "
            f"layer's size, W.shape[0] of the last layer), never a constant.")


def _hard_coded_batch_size(evidence):
    """Two 1-D index arrays that do not broadcast, one as long as the batch: a row count written into the code."""
    error = evidence.error
    if error is None or error.type_name not in ("IndexError", "ValueError") or "broadcast" not in error.message:
        return None
    lengths = {shape[0] for shape in _shapes_in(error.message) if len(shape) == 1}
    if evidence.batch_size not in lengths or len(lengths) != 2:
        return None
    written = (lengths - {evidence.batch_size}).pop()
    return (f"Your code raised {error.describe()}: an index has {written} rows where this batch has "
            f"B = {evidence.batch_size}, a batch size written into the code (range({written})). Take it from the "
            f"batch: len(output), range(len(output)).")


def _scalar_only(evidence):
    error = evidence.error
    if error is not None and "truth value of an array" in error.message:
        return (f"Your code raised {error.describe()}. A Python if/else, `and`/`or` or max()/min() treats its "
                f"argument as one number, but here it is a whole array: write the activation and its derivative "
                f"element-wise, e.g. np.maximum(z, 0) and np.where(z > 0, 1.0, 0.0).")
    return None


ELEMENTWISE_PRODUCT = re.compile(r"(?<![*])[*](?![*=])|multiply")


def _elementwise_for_matmul(evidence):
    error = evidence.error
    if error is None or error.type_name != "ValueError" or "broadcast" not in error.message:
        return None
    line = error.where.split(": ", 1)[-1] if error.where else ""
    if line and not ELEMENTWISE_PRODUCT.search(line):
        return None   # the student's line has no element-wise product: another rule (or none) explains it
    shapes = [shape for shape in _shapes_in(error.message) if len(shape) == 2]
    if len(shapes) >= 2:
        (a, b), (c, d) = shapes[:2]
        if b == c and (a, b) != (c, d):
            return (f"Your code raised {error.describe()}: an ({a}, {b}) and a ({c}, {d}) array are multiplied "
                    f"element by element (* or np.multiply), where the product of the two matrices was meant: "
                    f"use @ (np.dot), which gives ({a}, {d}).")
    return None


def _shape_exception(evidence):
    error = evidence.error
    if error is not None and error.type_name == "ValueError" and any(w in error.message for w in SHAPE_ERROR_WORDS):
        batch = evidence.batch_size
        sizes = [int(size) for pair in re.findall(r"size (\d+) is different from (\d+)", error.message)
                 for size in pair]
        hint = ""
        if batch in sizes and len(set(sizes)) == 2:
            other = (set(sizes) - {batch}).pop()
            guess = " (a per-example matrix kept for one example only?)" if evidence.words is MLP else ""
            hint = (f" One operand has one row per example (B = {batch}) where the other has {other}: an array "
                    f"that should be (B, ...) is not{guess}.")
        return (f"Your code raised {error.describe()}. Shapes do not line up: {evidence.words.shapes}.{hint}")
    return None


def _other_exception(evidence):
    error = evidence.error
    if error is None:
        return None
    if getattr(error, "inside", ""):
        return (f"Your code raised {error.type_name}: {error.message} inside {error.inside}, called from your line "
                f"{error.where}: check what that line passes in (shapes, dtypes, None).")
    if error.where:
        return f"Your code raised {error.describe()}; fix that line first."
    return f"Your code raised {error.describe()}."


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


def _returned_pairs_match(evidence, layers):
    """The short returned list holds exactly the reference gradients of ``layers``, in order."""
    raw = evidence.raw
    for position, layer in enumerate(layers):
        try:
            pair = raw[position]
            arrays = [np.asarray(pair[k], dtype=np.float64) for k in range(len(evidence.indices_of_layer(layer)))]
        except Exception:  # noqa: BLE001 - not the shape of a list of pairs
            return False
        wanted = [evidence.reference[i] for i in evidence.indices_of_layer(layer)]
        if not all(_close(a, w, evidence.tolerance) for a, w in zip(arrays, wanted)):
            return False
    return True


def _absent(evidence, index):
    """No entry at all for parameter ``index`` (not one that is there but is no array)."""
    return any(problem.kind in ("missing", "none_returned") and problem.spec in (evidence.specs[index], None)
               for problem in evidence.problems)


def _missing_layer(evidence):
    short = [p for p in evidence.problems_of("wrong_length") if isinstance(evidence.raw, (list, tuple))
             and len(evidence.raw) < len(evidence.layers)]
    if short:
        layers = evidence.layers
        if len(evidence.raw) == len(layers) - 1 and _returned_pairs_match(evidence, layers[:-1]):
            return (f"Only {len(evidence.raw)} layer(s) of gradients were returned for a {len(layers)}-layer model, "
                    f"and they are layers {layers[0]} to {layers[-2]}: the OUTPUT layer's gradients are missing "
                    f"(stored under another key or index, e.g. 0-based for the output layer and 1-based in the "
                    f"loop?). Return one [dW, db] per layer, layer 0 first.")
        return (f"Only {len(evidence.raw)} layer(s) of gradients were returned for a {len(layers)}-layer "
                f"model: a layer is missing (does the backward loop reach layer 0?). Return one [dW, db] "
                f"per layer, layer 0 first.")
    for layer in evidence.layers:
        indices = evidence.indices_of_layer(layer)
        reference_zero = all(not np.any(evidence.reference[i]) for i in indices)
        if reference_zero:
            continue
        if all(_absent(evidence, i) for i in indices) or all(
                evidence.found[i] is not None and evidence.found[i].shape == evidence.reference[i].shape
                and not np.any(evidence.found[i]) for i in indices):
            return (f"Layer {layer}'s gradients are {'missing' if _absent(evidence, indices[0]) else 'all zero'} "
                    f"although its parameters change the loss: "
                    + evidence.words.missing_layer.format(layer=layer) + ".")
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


# ---- one array at a time (each finding reported; the other arrays are still compared) -------

def _explain(evidence, index):
    evidence.explained.add(index)


def _not_arrays(evidence):
    problems = (evidence.problems_of("missing") + evidence.problems_of("not_an_array")
                + evidence.problems_of("not_numeric"))
    for problem in problems:
        if problem.spec is not None:
            _explain(evidence, evidence.specs.index(problem.spec))
    if problems:
        return problems[0].message + "."
    return None


def _transposed(evidence):
    labels = []
    for i, spec in enumerate(evidence.specs):
        found, reference = evidence.found[i], evidence.reference[i]
        if found is None or spec.is_bias or found.ndim != 2 or i in evidence.explained:
            continue
        if found.shape == reference.shape and found.shape[0] != found.shape[1]:
            continue
        if found.shape == reference.T.shape and _close(found.T, reference, evidence.tolerance) and (
                found.shape != reference.shape or not _close(found, reference, evidence.tolerance)):
            _explain(evidence, i)
            labels.append(f"{spec.label} (found {found.shape}, the weight is {tuple(spec.shape)})")
    if not labels:
        return None
    return (f"The gradient of {', '.join(labels)} is transposed; a weight is (out, in). "
            f"{evidence.words.weight_layout[0].upper()}{evidence.words.weight_layout[1:]}.")


def _bias_summed_over_everything(evidence):
    """N3: one number (the sum over examples AND units) instead of one per unit."""
    labels = []
    for i, spec in enumerate(evidence.specs):
        found, reference = evidence.found[i], evidence.reference[i]
        if not spec.is_bias or found is None or i in evidence.explained or reference.size < 2 or found.size == 0:
            continue
        total = float(np.sum(reference))
        constant = found.size == 1 or (found.size == reference.size and np.ptp(found) == 0 and np.ptp(reference) > 0)
        if constant and abs(float(found.ravel()[0]) - total) <= evidence.tolerance.hypothesis_match * max(
                1.0, float(np.max(np.abs(reference)))):
            _explain(evidence, i)
            labels.append(f"{spec.label} (found shape {found.shape})")
    if not labels:
        return None
    return (f"The gradient of {', '.join(labels)} is one number shared by every unit: the error is summed over "
            f"every axis (np.sum or np.mean without axis=0). Each unit has its own bias gradient: "
            f"{evidence.words.bias_reduce}.")


def _weight_is_one_number(evidence):
    """N13: a weight gradient that is a single number: np.dot of two 1-D vectors (an inner product); or a
    coefficient vector's (1-D) gradient that is one number: a mean or sum over every axis."""
    matrices, vectors = [], []
    for i, spec in enumerate(evidence.specs):
        found = evidence.found[i]
        if found is None or i in evidence.explained:
            continue
        if len(spec.shape) == 1 and spec.shape[0] >= 2 and found.size == 1:
            vectors.append(i)
        elif not spec.is_bias and len(spec.shape) == 2 and min(spec.shape) >= 2 and (found.size == 1 or (
                found.shape == tuple(spec.shape) and np.ptp(found) == 0 and np.any(found)
                and np.ptp(evidence.reference[i]) > 0)):
            matrices.append(i)
    findings = []
    for indices, cause in ((matrices, "inner_for_outer"), (vectors, "one_number_for_vector")):
        for i in indices:
            _explain(evidence, i)
        labels = ", ".join(f"{evidence.specs[i].label} (found shape {evidence.found[i].shape})" for i in indices)
        if labels and cause == "inner_for_outer":
            findings.append((cause, f"The gradient of {labels} is one number where a matrix (out, in) is needed: "
                                    f"np.dot of two 1-D vectors is their INNER product, a scalar. One example's weight "
                                    f"gradient is the OUTER product np.outer(error, layer_input); for a batch, "
                                    f"error.T @ layer_input."))
        elif labels:
            layout = evidence.words.weight_layout
            findings.append((cause, f"The gradient of {labels} is one number where one per entry is needed: a mean "
                                    f"or sum taken over every axis (np.mean or np.sum of the whole product) collapsed "
                                    f"the entries. {layout[0].upper()}{layout[1:]}."))
    return findings or None


def _bias_axis(evidence):
    """Bias gradients of the wrong shape: not reduced over the examples, reduced over the wrong axis,
    or right values with axes of length 1 missing or added. Shapes decide only when they can: with
    B equal to the layer's width the values tell which axis was summed."""
    batch, found_by_cause = evidence.batch_size, {}
    for i, spec in enumerate(evidence.specs):
        found = evidence.found[i]
        if not spec.is_bias or found is None or found.shape == tuple(spec.shape) or i in evidence.explained:
            continue
        width = int(np.prod(spec.shape))
        right_values = found.size == width and _close(found.reshape(spec.shape), evidence.reference[i],
                                                      evidence.tolerance)
        if found.ndim == 2 and found.shape == (batch, width) and batch != 1 and width != 1 and _close(
                found.sum(axis=0).reshape(spec.shape), evidence.reference[i], evidence.tolerance):
            cause = "bias_not_summed"
        elif batch in found.shape and batch != width and found.size in (batch, batch * width) and not right_values:
            # (with B equal to the width a flat or column shape does not say which axis was summed)
            cause = "bias_wrong_axis" if found.size == batch else "bias_not_summed"
        elif found.size == width:
            cause = "bias_shape"
        elif width == 1 and found.size > 1 and _close(np.sum(found).reshape(spec.shape), evidence.reference[i],
                                                      evidence.tolerance):
            cause = "bias_partly_summed"   # one bias shared along two axes, summed along one of them only
        else:
            continue
        _explain(evidence, i)
        found_by_cause.setdefault(cause, []).append((spec, found.shape, right_values))
    words = evidence.words
    reduce = f"{words.bias_reduce[0].upper()}{words.bias_reduce[1:]}"
    findings = []
    for cause, entries in found_by_cause.items():
        labels = ", ".join(f"{spec.label} {shape}" for spec, shape, _ in entries)
        expected = tuple(entries[0][0].shape)
        if cause == "bias_not_summed":
            sentence = (f"Bias gradient shapes {labels}: one row per example, the per-example bias gradients are "
                        f"never summed. {reduce}, shape {expected}.")
        elif cause == "bias_partly_summed":
            sentence = (f"Bias gradient shapes {labels}: summed over one axis only, and its entries add up to the "
                        f"right gradient. {reduce}, shape {expected}.")
        elif cause == "bias_wrong_axis":
            sentence = f"Bias gradient shapes {labels}: the error is summed over the wrong axis. {reduce}, shape {expected}."
        else:
            values = ("its values are right" if all(right for *_, right in entries) else
                      "its values were compared in the bias's shape")
            keepdims = " (keepdims=True when summing over axis 0)" if words is MLP else ""
            sentence = (f"Bias gradient shapes {labels}: a bias gradient must have the bias's shape, "
                        f"{expected}{keepdims}; {values}.")
        findings.append((cause, sentence))
    return findings or None


def _wrong_shape(evidence):
    problems = [p for p in evidence.problems_of("wrong_shape") + evidence.problems_of("singleton_axes")
                if p.spec is None or evidence.specs.index(p.spec) not in evidence.explained]
    named = _hypothesis_for_shapes(evidence, [evidence.specs.index(p.spec) for p in problems if p.spec is not None])
    if named:
        return named
    for problem in problems:
        if problem.spec is not None:
            _explain(evidence, evidence.specs.index(problem.spec))
            evidence.shape_only.add(evidence.specs.index(problem.spec))
    return problems[0].message + "." if problems else None


def _not_finite(evidence):
    problems = evidence.problems_of("not_finite")
    if problems:
        return problems[0].message.rstrip(".") + f". {evidence.words.not_finite[0].upper()}{evidence.words.not_finite[1:]}."
    return None


# ---- side effects and probes ---------------------------------------------------------------

def _modifies_parameters(evidence):
    if evidence.failed("parameters_unchanged"):
        changed = ", ".join(evidence.checks["parameters_unchanged"].evidence["changed"])
        return (f"{evidence.words.code[0].upper()}{evidence.words.code[1:]} changed the model's parameters "
                f"({changed}): it must only compute gradients. Leave the update to update(), and copy an array "
                f"before any in-place operation (-=, *=).")
    return None


def _modifies_input(evidence):
    if evidence.failed("input_unchanged"):
        return ("Your code changed the batch it was given (an in-place operation on the input or on an "
                "array that shares its memory): compute new arrays instead (a = a * x, not a *= x).")
    return None


def _accumulates(evidence):
    if evidence.failed("repeat_call"):
        ratio = evidence.checks["repeat_call"].evidence.get("ratio", float("nan"))
        if np.isfinite(ratio) and abs(ratio - 2.0) < 0.01:
            return ("A second call returns twice the gradients: something accumulates across calls (a buffer kept "
                    "on self, or += into stored arrays). Start every call from fresh zeros.")
        return ("Calling it twice on the same batch gives different results: the function keeps "
                "state between calls or uses randomness. It must depend only on the parameters and the batch.")
    return None


def _unstable_softmax(evidence):
    if not evidence.failed("logit_shift"):
        return None
    found = evidence.checks["logit_shift"].evidence
    shift = found.get("shift")
    if found.get("overflow", False):
        return (f"With every logit shifted by +{shift:g} (which leaves the softmax unchanged) your gradients "
                f"overflow: exp(z) is taken without subtracting the row maximum. Use "
                f"p = exp(z - logsumexp(z)) or the log-probabilities from the forward pass.")
    if found.get("difference", 0.0) > 1e-2:
        return "output_not_shift_invariant", (
            f"With every logit shifted by +{shift:g} (which leaves a softmax over the classes unchanged) your "
            f"gradients change, and nothing overflows: the output layer is not a softmax over each example's "
            f"classes (a sigmoid per class, or a normalisation over the batch axis?).")
    return (f"With every logit shifted by +{shift:g} (which leaves the softmax unchanged) your gradients change by "
            f"{found.get('difference', float('nan')):.1e}, more than the rounding of large logits explains: "
            f"subtract the row maximum before exp (or use logsumexp), in one precision throughout.")


def _coupled_examples(evidence):
    """Wrong gradients, and a batch's gradient that is not a fixed multiple of its examples' mean: each
    example's result depends on the others (a softmax or a normalisation over the batch axis)."""
    if not evidence.failed("mean_of_examples") or not evidence.wrong:
        return None
    check = evidence.checks["mean_of_examples"].evidence
    ratio = check.get("ratio", float("nan"))
    size = check.get("batch_size", 2)
    if "error" in check or not np.isfinite(ratio) or any(abs(ratio - factor) <= 1e-3 * factor
                                                         for factor in (size, 1.0 / size, 1.0)):
        return None   # a constant factor is a batch-mean mistake, which the value rules name
    return ("The gradient of a few examples together is not the mean of their single-example gradients (nor a "
            "fixed multiple of it): your code mixes the examples of a batch, or treats some of them differently. "
            "Look for a normalisation over the batch axis (each example's row is normalised on its own, axis=1 "
            "for a (B, K) array) and for a per-example loop that fills only some rows.")


def _not_a_mean(evidence):
    if not evidence.failed("mean_of_examples") or evidence.wrong:
        return None
    check = evidence.checks["mean_of_examples"].evidence
    if "error" in check:
        width = _classes_from_labels(check.get("student_error"), check.get("labels"), evidence.num_classes)
        if width is not None:
            return _classes_sentence(width, evidence.num_classes,
                                     f"On this batch the gradients are right, but on a smaller batch (labels "
                                     f"{check['labels']}) your code raised {check['error']}:")
        return ("not_a_mean", f"On this batch the gradients are right, but on a smaller batch or a single example "
                f"the call failed ({check['error']}): the code assumes something about the batch (its size, "
                f"or which classes it contains). It must work for any batch.")
    ratio, size = check.get("ratio", float("nan")), check.get("batch_size", 2)
    if np.isfinite(ratio) and abs(ratio - size) <= 1e-3 * size:
        return (f"On this batch the gradients are right, but for {size} examples together they are {size} times the "
                f"mean of the single-example gradients: the code divides by a hard-coded batch size, not by len(output).")
    labels, top = check.get("labels") or [], (evidence.num_classes or 0) - 1
    if labels and max(labels) == top and min(labels) < top:
        # the full batch holds every class up to K-1, so a class count read from its labels is right there only
        return _classes_sentence(None, evidence.num_classes,
                                 f"On this batch the gradients are right, but an example of class {min(labels)} "
                                 f"alone gets a different gradient than beside one of class {top}:")
    factor = (f"they are {ratio:.3g} times the mean of the single-example gradients"
              if np.isfinite(ratio) and abs(ratio - 1.0) > 1e-3 else
              "they differ from the mean of the single-example gradients")
    return (f"On this batch the gradients are right, but for a few examples together {factor}: an example's gradient "
            f"depends on what else is in the batch (its size or its labels). It must depend on that example only.")


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


# ---- wrong values (exclusive; on the arrays that could be compared) ------------------------

def _ratio(student, reference):
    """Least-squares factor c with student ~ c * reference, and whether it explains the array."""
    c = float(np.sum(student * reference) / np.sum(reference * reference))
    return c, np.isfinite(c) and normwise_error(student, c * reference) <= 1e-6 * max(1.0, abs(c))


def _ratios(evidence):
    """Per-parameter factor c (student ~ c * reference) where it explains the array, else None."""
    ratios = []
    for student, reference in zip(evidence.usable, evidence.reference):
        if student is None or not np.any(reference):
            ratios.append(None)
            continue
        c, explained = _ratio(student, reference)
        ratios.append(c if explained else None)
    return ratios


def _all_near(values, target):
    return bool(values) and all(v is not None and abs(v - target) <= 1e-3 * abs(target) for v in values)


def _sign(evidence):
    ratios = _ratios(evidence)
    compared = [ratios[i] for i in evidence.compared]
    if len(compared) >= 1 and _all_near(compared, -1.0):
        return f"Every gradient has the wrong sign: {evidence.words.sign}."
    return None


def _bias_sign(evidence):
    """Every bias gradient is minus the right one and every weight gradient right: z = w.x - theta's convention."""
    ratios, wrong = _ratios(evidence), set(evidence.wrong_values)
    biases = [i for i in evidence.compared if evidence.specs[i].role == "bias"]
    if not biases or wrong != set(biases) or not _all_near([ratios[i] for i in biases], -1.0):
        return None
    return (f"Every bias gradient has the wrong sign while every weight gradient is right: a bias is ADDED to the "
            f"pre-activation (a threshold convention, w.x - theta, subtracts it and flips its gradient). To get it: "
            f"{evidence.words.bias_reduce}, with no minus sign.")


def _scale_sentence(evidence, ratio, labels=None):
    """A sentence for gradients that are ``ratio`` times the right ones, or None when that says nothing."""
    batch = evidence.batch_size
    which = "All gradients are" if labels is None else f"The gradients of {labels} are"
    if batch >= 2 and abs(ratio - batch) <= 1e-3 * batch:
        return "missing_batch_mean", (
            f"{which} B = {batch} times too large: that is the gradient of the SUM of the losses. The loss is "
            f"the MEAN over the batch: {evidence.words.fix_mean}.")
    if batch >= 2 and abs(ratio - 1.0 / batch) <= 1e-3 / batch:
        return "extra_batch_mean", (
            f"{which} B = {batch} times too small: the batch size is divided out twice (e.g. error / B "
            f"and then np.mean). {evidence.words.fix_mean[0].upper()}{evidence.words.fix_mean[1:]}.")
    return None


def _batch_scale(evidence):
    """All wrong arrays B or 1/B times the right ones, possibly with the sign flipped as well."""
    ratios = _ratios(evidence)
    wrong = [i for i in evidence.wrong_values if ratios[i] is not None]
    if not wrong or len(wrong) != len(evidence.wrong_values):
        return None
    every = len(wrong) == len(evidence.compared)
    labels = None if every else ", ".join(evidence.specs[i].label for i in wrong)
    values = [ratios[i] for i in wrong]
    for sign in (1.0, -1.0):
        for target in (evidence.batch_size, 1.0 / max(evidence.batch_size, 1)):
            if _all_near(values, sign * float(target)):
                findings = [_scale_sentence(evidence, abs(values[0]), labels)]
                if sign < 0:
                    findings.insert(0, ("wrong_sign", f"Every gradient has the wrong sign: {evidence.words.sign}."))
                return findings
    return None


def _dimension_names(evidence):
    """Sizes the model's shapes contain, with their names, to name a wrong divisor."""
    names = {}
    for spec in evidence.specs:
        if spec.role == "weight" and len(spec.shape) == 2:
            names.setdefault(spec.shape[1], f"layer {spec.layer}'s input width (W.shape[1])")
            names.setdefault(spec.shape[0], f"layer {spec.layer}'s output width (W.shape[0])")
    return names


def _layer_scales(evidence):
    """Each layer's gradients are its own constant times the right ones (N2, V2): the 1/B is replaced by
    another number, or applied again as the error is propagated."""
    layers = evidence.layers
    if len(layers) < 2:
        return None
    ratios, batch = _ratios(evidence), evidence.batch_size
    scales = {}
    for layer in layers:
        indices = [i for i in evidence.indices_of_layer(layer) if i in evidence.compared]
        values = [ratios[i] for i in indices]
        if not values or any(v is None for v in values) or not all(abs(v - values[0]) <= 1e-3 * abs(values[0])
                                                                    for v in values):
            return None
        scales[layer] = values[0]
    if len({round(np.log(abs(s)), 3) for s in scales.values()}) < 2 or any(s <= 0 for s in scales.values()):
        return None
    # V2: right at the top, then 1/B more per layer further down.
    top = layers[-1]
    if all(abs(scales[layer] * batch ** (top - layer) - 1.0) < 1e-3 for layer in layers):
        return "batch_mean_in_propagation", (
            f"Layer {top}'s gradients are right, but each layer below is a further B = {batch} times too small "
            f"(layer {layers[0]}: 1/{batch}^{top - layers[0]}): the 1/B is applied again to the error propagated "
            f"to each layer. Divide by B once, at the output, and never again.")
    names = _dimension_names(evidence)
    divisors = {layer: batch / scale for layer, scale in scales.items()}
    if all(abs(d - round(d)) < 1e-6 and int(round(d)) in names for d in divisors.values()):
        described = "; ".join(f"layer {layer} divides by {int(round(d))} = {names[int(round(d))]}"
                              for layer, d in divisors.items())
        return "mean_over_wrong_count", (
            f"Each layer's gradients are B / n times the right ones, with n a size of the layer, not the batch: "
            f"{described}. The loss is the mean over the B = {batch} examples: divide by len(output), the number "
            f"of examples, not by a weight's shape.")
    named = _hypotheses(evidence)   # a mistake the exercise re-enacts names what the factors only describe
    if named:
        return named
    described = ", ".join(f"layer {layer} x{scale:.3g}" for layer, scale in scales.items())
    return "layer_scales", (f"Each layer's gradients point the right way but are scaled by a different factor "
                            f"({described}): a factor is applied to some layers' gradients, or to the error on its "
                            f"way down to them.")


def _vanishing(evidence):
    """N7: every gradient is essentially zero but not exactly: the output error cancels out."""
    compared = evidence.compared
    if not compared or len(compared) != len([r for r in evidence.reference if np.any(r)]):
        return None
    sizes = [float(np.max(np.abs(evidence.usable[i]))) / float(np.max(np.abs(evidence.reference[i])))
             for i in compared]
    if max(sizes) < 1e-8 and any(np.any(evidence.usable[i]) for i in compared):
        return "output_error_vanishes", (
            f"Every gradient is about {max(sizes):.0e} of its right size, i.e. zero up to rounding: "
            f"{evidence.words.output_start} cancels out. A softmax Jacobian summed over one axis is zero (each "
            f"row of diag(p) - p p^T sums to 0); with the cross-entropy the error at the softmax input is simply "
            f"(p - onehot(y)) / B." if evidence.words is MLP else
            f"Every gradient is about {max(sizes):.0e} of its right size, i.e. zero up to rounding: "
            f"{evidence.words.output_start} cancels out somewhere.")
    return None


def _zero_gradient(evidence):
    """A parameter whose gradient is exactly zero although the loss depends on it."""
    for i in evidence.wrong_values:
        student, reference = evidence.usable[i], evidence.reference[i]
        if np.any(student) or not np.any(reference):
            continue
        label = evidence.specs[i].label
        if evidence.exercise.grades_forward:
            return "unused_parameter", (f"Your forward pass never uses the {label}: its gradient is zero, but the "
                                        f"loss depends on it (z = a @ W.T + b in every layer).")
        return "zero_gradient", (f"The {label} gradient is all zero although the loss depends on it: is it "
                                 f"computed at all, or overwritten with zeros?")
    return None


def _misplaced_layer(evidence):
    """V3: a layer's entry holds another layer's (right) gradients, e.g. 0- and 1-based keys mixed."""
    for layer in evidence.layers:
        indices = evidence.indices_of_layer(layer)
        if not any(i in evidence.wrong for i in indices):
            continue
        for other in evidence.layers:
            if other == layer:
                continue
            wanted = [evidence.reference[i] for i in evidence.indices_of_layer(other)]
            found = [evidence.usable[i] if evidence.usable[i] is not None else evidence.found[i] for i in indices]
            if len(found) == len(wanted) and all(_close(f, w, evidence.tolerance) for f, w in zip(found, wanted)):
                return (f"Layer {layer}'s entry holds layer {other}'s gradients (right values, wrong place): the "
                        f"gradients of layer {other} are stored at index {layer}, so layer {layer}'s own are lost "
                        f"(0- and 1-based indices mixed?). Layer n's gradients belong at index n.")
    return None


def _hypotheses(evidence):
    if evidence.hypothesis_context is None or not evidence.exercise.hypotheses:
        return None
    student = [u if u is not None else f for u, f in zip(evidence.usable, evidence.found)]
    batch = evidence.batch_size
    scales = (1.0, -1.0, float(batch), 1.0 / batch) if batch >= 2 else (1.0, -1.0)
    match = matching_hypothesis(evidence.exercise.hypotheses, evidence.hypothesis_context, student,
                                evidence.tolerance.hypothesis_match, evidence.wrong, scales)
    if match is None:
        return None
    hypothesis, scale = match
    evidence.covered_by_hypothesis = {i for i, u in enumerate(evidence.usable) if u is None and student[i] is not None}
    findings = [(hypothesis.cause, hypothesis.sentence)]
    if scale == -1.0:
        findings.append(("wrong_sign", f"In addition, every gradient has the wrong sign: {evidence.words.sign}."))
    elif scale != 1.0:
        findings.append(_scale_sentence(evidence, scale))
    return findings


def _hypothesis_for_shapes(evidence, indices):
    """The exercise's re-enacted mistake that predicts the wrong-shaped arrays ``indices`` (shape and values), as
    ``[(cause, sentence)]``, or None. Only when nothing else is wrong: the values rules judge the rest."""
    if (not indices or evidence.hypothesis_context is None or not evidence.exercise.hypotheses
            or any(i not in indices for i in evidence.wrong)):
        return None
    student = [u if u is not None else f for u, f in zip(evidence.usable, evidence.found)]
    match = matching_hypothesis(evidence.exercise.hypotheses, evidence.hypothesis_context, student,
                                evidence.tolerance.hypothesis_match, indices)
    if match is None or match[1] != 1.0:
        return None
    for i in indices:
        _explain(evidence, i)
    return [(match[0].cause, match[0].sentence)]


def _weight_decay(evidence):
    """Every wrong array is a weight whose gradient is the reference plus one common lambda * W (an L2 penalty's
    gradient), and every bias is right."""
    context = evidence.hypothesis_context
    wrong = evidence.wrong_values
    if context is None or not wrong or any(evidence.specs[i].role != "weight" for i in wrong):
        return None
    lambdas = []
    for i in wrong:
        weight, extra = context.parameters[i], evidence.usable[i] - evidence.reference[i]
        if weight is None or np.shape(extra) != np.shape(weight) or not np.any(weight):
            return None
        lambdas.append(float(np.sum(extra * weight) / np.sum(weight * weight)))
        if normwise_error(extra, lambdas[-1] * weight) > 1e-6:
            return None
    if any(abs(value - lambdas[0]) > 1e-6 * abs(lambdas[0]) for value in lambdas) or lambdas[0] == 0:
        return None
    return (f"Each weight gradient has an extra {lambdas[0]:.3g} * W in it (the gradient of an L2 penalty, weight "
            f"decay), but this exercise's loss has no penalty term. Backpropagation returns the loss's own "
            f"gradient; a penalty belongs to the training step, if anywhere.")


def _fixed_divisor(evidence, ratio):
    """``d`` when the gradients are ``ratio`` times the right ones because the code divides by a constant ``d``
    instead of B: the mean-of-examples check then finds a few examples' gradient to be their sum."""
    check = evidence.checks.get("mean_of_examples")
    if check is None or check.passed is not False or "error" in check.evidence or not ratio > 0:
        return None
    together, size = check.evidence.get("ratio", float("nan")), check.evidence.get("batch_size", 2)
    if not (np.isfinite(together) and abs(together - size) <= 1e-3 * size):
        return None
    return evidence.batch_size / ratio


def _common_scale(evidence):
    ratios = _ratios(evidence)
    values = [ratios[i] for i in evidence.compared]
    if (values and all(v is not None for v in values) and all(abs(v - values[0]) <= 1e-3 * abs(values[0])
                                                              for v in values)
            and np.isfinite(values[0]) and abs(values[0] - 1.0) > 1e-3 and values[0] != 0):
        rate = getattr(getattr(evidence.hypothesis_context, "model", None), "learning_rate", None)
        if isinstance(rate, (int, float)) and rate > 0 and abs(values[0] + rate) <= 1e-3 * rate:
            return "returned_update", (f"Every gradient is minus the learning rate ({rate:g}) times the right one: "
                                       f"your code returns the update step (-learning_rate * gradient), not the "
                                       f"gradient. Return the gradients; the training loop takes the step.")
        half_sum = evidence.batch_size / 2
        if evidence.words.half_sum and evidence.batch_size >= 2 and abs(values[0] - half_sum) <= 1e-3 * half_sum:
            return "half_sum_of_squares", (f"Every gradient is B / 2 = {half_sum:g} times the right one: "
                                           f"{evidence.words.half_sum}.")
        divisor = _fixed_divisor(evidence, values[0])
        if divisor is not None:
            return "not_a_mean", (
                f"Every gradient is {values[0]:.4g} times the right one, and for a few examples together it is the "
                f"SUM, not the mean, of their single-example gradients: your code divides by a fixed number, "
                f"about {divisor:.6g}, not by this batch's size B = {evidence.batch_size}. Divide by len(output).")
        classes = evidence.num_classes
        if classes and classes > 2 and abs(values[0] * classes - 1.0) <= 1e-3:
            return "mean_over_wrong_count", (
                f"Every gradient is 1/K = 1/{classes} of the right one: the mean is taken over the B * K entries of "
                f"the (B, K) one-hot (np.mean, or / y.size), not over the B examples. Sum over the classes, "
                f"divide by B = {evidence.batch_size}.")
        for factor, wording in ((0.5, "half"), (2.0, "twice")):
            if abs(values[0] - factor) <= 1e-3 * factor:
                return "factor_two", (f"Every gradient is {wording} the right one: a factor 2 is "
                                      f"{'missing' if factor == 0.5 else 'extra'} (the derivative of a square r**2 "
                                      f"is 2 * r; a 1/2 in front of a squared loss cancels it).")
        return (f"Every gradient is {values[0]:.4g} times the right one: the directions are right but a constant "
                f"factor is off (learning rate, batch size or a 1/2 left in the formula?).")
    return None


def _precision(evidence):
    errors = [evidence.errors[i] for i in evidence.wrong_values]
    if not errors or not all(e is not None and e <= 1e-3 for e in errors):
        return None
    if evidence.tolerance.approximate_float64:
        return "approximate_formula", (
            f"The gradients agree with the reference only to about {max(errors):.0e}, and your code computes in "
            f"float64 ({evidence.tolerance.float64_reason}), so this is not rounding: the formula itself is approximate (a finite-difference derivative, a small constant "
            f"added to avoid a division by zero, a clipped value?). Backpropagation gives the exact derivative.")
    return (f"The gradients agree only to about {max(errors):.0e}: right formula, lost precision. Some step "
            f"runs in a low precision (float16, or float32 with a large sum?) while the result is compared as "
            f"{evidence.tolerance.dtype.name}; keep one precision throughout.")


def _probed_part(evidence):
    """The first wrong part the exercise's probe found in the student's code (a VJP rule, backward_pass): where
    it fires, it is the finding, and what the model's gradients show of it is not repeated (:data:`SYMPTOMS`)."""
    return evidence.localised


def _what_is_known(evidence, indices):
    """What the difference of the first wrong array in ``indices`` is, when no named cause fits: not a constant
    factor, and which entries are right or zero (' (dW1: not a constant factor of the right one; 12 of 40
    entries right)'), or ''."""
    for i in sorted(indices):
        student, reference = evidence.usable[i], evidence.reference[i]
        if student is None or reference is None or np.shape(student) != np.shape(reference) or not np.any(reference):
            continue
        facts = []
        _, explained = _ratio(student, reference)
        if not explained:
            facts.append("not a constant factor of the right one")
        scale = np.max(np.abs(reference))
        right = int(np.sum(np.abs(student - reference) <= evidence.tolerance.rtol * scale))
        zero = int(np.sum((student == 0) & (reference != 0)))
        if right:
            facts.append(f"{right} of {student.size} entries right")
        if zero:
            facts.append(f"{zero} entries zero where the right ones are not")
        return f" ({evidence.specs[i].label}: {'; '.join(facts)})" if facts else ""
    return ""


def _localise(evidence):
    wrong = set(evidence.wrong_values)
    if not wrong:
        return None
    words = evidence.words
    layers = evidence.layers
    def with_known(sentence, indices):
        return sentence.rstrip(".") + _what_is_known(evidence, indices) + "."

    if not layers:
        labels = ", ".join(evidence.specs[i].label for i in sorted(wrong))
        return with_known(words.unnamed_wrong.format(labels=labels), wrong)
    wrong_layers = sorted({evidence.specs[i].layer for i in wrong})
    last = layers[-1]
    if last in wrong_layers:
        in_last = {i for i in wrong if evidence.specs[i].layer == last}
        roles = {evidence.specs[i].role for i in in_last}
        other_right = [i for i in evidence.indices_of_layer(last) if i in evidence.compared and i not in wrong]
        one_wrong = {"weight": words.top_weight_only_wrong, "bias": words.top_bias_only_wrong}
        if len(roles) == 1 and other_right and one_wrong.get(next(iter(roles))):
            return with_known(one_wrong[next(iter(roles))], in_last)
        return with_known(words.top_layer_wrong.format(what=" and ".join(sorted(roles))), in_last)
    top = max(wrong_layers)
    right = f"Layer {last} is" if top + 1 == last else f"Layers {top + 1} to {last} are"
    return with_known(words.lower_layer_wrong.format(right=right, top=top, above=top + 1),
                      {i for i in wrong if evidence.specs[i].layer == top})


RULES = (
    Rule("probed_part", "probe", _probed_part),
    Rule("not_implemented", "error", _not_implemented),
    Rule("classes_from_batch", "error", _classes_in_batch),
    Rule("hard_coded_classes", "error", _hard_coded_classes),
    Rule("hard_coded_batch_size", "error", _hard_coded_batch_size),
    Rule("scalar_only_code", "error", _scalar_only),
    Rule("elementwise_for_matmul", "error", _elementwise_for_matmul),
    Rule("shape_mismatch_in_code", "error", _shape_exception),
    Rule("exception", "error", _other_exception),
    Rule("none_returned", "format", _none_returned),
    Rule("structure", "format", _structure),
    Rule("shared_gradient_lists", "format", _shared_lists),
    Rule("forgot_layer", "format", _missing_layer),
    Rule("reversed_layer_order", "format", _reversed_order),
    Rule("layers_off_by_one", "format", _off_by_one),
    Rule("not_an_array", "array", _not_arrays),
    Rule("transposed_weight", "array", _transposed),
    Rule("bias_summed_over_everything", "array", _bias_summed_over_everything),
    Rule("bias_wrong_axis", "array", _bias_axis),
    Rule("inner_for_outer", "array", _weight_is_one_number),
    Rule("wrong_shape", "array", _wrong_shape),
    Rule("not_finite", "array", _not_finite),
    Rule("modifies_parameters", "side_effect", _modifies_parameters),
    Rule("modifies_input", "side_effect", _modifies_input),
    Rule("accumulates_between_calls", "side_effect", _accumulates),
    Rule("unstable_softmax", "side_effect", _unstable_softmax),
    Rule("not_a_mean", "side_effect", _not_a_mean),
    Rule("examples_coupled", "side_effect", _coupled_examples),
    Rule("loss_mismatch", "side_effect", _loss_mismatch),
    Rule("wrong_sign", "values", _sign),
    Rule("bias_wrong_sign", "values", _bias_sign),
    Rule("batch_mean", "values", _batch_scale),
    Rule("layer_scales", "values", _layer_scales),
    Rule("output_error_vanishes", "values", _vanishing),
    Rule("zero_gradient", "values", _zero_gradient),
    Rule("misplaced_layer", "values", _misplaced_layer),
    Rule("hypothesis", "values", _hypotheses),
    Rule("weight_decay", "values", _weight_decay),
    Rule("common_scale", "values", _common_scale),
    Rule("precision", "values", _precision),
    Rule("localised", "values", _localise),
)

VALUE_CAUSES_EXPLAINING_COUPLING = {"derivative_of_error", "batch_mean_in_propagation", "output_error_vanishes",
                                    "one_example_only", "softmax_over_batch",
                                    "missing_batch_mean", "weight_decay", "modifies_parameters"}
EXCLUSIVE = {"error", "format", "values"}     # the first rule of these groups that fires explains the rest
# What a wrong part found by the exercise's probe shows in the model's gradients: not causes of their own.
SYMPTOMS = {"error", "format", "array", "values"}
SYMPTOM_RULES = {"not_a_mean", "examples_coupled", "loss_mismatch", "unstable_softmax"}
SILENCES_VALUES = {"error", "format"}         # arrays missing or misplaced: value rules would only add noise


def diagnose(evidence):
    """``[(cause, sentence), ...]`` in table order; at most one rule each of the exclusive groups fires."""
    found, groups_fired = [], set()
    for rule in RULES:
        if "probe" in groups_fired and (rule.group in SYMPTOMS or rule.cause in SYMPTOM_RULES):
            continue
        # A re-enacted mistake may predict the wrong shapes themselves (a layer input of another width): the
        # hypotheses are tried on arrays wrong only in shape too.
        shapes_to_explain = rule.cause == "hypothesis" and evidence.shape_only
        if rule.group == "values" and (groups_fired & SILENCES_VALUES or "values" in groups_fired
                                       or not (evidence.wrong_values or shapes_to_explain)):
            continue
        if rule.group in EXCLUSIVE and rule.group in groups_fired:
            continue
        if rule.group in ("format", "array", "values") and "error" in groups_fired:
            continue  # nothing was returned: the exception explains everything
        if rule.group == "array" and "format" in groups_fired:
            continue  # arrays misplaced: their shapes follow from the format problem
        try:
            with np.errstate(all="ignore"):   # NaN/inf in a student's array is a finding, not a warning
                result = rule.detect(evidence)
        except Exception as error:  # noqa: BLE001 - a broken rule must not hide the others' findings
            evidence.internal_errors.append(f"diagnosis rule {rule.cause}: {type(error).__name__}: {error}")
            continue
        if not result:
            continue
        results = result if isinstance(result, list) else [result]
        for item in results:
            if item:
                cause, sentence = item if isinstance(item, tuple) else (rule.cause, item)
                found.append((cause, sentence))
        groups_fired.add(rule.group)
    named_values = {cause for cause, _ in found} & VALUE_CAUSES_EXPLAINING_COUPLING
    if named_values:
        # A named mistake in the values makes a batch's gradient differ from the mean of its examples' too:
        # that is its symptom, not a second mistake of mixing examples.
        found = [(cause, sentence) for cause, sentence in found if cause != "examples_coupled"]
    if evidence.shape_only and evidence.shape_only <= evidence.covered_by_hypothesis:
        # The confirmed mistake predicts those shapes too: it is the finding, not the shape.
        found = [(cause, sentence) for cause, sentence in found if cause != "wrong_shape"]
    return found
