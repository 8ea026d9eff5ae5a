"""Mistakes (and right answers) seen in real learners' code for the labs beyond the MLP and autodiff ones:
regression (R.1), GLM (G.1-G.2), the shared 1-D kernel (C.1) and the backward loop with A_i, B_i (F.3).

Every function here is this project's own code: the learner's mistake re-enacted in the lab's interface, nothing
else changed. ``seen`` records where the mistake was seen (issue, pull request or Q&A thread; the learner's code
had another interface: a ``fit`` loop, a cost function, a CNN layer class, ...). ``cause`` is the cause key the
diagnosis must name first, ``words`` phrases its sentence must hold (the mistake in the lab's own words).
``part`` is what the code replaces (see :func:`report_for`):

* ``"advertising"``: ``mean_squared_error_gradient(design (N, 1 + F), coefficients (1 + F,), target (N,))``;
* ``"glm:seed"``: ``natural_parameter_seed(y_hat, targets)`` on the Poisson network (``"glm:seed:categorical"``:
  on the categorical one); ``"glm:<distribution>"``: that distribution's inverse link ``eta (B, out) -> y_hat``
  (torch tensors), checked on a network of that distribution;
* ``"conv1d"``: ``kernel_gradients(feature_error (B, P), windows (B, P, width), input (B, L)) -> (dK, dc)``;
* ``"progressive"``: ``backward_loop(softmax_jacobian, loss_gradient, blocks, layers) -> [q_1, ..., q_L]``, the
  loop of ``progressive_backprop`` (blocks ``[(A_i, B_i), ...]``, layers ``[(kind, W_i), ...]``).
"""
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch


@dataclass(frozen=True)
class LabMutation:
    name: str
    part: str
    cause: str
    words: tuple          # phrases the first sentence must hold
    code: Callable
    seen: str
    also: tuple = ()      # further causes the report may name (true ones: e.g. the examples mixed)


# ---- R.1: mean_squared_error_gradient ----------------------------------------------------------------

def mse_without_factor_two(design, coefficients, target):
    """X.T @ r / N: the 2 of the square's derivative dropped (the formula of a loss with 1/2 in front)."""
    return design.T @ (design @ coefficients - target) / len(target)


def mse_without_mean(design, coefficients, target):
    """2 X.T @ r: the gradient of the SUM of squares, the 1/N of the mean forgotten."""
    return 2.0 * design.T @ (design @ coefficients - target)


def mse_half_sum(design, coefficients, target):
    """X.T @ (X c - y): the gradient of ||X c - y||^2 / 2, neither the 2 nor the 1/N."""
    return design.T @ (design @ coefficients - target)


def mse_residual_reversed(design, coefficients, target):
    """2 / N X.T @ (y - X c): the residual taken as target minus prediction."""
    return 2.0 / len(target) * design.T @ (target - design @ coefficients)


def mse_mean_of_everything(design, coefficients, target):
    """np.mean((X c - y) @ X): the mean taken over the product's entries, so the coefficients get one number."""
    return np.mean((design @ coefficients - target) @ design)


def mse_untransposed_design(design, coefficients, target):
    """2 / N X @ r: X where X.T belongs ((N, P) @ (N,) does not multiply)."""
    return 2.0 / len(target) * design @ (design @ coefficients - target)


def mse_intercept_left_out(design, coefficients, target):
    """The features' gradient only: the intercept's column of ones is left out of the gradient ((F,) not (1 + F,))."""
    features = design[:, 1:]
    return 2.0 / len(target) * features.T @ (design @ coefficients - target)


def mse_intercept_not_updated(design, coefficients, target):
    """The slopes' gradient right, the intercept's left at zero (a bias handled apart, then forgotten)."""
    gradient = 2.0 / len(target) * design.T @ (design @ coefficients - target)
    gradient[0] = 0.0
    return gradient


def mse_per_example_loop(design, coefficients, target):
    """Right, written otherwise: a loop over the examples summing 2 r_n x_n, then divided by N."""
    total = np.zeros(design.shape[1])
    for row, y in zip(design, target):
        total += 2.0 * (row @ coefficients - y) * row
    return total / len(target)


