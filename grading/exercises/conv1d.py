"""Exercise C.1, ``Conv1dNetwork.backpropagation`` (``labs/conv1d.py``): the gradient of a kernel shared
across positions. Everything the grader knows of the exercise is here, in the one ``GradientExercise`` it
registers: the reference loss, the words of its diagnosis and the mistakes it re-enacts, its trusted check
with its cases, and the ``conv1d`` assignment's scored test cells (the worked example of docs/authoring.md).

The reference gives each position a copy of the kernel, ``K.expand(P, width)``: autograd then sums the
copies' gradients into ``K``'s, which is the rule the exercise teaches; a mistake is re-enacted by reading
the copies' own gradients instead.
"""
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from grading.course.assignments import AssignmentRow
from grading.course.cell_scope import CellScope
from grading.diagnosis.hypotheses import Hypothesis
from grading.diagnosis.vocabulary import Vocabulary
from grading.gradient_check.registry import GradientExercise, register_exercise
from grading.trusted.cases import Case, case_seed
from grading.trusted.check_spec import TrustedCheck, gradient_judge
from grading.trusted.student_side import probe_model_session

NAME = "conv1d"
LAB_LENGTH, LAB_WIDTH, LAB_CLASSES = 12, 3, 2   # the notebook's network: motif_sequences() of length 12


def shared_kernel_loss(input, output, kernel_copies, kernel_bias_copies, weight, bias, relu):
    """Mean cross-entropy of the network whose position ``t`` uses ``kernel_copies[t]`` ``(width,)`` and
    ``kernel_bias_copies[0, t]``: ``input`` ``(B, L)`` float64, ``output`` ``(B,)`` int64 tensors."""
    windows = input.unfold(1, kernel_copies.shape[1], 1)               # (B, P, width)
    features = (windows * kernel_copies).sum(dim=2) + kernel_bias_copies  # (B, P)
    return F.cross_entropy(relu(features) @ weight.T + bias, output)


def conv1d_reference_loss(model, parameters, batch, ops):
    """``[[K (1, width), c (1, 1)], [W (classes, P), b (1, classes)]]``: one copy of ``K`` and ``c`` per position."""
    (kernel, kernel_bias), (weight, bias) = parameters
    positions = weight.shape[1]
    return shared_kernel_loss(batch["input"], batch["output"], kernel.expand(positions, -1),
                              kernel_bias.expand(1, positions), weight, bias, lambda z: ops.activation("relu", z))


def per_position_gradients(context):
    """``(dK (P, width), dc (1, P))``: the gradient each position's copy of the kernel and its bias gets."""
    kernel, kernel_bias, weight, bias = (torch.tensor(array) for array in context.parameters)
    positions = weight.shape[1]
    copies = kernel.expand(positions, -1).clone().requires_grad_()
    bias_copies = kernel_bias.expand(1, positions).clone().requires_grad_()
    loss = shared_kernel_loss(torch.tensor(context.input, dtype=torch.float64),
                              torch.as_tensor(context.output, dtype=torch.long), copies, bias_copies, weight, bias,
                              torch.relu)
    return [gradient.numpy() for gradient in torch.autograd.grad(loss, [copies, bias_copies])]


def last_position_only(context):
    """The gradients of a backward loop over positions that assigns ``dK = ...`` instead of adding: the last
    position's terms for ``K`` and ``c``, the output layer's right."""
    kernel_gradients, bias_gradients = per_position_gradients(context)
    return [kernel_gradients[-1:], bias_gradients[:, -1:], *context.reference[2:]]


def feature_error(context):
    """``(B, P)``: the gradient of the mean cross-entropy at every position's feature ``z[:, t]``."""
    kernel, kernel_bias, weight, bias = (torch.tensor(np.asarray(array, dtype=np.float64))
                                         for array in context.parameters)
    input = torch.tensor(np.asarray(context.input, dtype=np.float64))
    features = ((input.unfold(1, kernel.shape[1], 1) * kernel).sum(dim=2) + kernel_bias).requires_grad_()
    loss = F.cross_entropy(torch.relu(features) @ weight.T + bias, torch.as_tensor(context.output, dtype=torch.long))
    return torch.autograd.grad(loss, features)[0].numpy()


