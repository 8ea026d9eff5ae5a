"""The reference gradient: PyTorch autograd in float64 on the loss rebuilt from the parameters.

The student's forward pass is never used here: an exercise's ``reference_loss`` recomputes
the loss from copies of the model's parameters, so a wrong ``backpropagation`` cannot
influence the answer it is compared with.
"""
from dataclasses import dataclass
from functools import cached_property
from typing import Optional

import numpy as np
import torch

from .registry import read_path
from . import input_columns
from grading.policy.arrays import as_array, to_float64
from grading.policy.precision import error_sizes_of_pairs


class ReferenceOps:
    """Non-smooth functions for reference losses, with the arguments at their kinks recorded.

    ``derivative_at_kink`` is the derivative used where the argument is exactly at the kink
    (0 like ``torch.relu``, or 1); the grader builds the reference both ways when a
    pre-activation is exactly 0, since students may choose either. ``kink_arguments``
    collects, call after call, the (detached) arguments of those functions, so the grader
    can tell when a finite-difference step crossed a kink.
    """

    def __init__(self, derivative_at_kink=0):
        self.derivative_at_kink = derivative_at_kink
        self.kink_arguments = []

    def relu(self, z):
        """``max(z, 0)`` for a tensor ``z`` of any shape."""
        self.kink_arguments.append(z.detach())
        if self.derivative_at_kink:
            return torch.where(z >= 0, z, torch.zeros_like(z))  # slope 1 at exactly 0
        return torch.relu(z)                                      # slope 0 at exactly 0

    def activation(self, name, z):
        """Hidden activation by its name in ``backprop_labs.activations.HIDDEN_ACTIVATIONS``."""
        if name == "relu":
            return self.relu(z)
        if name in SMOOTH_ACTIVATIONS:
            return SMOOTH_ACTIVATIONS[name](z)
        raise KeyError(f"no reference activation {name!r}; known: {sorted(SMOOTH_ACTIVATIONS) + ['relu']}")


SMOOTH_ACTIVATIONS = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "identity": lambda z: z}


def torch_batch(batch):
    """``{'input': float64 tensor, 'output': int64 tensor for integers, float64 otherwise}``."""
    converted = {}
    for key, value in batch.items():
        array = as_array(value)
        dtype = np.int64 if array.dtype.kind in "ium" else np.float64   # np.integer's kinds, timedelta64 too
        converted[key] = torch.from_numpy(as_array(array, dtype, copy=True))   # a fresh copy: shared, not copied
    return converted


def nest_like(template, values_by_path):
    """Copy of the nested lists/tuples/dicts ``template`` with the leaves replaced by ``values_by_path[path]``."""
    def rebuild(node, path):
        if isinstance(node, dict):
            return {key: rebuild(child, path + (key,)) for key, child in node.items()}
        if isinstance(node, (list, tuple)):
            return [rebuild(child, path + (index,)) for index, child in enumerate(node)]
        return values_by_path.get(path, node)
    return rebuild(template, ())


@dataclass
class ReferenceResult:
    """Loss and gradients (float64 NumPy, aligned with the specs) and the kink arguments seen.

    ``reduced_gradients`` are as the reference computed them (see :meth:`ReferenceLoss.reduce`);
    ``gradients`` at full size are built only when something asks for them (the comparison does
    not: :meth:`error_sizes`).
    """

    loss: float
    reduced_gradients: list
    kink_arguments: list
    columns: Optional[input_columns.InputColumns] = None

    @cached_property
    def gradients(self):
        return self.columns.expand(self.reduced_gradients) if self.columns else self.reduced_gradients

    def error_sizes(self, student):
        """``tolerances.error_sizes(student[i], gradients[i])`` for each array (None where ``student[i]``
        is None), figure for figure, without the full-size reference of the input weight."""
        sizes = [None] * len(student)
        plain = []   # the arrays compared as they are, all at once
        for i, (array, reduced) in enumerate(zip(student, self.reduced_gradients)):
            if array is None:
                continue
            if self.columns is not None and i == self.columns.position:
                sizes[i] = self.columns.error_sizes(array, reduced)
            else:
                plain.append(i)
        found = error_sizes_of_pairs([student[i] for i in plain], [self.reduced_gradients[i] for i in plain])
        for i, size in zip(plain, found):
            sizes[i] = size
        return sizes