def mse_residual_as_row(design, coefficients, target):
    """Right, written otherwise: the residual as a row vector, r @ X, scaled by 2 / N."""
    residual = design @ coefficients - target
    return (2.0 / design.shape[0]) * (residual @ design)


# ---- G.1-G.2: the inverse links and the seed ----------------------------------------------------------

def seed_reversed(y_hat, targets):
    """(y - y_hat) / B: the gradient of the log-likelihood (to climb), not of the negative one."""
    return (targets - y_hat) / y_hat.shape[0]


def seed_without_mean(y_hat, targets):
    """y_hat - y: the seed of the SUM of the negative log-likelihoods."""
    return y_hat - targets


def seed_through_the_link_again(y_hat, targets):
    """(y_hat - y) * y_hat / B: the residual times exp's derivative, as for a squared error on the rate."""
    return (y_hat - targets) * y_hat / y_hat.shape[0]


def poisson_rate_as_eta(eta):
    """The Poisson's mean taken as eta itself (no inverse link): the seed becomes (eta - y) / B."""
    return eta


def poisson_rate_as_log(eta):
    """log where exp belongs: the link used in place of its inverse."""
    return torch.log(eta)


def categorical_over_batch(eta):
    """softmax over the examples (dim=0), not over the classes."""
    return torch.softmax(eta, dim=0)


def categorical_as_sigmoid(eta):
    """A sigmoid of each logit on its own: the rows do not sum to 1."""
    return torch.sigmoid(eta)


def seed_through_the_sigmoid_slope(y_hat, targets):
    """(y_hat - y) * y_hat * (1 - y_hat) / B: the sigmoid's derivative chained in after the cross-entropy's."""
    return (y_hat - targets) * y_hat * (1 - y_hat) / y_hat.shape[0]


def categorical_shifted_by_hand(eta):
    """Right, written otherwise: exp of the logits minus the row maximum, normalised per row."""
    shifted = torch.exp(eta - eta.max(dim=1, keepdim=True).values)
    return shifted / shifted.sum(dim=1, keepdim=True)


# ---- C.1: the shared kernel's gradient -----------------------------------------------------------------

def kernel_flipped(feature_error, windows, input):
    """The convolution's flip: dK[w] holds the term of offset width - 1 - w (np.convolve for np.correlate)."""
    kernel = np.einsum("bp,bpw->w", feature_error, windows)[::-1]
    return kernel[np.newaxis, :], feature_error.sum().reshape(1, 1)


def kernel_full_mode(feature_error, windows, input):
    """np.correlate(input, error, 'full') and its first ``width`` entries: the padded offsets, not the valid ones."""
    width = windows.shape[2]
    kernel = np.zeros(width)
    for row, error in zip(input, feature_error):
        kernel += np.correlate(row, error, mode="full")[:width]
    return kernel[np.newaxis, :], feature_error.sum().reshape(1, 1)


def kernel_mean_over_positions(feature_error, windows, input):
    """The copies' gradients averaged over the P positions instead of summed."""
    positions = feature_error.shape[1]
    kernel = np.einsum("bp,bpw->w", feature_error, windows) / positions
    return kernel[np.newaxis, :], feature_error.sum().reshape(1, 1) / positions


def kernel_mean_over_examples_and_positions(feature_error, windows, input):
    """np.mean(feature_error[:, :, None] * windows, axis=(0, 1)): a mean over examples and positions, 1/(B P) on top
    of the given error's 1/B; the bias likewise."""
    kernel = np.mean(feature_error[:, :, np.newaxis] * windows, axis=(0, 1))
    return kernel[np.newaxis, :], np.mean(feature_error).reshape(1, 1)


def kernel_last_position(feature_error, windows, input):
    """A loop over positions that assigns dK = ... where += belongs: the last position's term only."""
    for position in range(feature_error.shape[1]):
        kernel = feature_error[:, position] @ windows[:, position]
        kernel_bias = feature_error[:, position].sum()
    return kernel[np.newaxis, :], np.reshape(kernel_bias, (1, 1))