def kernel_with_offsets_shifted(shift_of):
    """The gradients when offset ``w`` of the kernel is paired with ``input[b, t + w + shift]`` (zero outside the
    sequence), ``shift = shift_of(P, width)``: a padded correlation read from the wrong place; the bias's and the
    output layer's gradients are right. By autograd of the features that reading would give."""
    def predict(context):
        error = torch.as_tensor(feature_error(context))
        input = torch.as_tensor(np.asarray(context.input, dtype=np.float64))
        positions, width = error.shape[1], np.shape(context.parameters[0])[1]
        start = positions + width + shift_of(positions, width)   # in the input padded by P + width on each side
        padded = F.pad(input, (positions + width, positions + width))
        windows = padded[:, start:start + positions + width - 1].unfold(1, width, 1)    # (B, P, width)
        kernel = torch.zeros(width, dtype=torch.float64, requires_grad=True)
        (gradient,) = torch.autograd.grad((windows * kernel).sum(dim=2), kernel, grad_outputs=error)
        return [gradient.numpy()[np.newaxis, :], *context.reference[1:]]
    return predict


def kernel_flipped(context):
    """The kernel's gradient reversed along its width (a convolution where the forward pass correlates)."""
    return [np.asarray(context.reference[0])[:, ::-1], *context.reference[1:]]


def kernel_divided_by(count_of):
    """The kernel's and its bias's gradients divided by ``count_of(B, P)``, the output layer's right: the copies'
    gradients averaged (over the positions, or over the examples as well), not summed."""
    def predict(context):
        count = count_of(len(context.input), np.shape(context.parameters[2])[1])
        return [np.asarray(context.reference[0]) / count, np.asarray(context.reference[1]) / count,
                *context.reference[2:]]
    return predict


PADDING_SENTENCE = ("The kernel's gradient pairs each offset w with the wrong input entries, as a padded correlation "
                    "read from the wrong place would (np.correlate(..., 'full') or 'same' for 'valid'): the "
                    "forward pass uses no padding, so offset w meets input[b, t + w] at position t, and dK[w] sums "
                    "feature_error[b, t] * input[b, t + w] over b and t.")

CONV1D_HYPOTHESES = (
    Hypothesis("kernel_one_position",
               "The kernel's gradient holds one position's term only (a loop that assigns dK = ... instead of "
               "adding dK += ...): K is used at every position, so its gradient is the SUM over positions.",
               last_position_only),
    Hypothesis("kernel_flipped",
               "The kernel's gradient is reversed along its width: a convolution (np.convolve, which flips the "
               "kernel) where the forward pass correlates. The forward pass uses K unflipped, so dK[w] sums "
               "feature_error[b, t] * input[b, t + w], with no flip.", kernel_flipped),
    Hypothesis("mean_over_positions",
               "The kernel's and its bias's gradients are P times too small: the copies' gradients are averaged "
               "over the P positions. K and c are used at every position, so their gradients are the SUM over "
               "positions (the 1/B of the mean over examples is already in the given error).",
               kernel_divided_by(lambda batch, positions: positions)),
    Hypothesis("mean_over_positions",
               "The kernel's and its bias's gradients are B * P times too small: averaged over the examples and "
               "the positions (np.mean over both axes), while the given feature_error already holds the 1/B of the "
               "mean. K and c are used at every position of every example, so their gradients are the SUM over "
               "positions and examples.",
               kernel_divided_by(lambda batch, positions: batch * positions)),
    # np.correlate(input, error, 'full')[:width] pairs offset w with input[t + w - (P - 1)]; off by one either way
    *(Hypothesis("kernel_padding", PADDING_SENTENCE, kernel_with_offsets_shifted(shift_of)) for shift_of in
      (lambda positions, width: 1 - positions, lambda positions, width: -1, lambda positions, width: 1)),
)