class ReferenceLoss:
    """The exercise's reference loss as a function of flat float64 parameter arrays.

    ``template`` is ``model.parameters`` (for its nesting), ``specs`` the exercise's
    :class:`~grading.gradient_check.registry.ParameterSpec` list, ``batch`` the student's batch.
    Input features absent from the whole batch are left out of the computation
    (:mod:`.input_columns`); :meth:`reduce` gives arrays in that reduced form.
    """

    def __init__(self, exercise, model, template, specs, batch):
        self.exercise = exercise
        self.model = model
        self.template = template
        self.specs = specs
        batch = {key: as_array(value) for key, value in batch.items()}
        self.input_shape = tuple(np.shape(batch["input"]))
        self.columns = input_columns.InputColumns.of(exercise, specs, batch["input"]) if input_columns.ENABLED else None
        self.batch = torch_batch(self.columns.reduce_batch(batch) if self.columns else batch)
        self.forward_passes = 0

    def reduce(self, arrays):
        """``arrays`` (spec order) as the reference computes with them: the input weight cut to the used columns."""
        return self.columns.reduce(arrays) if self.columns else list(arrays)

    def _loss(self, tensors, derivative_at_kink):
        ops = ReferenceOps(derivative_at_kink)
        nested = nest_like(self.template, {spec.path: tensor for spec, tensor in zip(self.specs, tensors)})
        loss = self.exercise.reference_loss(self.model, nested, self.batch, ops)
        self.forward_passes += 1
        return loss, ops.kink_arguments

    def value(self, arrays, derivative_at_kink=0, reduced=False):
        """Loss at ``arrays`` (no gradient), with the kink arguments; ``reduced``: arrays already :meth:`reduce`-d."""
        arrays = arrays if reduced else self.reduce(arrays)
        with torch.no_grad():
            loss, kinks = self._loss([torch.as_tensor(a, dtype=torch.float64) for a in arrays], derivative_at_kink)
        return float(loss), kinks

    def gradient(self, arrays, derivative_at_kink=0):
        """Loss and its gradient by autograd at ``arrays``."""
        # as_tensor shares memory with the grader's own float64 copies: no second copy.
        leaves = [torch.as_tensor(as_array(a, np.float64)).requires_grad_() for a in self.reduce(arrays)]
        loss, kinks = self._loss(leaves, derivative_at_kink)
        if not (isinstance(loss, torch.Tensor) and loss.dim() == 0):
            raise TypeError(f"reference_loss of {self.exercise.name} must return a 0-d tensor, got {loss!r}")
        gradients = torch.autograd.grad(loss, leaves, allow_unused=True)
        reduced = [np.zeros(leaf.shape) if g is None else g.numpy() for leaf, g in zip(leaves, gradients)]
        return ReferenceResult(float(loss.detach()), reduced, kinks, self.columns)


def parameter_arrays(model_parameters, specs):
    """Float64 copies of the model's parameters, in spec order."""
    return [to_float64(read_path(model_parameters, spec.path)) for spec in specs]


# Exercise 2.1 is right when every entry equals autograd's within these (the notebook's test and the
# trusted check both read them): float64 arithmetic on (B, K) and (K, I) arrays is far inside them.
INPUT_GRADIENT_RTOL, INPUT_GRADIENT_ATOL = 1e-9, 1e-12
INPUT_GRADIENT = "the gradient of the mean loss with respect to the input"


def input_gradient(model, batch, exercise=None):
    """Gradient ``(B, I)`` of the exercise's mean reference loss with respect to ``batch['input']``, in float64
    (the quantity a layer passes to the layer below); ``exercise`` defaults to the one recognising ``model``."""
    from .registry import find_exercise, get_exercise

    exercise = get_exercise(exercise) if isinstance(exercise, str) else exercise or find_exercise(model)
    specs = exercise.parameter_specs(model)
    tensors = [torch.as_tensor(array) for array in parameter_arrays(model.parameters, specs)]
    parameters = nest_like(model.parameters, {spec.path: tensor for spec, tensor in zip(specs, tensors)})
    tensors_batch = torch_batch({key: as_array(value) for key, value in batch.items()})
    tensors_batch["input"].requires_grad_()
    loss = exercise.reference_loss(model, parameters, tensors_batch, ReferenceOps())
    return torch.autograd.grad(loss, tensors_batch["input"])[0].numpy()