def kernel_bias_per_position(feature_error, windows, input):
    """dc summed over the examples only: one number per position (1, P), not the one shared bias (1, 1)."""
    kernel = np.einsum("bp,bpw->w", feature_error, windows)
    return kernel[np.newaxis, :], feature_error.sum(axis=0, keepdims=True)


def kernel_by_correlation(feature_error, windows, input):
    """Right, written otherwise: np.correlate(input, error, 'valid') per example, summed."""
    kernel = sum(np.correlate(row, error, mode="valid") for row, error in zip(input, feature_error))
    return np.asarray(kernel)[np.newaxis, :], feature_error.sum().reshape(1, 1)


# ---- F.3: the backward loop with A_i, B_i --------------------------------------------------------------

def walk_down(p, blocks, pass_down=lambda a_block, p: a_block.T @ p, pass_first=False):
    """The loop of F.3 from ``p`` at the last layer: ``q_i = B_i.T @ p``, then ``p = pass_down(A_i, p)``, or the
    other way round when ``pass_first``."""
    gradients = [None] * len(blocks)
    for i in reversed(range(len(blocks))):
        a_block, b_block = blocks[i]
        if pass_first:
            p = pass_down(a_block, p)
        gradients[i] = b_block.T @ p
        if not pass_first:
            p = pass_down(a_block, p)
    return gradients


def loop_untransposed_blocks(softmax_jacobian, loss_gradient, blocks, layers):
    """The gradient passed down as A_i @ p, where A_i.T @ p belongs."""
    return walk_down(softmax_jacobian.T @ loss_gradient, blocks, pass_down=lambda a_block, p: a_block @ p)


def loop_weight_for_block(softmax_jacobian, loss_gradient, blocks, layers):
    """W_i.T @ p where A_i.T @ p belongs: the sigmoid's derivative diag(sigma') left out of the way down."""
    weights = iter([weight for _, weight in reversed(layers)])
    return walk_down(softmax_jacobian.T @ loss_gradient, blocks, pass_down=lambda a_block, p: next(weights).T @ p)


def loop_without_softmax_jacobian(softmax_jacobian, loss_gradient, blocks, layers):
    """The loss's gradient -y / p sent straight into the last layer, past the softmax's Jacobian."""
    return walk_down(loss_gradient, blocks)


def loop_passes_down_first(softmax_jacobian, loss_gradient, blocks, layers):
    """p passed down through A_i before q_i = B_i.T p is taken: B_i.T meets the gradient meant for the layer below."""
    return walk_down(softmax_jacobian.T @ loss_gradient, blocks, pass_first=True)


def loop_with_vjp_products(softmax_jacobian, loss_gradient, blocks, layers):
    """Right, written otherwise: row vectors times the blocks, p @ A_i and p @ B_i."""
    p, gradients = loss_gradient @ softmax_jacobian, [None] * len(blocks)
    for i in range(len(blocks) - 1, -1, -1):
        gradients[i] = p @ blocks[i][1]
        p = p @ blocks[i][0]
    return gradients