CONV1D_VOCABULARY = Vocabulary(
    code="Conv1dNetwork.backpropagation",
    sign="the error at the softmax input is p - onehot(y) (given), not onehot(y) - p",
    output_start="the error at the softmax input, (p - onehot(y)) / B of shape (B, classes) (given)",
    fix_mean="the given output error divides by B once: do not divide again",
    shapes=("the error at the features is (B, P) and the windows are (B, P, width): dK sums "
            "error[b, t] * windows[b, t, :] over b and t into K's shape (1, width), dc sums error into (1, 1)"),
    top_layer_wrong=("The output layer's {what} gradient is wrong, but its code is given: was it changed?"),
    lower_layer_wrong=("{right} right but the kernel (layer {top}) is wrong: K and c are used at every position, "
                       "so dK is the SUM over examples b and positions t of feature_error[b, t] * "
                       "input[b, t:t + width], and dc the sum of feature_error."),
    unnamed_wrong="The gradient of {labels} is wrong; compare with the sum over positions of each copy's gradient.",
    bias_reduce="the bias c is added at every position of every example: sum feature_error over both axes",
    weight_layout="dK has K's shape (1, width): one number per offset in the window",
    missing_layer="the gradients of layer {layer} are missing: return [[dK, dc], [dW, db]]",
    not_finite="the log-probabilities are given: check for a division by zero",
)


@dataclass(frozen=True)
class Conv1dCase(Case):
    """A ``Conv1dNetwork``: ``geometry == (L, P, classes)`` with ``P = L - width + 1``; Gaussian sequences."""

    width: int = LAB_WIDTH

    def spec(self):
        length, _, num_classes = self.geometry
        return {**super().spec(), "model": self.model_spec(length, width=self.width, num_classes=num_classes,
                                                           learning_rate=self.learning_rate)}

    def parameters(self):
        """``[[K (1, width), c (1, 1)], [W (classes, P), b (1, classes)]]`` float64, biases non-zero."""
        _, positions, num_classes = self.geometry
        rng = np.random.default_rng(case_seed(self.seed))
        return [[rng.normal(0, 1 / np.sqrt(self.width), (1, self.width)), rng.normal(0, 0.5, (1, 1))],
                [rng.normal(0, 1 / np.sqrt(positions), (num_classes, positions)), rng.normal(0, 0.5, (1, num_classes))]]


LAB_CASE = Conv1dCase("conv1d-lab", (LAB_LENGTH, LAB_LENGTH - LAB_WIDTH + 1, LAB_CLASSES), ("relu", "softmax"), 8,
                      7401)
WIDE_CASE = Conv1dCase("conv1d-wide", (9, 6, 3), ("relu", "softmax"), 7, 7411, width=4)

BACKPROPAGATION = TrustedCheck(
    name="conv1d_backpropagation", title="Exercise C.1: Conv1dNetwork.backpropagation",
    exercise=NAME, module="labs.conv1d", class_name="Conv1dNetwork", probe=probe_model_session,
    cases=(LAB_CASE, WIDE_CASE), judge=gradient_judge(NAME),
    torch_allowed=False)   # the exercise is backpropagation by hand in NumPy


def load_motif_data(data_dir=None):
    """The lab's sequences ``(200, 12)`` and classes ``(200,)`` as a ``train`` split, made by the given
    ``motif_sequences`` of the ``labs`` package being checked (no file needed)."""
    import importlib

    from backprop_labs.datasets import LabData

    sequences = importlib.import_module("labs.conv1d").motif_sequences(length=LAB_LENGTH)
    return LabData({"train": sequences}, num_classes=LAB_CLASSES, name="motif sequences")


def build_conv1d_network(package, data=None):
    """The notebook's ``Conv1dNetwork`` from ``<package>.conv1d`` (``labs`` or ``labs_solutions``)."""
    import importlib

    return importlib.import_module(f"{package.__name__}.conv1d").Conv1dNetwork(LAB_LENGTH, LAB_WIDTH, LAB_CLASSES)


register_exercise(GradientExercise(
    name=NAME,
    title=BACKPROPAGATION.title,
    recognizes=lambda model: any(cls.__name__ == "Conv1dNetwork" for cls in type(model).__mro__),
    reference_loss=conv1d_reference_loss,
    hypotheses=CONV1D_HYPOTHESES,
    vocabulary=CONV1D_VOCABULARY,
    build_model=build_conv1d_network,
    load_data=load_motif_data,
    trusted=BACKPROPAGATION,
    assignment=AssignmentRow("conv1d", ships=("conv1d.py",), scores={BACKPROPAGATION.name: {
        "test_c_1_grader": CellScope("the lab's network", cases=(LAB_CASE.key,)),
        "test_c_1_hidden": CellScope("a wider kernel and three classes", cases=(WIDE_CASE.key,)),
    }}),
))