REAL_LAB_MUTATIONS = [
    LabMutation("MSE gradient without the factor 2", "advertising", "factor_two", ("factor 2 is missing",),
                mse_without_factor_two,
                seen="Open-Deep-ML/DML-OpenProblem#97 (the 2 of the derivative missing from the solution)"),
    LabMutation("MSE gradient without the 1/N", "advertising", "missing_batch_mean", ("SUM", "1/N"),
                mse_without_mean,
                seen="eriklindernoren/ML-From-Scratch#38 (gradient not divided by the number of examples)"),
    LabMutation("MSE gradient of half the sum of squares", "advertising", "half_sum_of_squares",
                ("SUM of squares halved", "1/N"),
                mse_half_sum,
                seen="Q&A: gamwe6.github.io obafuro 2018/08/22 (gradient X^T X b - X^T y of ||Xb - y||^2 / 2, "
                     "cost rising); acids-ircam/creative_ml#6 (MSE written as a sum)"),
    LabMutation("MSE gradient with the residual reversed", "advertising", "wrong_sign", ("residual",),
                mse_residual_reversed,
                seen="eriklindernoren/ML-From-Scratch#107 (y - p against -(y - p)); apachecn/ailearning#383 "
                     "(ascent or descent?)"),
    LabMutation("MSE gradient averaged into one number", "advertising", "one_number_for_vector", ("one number",),
                mse_mean_of_everything,
                seen="eriklindernoren/ML-From-Scratch#38 (the fix proposed there: np.mean(-(y - y_pred).dot(X)))"),
    LabMutation("MSE gradient with X for X.T", "advertising", "shape_mismatch_in_code", ("X.T @ residual",),
                mse_untransposed_design,
                seen="apachecn/ailearning#443 (the gradient should use the transpose of X)"),
    LabMutation("MSE gradient without the intercept's column", "advertising", "intercept_left_out",
                ("intercept",), mse_intercept_left_out,
                seen="McGillAISociety/mais-bootcamp-w2019#71 (the column of ones for the bias term forgotten)"),
    LabMutation("MSE gradient with the intercept's left at zero", "advertising", "intercept_left_out",
                ("intercept",), mse_intercept_not_updated,
                seen="McGillAISociety/mais-bootcamp-w2019#71; joelgrus/data-science-from-scratch#125 (the "
                     "intercept's derivative 2 * error written apart from the slopes')"),
    LabMutation("GLM seed reversed", "glm:seed", "wrong_sign", ("seed", "(y_hat - y) / B"), seed_reversed,
                seen="haifengl/smile#151 (target - output where output - target belongs for the cross-entropy); "
                     "eriklindernoren/ML-From-Scratch#107; JuliaAI/MLJLinearModels.jl#104 (sign of the logistic "
                     "gradient)"),
    LabMutation("GLM seed without the 1/B", "glm:seed", "missing_batch_mean", ("seed", "divides by B once"),
                seed_without_mean,
                seen="eriklindernoren/ML-From-Scratch#38 (the mean's 1/n left out)"),
    LabMutation("GLM seed through the link's derivative", "glm:seed", "seed_times_link_slope", ("seed", "slope"),
                seed_through_the_link_again,
                seen="hunkim/DeepLearningZeroToAll#113 and apache/mxnet#2001 (the link's slope chained in after "
                     "the likelihood's derivative, as for an L2 loss); udacity/deep-learning-v2-pytorch#105 (no "
                     "sigmoid prime required again)"),
    LabMutation("categorical seed through the sigmoid's slope", "glm:seed:categorical", "seed_times_link_slope",
                ("seed", "slope"), seed_through_the_sigmoid_slope,
                seen="hunkim/DeepLearningZeroToAll#113 (diff * sigma_prime(l2) with a cross-entropy); "
                     "JuliaML/LossFunctions.jl#135 (output * (1 - output) expected in the cross-entropy's derivative)"),
    LabMutation("Poisson rate as eta", "glm:poisson", "inverse_link", ("inverse link", "exp(eta)"),
                poisson_rate_as_eta,
                seen="glm-tools/pyglmnet#181 (eta where exp(eta) belongs); lightgbm-org/LightGBM#869 (Poisson "
                     "objective without its link)"),
    LabMutation("Poisson rate as log(eta)", "glm:poisson", "inverse_link", ("log", "exp(eta)"),
                poisson_rate_as_log, also=("not_finite",),   # NaN where eta <= 0: named there by the words
                seen="greta-dev/greta#202; pymc-devs/pymc#1100; bambinos/bambi#112 (log where exp belongs)"),
    LabMutation("categorical softmax over the batch", "glm:categorical", "inverse_link", ("dim=0", "dim=1"),
                categorical_over_batch, also=("examples_coupled",),
                seen="the issue's study (softmax normalised over the batch axis); JuliaAI/MLJLinearModels.jl#104"),
    LabMutation("categorical as a sigmoid per logit", "glm:categorical", "inverse_link", ("sigmoid", "softmax"),
                categorical_as_sigmoid, seen="the issue's study (a sigmoid output where a softmax belongs)"),
    LabMutation("conv1d kernel gradient flipped", "conv1d", "kernel_flipped", ("reversed", "flip"), kernel_flipped,
                seen="srush/Autodiff-Puzzles#7 (np.convolve flips where np.correlate was meant); "
                     "FluxML/NNlib.jl#518 and #208 (flipkernel)"),
    LabMutation("conv1d kernel gradient from the full (padded) correlation", "conv1d", "kernel_padding",
                ("padding",), kernel_full_mode,
                seen="PKUFlyingPig/CMU10-714#6 (conv gradient's padding); bfortuner/ml-glossary#149 (valid vs "
                     "padded convolution)"),
    LabMutation("conv1d kernel gradient averaged over positions", "conv1d", "mean_over_positions",
                ("averaged", "SUM over positions"), kernel_mean_over_positions,
                seen="Oneflow-Inc/oneflow#255 (weight and bias gradients divided by the kernel's sliding steps); "
                     "BVLC/caffe#3242 (normalising by the number of positions proposed)"),
    LabMutation("conv1d kernel gradient as a mean over examples and positions", "conv1d", "mean_over_positions",
                ("averaged", "SUM over positions"), kernel_mean_over_examples_and_positions,
                seen="sebgao/cTensor#3 (the weight gradient times 1/(B H W)); kvfrans/notes#5 (jnp.mean where "
                     "jnp.sum belongs for a bias)"),
    LabMutation("conv1d kernel gradient of the last position", "conv1d", "kernel_one_position",
                ("SUM over positions",), kernel_last_position,
                seen="facebookresearch/beanmachine#1782; PaddlePaddle/Paddle#1805 (gradient overwritten, not "
                     "accumulated)"),
    LabMutation("conv1d bias gradient per position", "conv1d", "bias_partly_summed", ("both axes",),
                kernel_bias_per_position,
                seen="heyxhh/nnet-numpy#1 and iree-org/fusilli#80 (a conv bias's gradient is a reduction over "
                     "every axis it is broadcast along)"),
    LabMutation("F.3 gradient passed down untransposed", "progressive", "shape_mismatch_in_code",
                ("A_i.T @ p", "A_i @ p does not multiply"), loop_untransposed_blocks,
                seen="JuliaDiff/ReverseDiff.jl#235 (y' * A against A' * y); stan-dev/math#230 (Jacobian "
                     "transposed)"),
    LabMutation("F.3 W_i for A_i", "progressive", "weight_for_block", ("A_i", "sigmoid"), loop_weight_for_block,
                seen="arthurdouillard/deepcourse#6 (grad_h where grad_htilde belongs: the activation's "
                     "derivative skipped)"),
    LabMutation("F.3 softmax Jacobian skipped", "progressive", "softmax_jacobian_skipped", ("softmax",),
                loop_without_softmax_jacobian,
                seen="arthurdouillard/deepcourse#6 (a gradient taken before, not after, a layer's Jacobian)"),
    LabMutation("F.3 passes down before taking q_i", "progressive", "shape_mismatch_in_code",
                ("first q_i = B_i.T @ p",),
                loop_passes_down_first,
                seen="torch/DEPRECEATED-torch7-distro#89 (update before use); "
                     "brianguenter/FastDifferentiation.jl#2 (products in the wrong order)"),
]

REAL_LAB_CORRECT = {
    "MSE gradient by a loop over examples": ("advertising", mse_per_example_loop),
    "MSE gradient as r @ X": ("advertising", mse_residual_as_row),
    "categorical softmax shifted by hand": ("glm:categorical", categorical_shifted_by_hand),
    "conv1d kernel by np.correlate valid": ("conv1d", kernel_by_correlation),
    "F.3 loop with row vectors": ("progressive", loop_with_vjp_products),
}


# ---- running one through its lab's check ---------------------------------------------------------------

def _regression_report(code):
    from types import SimpleNamespace

    import grading
    from labs_solutions import advertising as lab
    from grading.exercises.advertising import build_linear_regression

    import labs_solutions

    rng = np.random.default_rng(2)
    features, sales = rng.normal(size=(25, 3)), rng.normal(size=25)
    model = build_linear_regression(labs_solutions, SimpleNamespace(num_features=3))
    model.lab = SimpleNamespace(design_matrix=lab.design_matrix, mean_squared_error=lab.mean_squared_error,
                                mean_squared_error_gradient=code)
    return grading.check_backpropagation(model, features, sales)


def glm_distribution(part):
    """The distribution whose network shows the mistake of ``part`` (``"glm:seed"``: the Poisson)."""
    return part.removeprefix("glm:seed").removeprefix("glm:").removeprefix(":") or "poisson"


def plant_glm(part, code, monkeypatch):
    """The solution's seed, or one distribution's inverse link, replaced by ``code``."""
    import dataclasses

    from labs_solutions import glm

    if part.startswith("glm:seed"):
        monkeypatch.setattr(glm, "natural_parameter_seed", code)
        return
    distribution = glm_distribution(part)
    monkeypatch.setattr(glm, f"{distribution}_mean", code)
    monkeypatch.setitem(glm.DISTRIBUTIONS, distribution,
                        dataclasses.replace(glm.DISTRIBUTIONS[distribution], inverse_link=code))


def _glm_report(part, code, monkeypatch):
    import grading
    from backprop_labs.datasets.glm_synthetic import synthetic_glm_data
    from labs_solutions import glm

    plant_glm(part, code, monkeypatch)
    distribution = glm_distribution(part)
    data = synthetic_glm_data(num_examples=40, seed=5)
    return grading.check_backpropagation(glm.GLMNetwork(distribution, seed=2), data.inputs, data.labels[distribution])


def conv1d_network_with(code):
    """The lab's ``Conv1dNetwork`` whose kernel gradients are ``code``'s (the given output layer's kept)."""
    from backprop_labs.utils import index2onehot
    from labs_solutions.conv1d import Conv1dNetwork

    class Planted(Conv1dNetwork):
        def backpropagation(self, input, output):
            log_probabilities, windows, z, _ = self.forward_keeping_activations(input)
            error = (np.exp(log_probabilities) - index2onehot(output, log_probabilities.shape[1])) / len(output)
            feature_error = (error @ self.parameters[1][0]) * (z > 0)
            return [list(code(feature_error, windows, input)), super().backpropagation(input, output)[1]]

    return Planted


def _conv1d_report(code):
    import grading
    from labs_solutions.conv1d import motif_sequences

    input, output = motif_sequences(num_examples=20, seed=3)
    return grading.check_backpropagation(conv1d_network_with(code)(12, seed=1), input, output)


def plant_backward_loop(code, monkeypatch):
    """``progressive_backprop`` of the solution with ``code`` as its backward loop (the forward pass kept)."""
    from labs_solutions.forward_reverse import progressive

    def planted_backprop(x, y, layers):
        z, blocks = np.asarray(x, dtype=float), []
        for kind, weight in layers:
            z, a_block, b_block = progressive.LAYERS[kind](z, weight)
            blocks.append((a_block, b_block))
        probabilities, softmax_jacobian, _ = progressive.softmax_layer(z)
        loss = -float(np.sum(y * np.log(probabilities)))
        return loss, code(softmax_jacobian, -y / probabilities, blocks, layers)

    monkeypatch.setattr(progressive, "progressive_backprop", planted_backprop)


def _progressive_report(code, monkeypatch):
    import grading
    from labs_solutions.forward_reverse import progressive

    plant_backward_loop(code, monkeypatch)
    rng = np.random.default_rng(9)
    model = progressive.ProgressiveNetwork([6, 5, 4, 3], ["sigmoid", "sigmoid", "linear"], learning_rate=0.1, seed=2)
    return grading.check_backpropagation(model, rng.normal(size=(13, 6)), rng.integers(3, size=13))


def report_for(part, code, monkeypatch):
    """``check_backpropagation``'s report on the lab's model with ``code`` in place of ``part`` (see above)."""
    if part == "advertising":
        return _regression_report(code)
    if part == "conv1d":
        return _conv1d_report(code)
    if part == "progressive":
        return _progressive_report(code, monkeypatch)
    return _glm_report(part, code, monkeypatch)
