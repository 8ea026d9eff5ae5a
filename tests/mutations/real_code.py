"""Mistakes (and right answers) seen in real learners' code, re-enacted in the lab's interface.

Every function here is this project's own code, written in the SHAPE the learner's code had
(per-example 1-D vectors, examples as columns, augmented weight matrices, np.matrix, ...), with
the learner's mistake and nothing else changed. ``seen`` records where the mistake was seen
(repository @ commit, or the Q&A thread); the study is in the project's research notes.
Interface: ``backpropagation(self, input (B, I), output (B,)) -> [[dW (out, in), db (1, out)], ...]``,
gradients of the MEAN cross-entropy.
"""
import numpy as np

from backprop_labs.activations import HIDDEN_ACTIVATIONS
from backprop_labs.utils import index2onehot, logsumexp

from . import SLOPE, Mutation, backward, forward, output_error, updates_parameters_in_place

# Written with the pre-activation z, as half of the learners did (sigmoid_prime(z) style).
SLOPE_FROM_Z = {"sigmoid": lambda z: HIDDEN_ACTIVATIONS["sigmoid"](z) * (1 - HIDDEN_ACTIVATIONS["sigmoid"](z)),
                "tanh": lambda z: 1 - np.tanh(z) ** 2, "relu": lambda z: (z > 0) * 1.0}


def _softmax_rows(z):
    shifted = z - np.max(z, axis=1, keepdims=True)
    return np.exp(shifted) / np.sum(np.exp(shifted), axis=1, keepdims=True)


# ---- the mistakes ------------------------------------------------------------------------

def own_output_as_layer_input(self, input, output):
    """N1: each dW from the layer's own output (probabilities on top) instead of its input."""
    inputs, _, p, error = output_error(self, input, output)
    outputs = inputs[1:] + [p]
    return backward(self, inputs, error, weight_gradient=lambda n, e, a: e.T @ outputs[n])


def mean_over_fan_in(self, input, output):
    """N2: the 'm' divided by is read from the weight's shape (fan-in), not from the batch."""
    inputs, _, p, _ = output_error(self, input, output)
    error = p - index2onehot(output, p.shape[1])
    gradients = [None] * len(self.parameters)
    for n in reversed(range(len(self.parameters))):
        weight = self.parameters[n][0]
        m = weight.shape[1]
        gradients[n] = [error.T @ inputs[n] / m, np.sum(error, axis=0, keepdims=True) / m]
        if n > 0:
            error = (error @ weight) * SLOPE[self.activation_functions[n - 1]](inputs[n])
    return gradients


def bias_summed_over_everything(self, input, output):
    """N3: db = np.sum(error): a single number for the whole layer."""
    inputs, _, _, error = output_error(self, input, output)
    return backward(self, inputs, error, bias_gradient=lambda e: np.sum(e))


def bias_never_reduced(self, input, output):
    """N4: the add node passes the (B, out) error straight through as the bias gradient."""
    inputs, _, _, error = output_error(self, input, output)
    return backward(self, inputs, error, bias_gradient=lambda e: e)


def onehot_from_batch_max(self, input, output):
    """N5: the one-hot has output.max() + 1 columns: right only if the batch holds the top class."""
    inputs, _, p = forward(self, input)
    onehot = np.zeros((output.size, output.max() + 1))
    onehot[np.arange(output.size), output] = 1
    return backward(self, inputs, (p - onehot) / len(output))


def onehot_from_distinct_labels(self, input, output):
    """N5 (variant): the class count is len(np.unique(output))."""
    inputs, _, p = forward(self, input)
    classes = len(np.unique(output))
    onehot = np.eye(classes)[output]
    return backward(self, inputs, (p - onehot) / len(output))


def diagonal_softmax_jacobian(self, input, output):
    """N6: dL/dp of the cross-entropy chained through p(1-p) only (the Jacobian's diagonal)."""
    inputs, _, p = forward(self, input)
    d_loss_d_p = -index2onehot(output, p.shape[1]) / (len(output) * p)
    return backward(self, inputs, d_loss_d_p * p * (1 - p))


def row_summed_softmax_jacobian(self, input, output):
    """N7: the per-example Jacobian diag(p) - p p^T summed over one axis, then used element-wise."""
    inputs, _, p = forward(self, input)
    jacobian = p[:, :, None] * np.eye(p.shape[1])[None] - p[:, :, None] * p[:, None, :]
    d_loss_d_p = -index2onehot(output, p.shape[1]) / (len(output) * p)
    return backward(self, inputs, jacobian.sum(axis=2) * d_loss_d_p)


def derivative_at_the_error(self, input, output):
    """N8: the activation's derivative written with the propagated error in place of the activation."""
    inputs, _, _, error = output_error(self, input, output)
    gradients = [None] * len(self.parameters)
    for n in reversed(range(len(self.parameters))):
        gradients[n] = [error.T @ inputs[n], np.sum(error, axis=0, keepdims=True)]
        if n > 0:
            upstream = error @ self.parameters[n][0]
            error = upstream * SLOPE[self.activation_functions[n - 1]](upstream)
    return gradients


def activation_times_error(self, input, output):
    """N8 family: the output values themselves used as the 'slope' (np.multiply(g, a, 1 - a): the third
    argument is the output buffer, so the (1 - a) factor is dropped)."""
    inputs, _, _, error = output_error(self, input, output)
    return backward(self, inputs, error, slope=lambda n, name, a: np.multiply(np.ones_like(a[n]), a[n],
                                                                              1 - a[n]))


def bias_from_weight_gradient(self, input, output):
    """N9: db as the weight gradient summed over the inputs."""
    inputs, _, _, error = output_error(self, input, output)
    gradients = backward(self, inputs, error)
    return [[dW, np.sum(dW, axis=1, keepdims=True).T] for dW, _ in gradients]


def output_error_fed_to_every_layer(self, input, output):
    """N10: the loop hands every hidden layer the output error (through the last W), not the propagated one."""
    inputs, _, _, top_error = output_error(self, input, output)
    L = len(self.parameters)
    gradients = [None] * L
    error = top_error
    for n in reversed(range(L)):
        gradients[n] = [error.T @ inputs[n], np.sum(error, axis=0, keepdims=True)]
        if n > 0:
            error = (top_error @ self.parameters[L - 1][0]) * SLOPE[self.activation_functions[n - 1]](inputs[n])
    return gradients


def elementwise_weight_gradient(self, input, output):
    """N11: dW = error.T * layer_input (np.multiply where a matrix product was meant)."""
    inputs, _, _, error = output_error(self, input, output)
    return backward(self, inputs, error, weight_gradient=lambda n, e, a: np.multiply(e.T, a[n]))


def elementwise_propagation(self, input, output):
    """N11: the error goes back through W with * instead of @."""
    inputs, _, _, error = output_error(self, input, output)
    L = len(self.parameters)
    gradients = [None] * L
    for n in reversed(range(L)):
        gradients[n] = [error.T @ inputs[n], np.sum(error, axis=0, keepdims=True)]
        if n > 0:
            error = (error * self.parameters[n][0]) * SLOPE[self.activation_functions[n - 1]](inputs[n])
    return gradients


HARD_CODED_BIAS_COLUMN = 3


def augmented_bias_cut_at_wrong_column(self, input, output):
    """N12: weights kept as [W | b]; before propagating, 'the bias column' is deleted at a hard-coded index
    that is not the last one, so a real column goes and the bias column stays."""
    inputs, _, _, error = output_error(self, input, output)
    L = len(self.parameters)
    augmented = [np.concatenate([W, b.T], axis=1) for W, b in self.parameters]
    gradients = [None] * L
    for n in reversed(range(L)):
        gradients[n] = [error.T @ inputs[n], np.sum(error, axis=0, keepdims=True)]
        if n > 0:
            cut = np.delete(augmented[n], HARD_CODED_BIAS_COLUMN if n == L - 1 else -1, axis=1)
            error = (error @ cut) * SLOPE[self.activation_functions[n - 1]](inputs[n])
    return gradients


def inner_product_per_example(self, input, output):
    """N13 (with N1): one 1-D example at a time; dW = np.dot(delta, own_output) is a scalar."""
    L = len(self.parameters)
    dWs = [0.0] * L
    dbs = [np.zeros_like(b) for _, b in self.parameters]
    for x, y in zip(input, output):
        inputs, _, p, delta = output_error(self, x[None, :], np.array([y]))
        outputs = [a[0] for a in inputs[1:]] + [p[0]]
        delta = delta[0]
        for n in reversed(range(L)):
            dWs[n] += np.dot(delta, outputs[n]) / len(output)
            dbs[n] += delta[None, :] / len(output)
            if n > 0:
                delta = (delta @ self.parameters[n][0]) * SLOPE[self.activation_functions[n - 1]](inputs[n][0])
    return [[dW, db] for dW, db in zip(dWs, dbs)]


def relu_slope_with_python_if(self, input, output):
    """N14: ReLU's slope as a Python conditional expression on the whole array."""
    inputs, zs, _, error = output_error(self, input, output)
    return backward(self, inputs, error, slope=lambda n, name, a: 1.0 if zs[n - 1] > 0 else 0.0)


def softmax_backward_on_upstream(self, input, output):
    """N15: softmax's backward applies softmax to the incoming gradient and returns its (K, K) Jacobian."""
    inputs, _, p = forward(self, input)
    upstream = -index2onehot(output, p.shape[1]) / (len(output) * p)
    s = _softmax_rows(upstream)[0]
    error = np.diag(s) - np.outer(s, s)            # (K, K), one example's Jacobian
    return backward(self, inputs, error)


def tanh_slope_from_preactivation(self, input, output):
    """V1: tanh's derivative as 1 - z**2 with the stored pre-activation."""
    inputs, zs, _, error = output_error(self, input, output)
    return backward(self, inputs, error, slope=lambda n, name, a: (
        1 - zs[n - 1] ** 2 if name == "tanh" else SLOPE[name](a[n])))


def batch_mean_again_in_each_layer(self, input, output):
    """V2: 1/m multiplied into each propagated error and again into dW and db."""
    inputs, _, _, error = output_error(self, input, output)
    L = len(self.parameters)
    gradients = [None] * L
    for n in reversed(range(L)):
        gradients[n] = [error.T @ inputs[n], np.sum(error, axis=0, keepdims=True)]
        if n > 0:
            error = (error @ self.parameters[n][0]) * SLOPE[self.activation_functions[n - 1]](inputs[n])
            error = error / len(output)
    return gradients


def output_layer_key_lost(self, input, output):
    """V3: output layer stored under a 0-based key, the loop under 1-based keys: only layers 0..L-2 come back."""
    inputs, _, _, error = output_error(self, input, output)
    grads = {}
    L = len(self.parameters)
    for n in reversed(range(L)):
        dW, db = error.T @ inputs[n], np.sum(error, axis=0, keepdims=True)
        grads[n - 1 if n == L - 1 else n] = [dW, db]    # the output layer's key collides with layer L-2's
        if n > 0:
            error = (error @ self.parameters[n][0]) * SLOPE[self.activation_functions[n - 1]](inputs[n])
    return [grads[n] for n in range(L - 1)]


def output_slot_holds_layer_below(self, input, output):
    """V3 (variant): same key mix-up, list length kept: the last slot holds layer L-2's gradients."""
    gradients = backward(self, *output_error(self, input, output)[::3])
    gradients[-1] = gradients[-2]
    return gradients


def sum_gradient_first_bias_flat(self, input, output):
    """Gradient of the SUM (no 1/N) and the first bias summed without keepdims, the second with it."""
    inputs, _, p = forward(self, input)
    delta = p.copy()
    delta[np.arange(len(output)), output] -= 1         # probabilities edited into the error
    gradients = backward(self, inputs, delta)
    gradients[0][1] = gradients[0][1][0]               # (out,), the others (1, out)
    return gradients


def ascent_on_the_summed_likelihood(self, input, output):
    """Ascent convention: onehot - p, no 1/N (right for its own '+=' update, not for this interface)."""
    inputs, _, p = forward(self, input)
    return backward(self, inputs, index2onehot(output, p.shape[1]) - p)


def relu_mask_sum_gradient(self, input, output):
    """ReLU mask applied by zeroing the error where the activation is not positive; no 1/m."""
    inputs, _, p = forward(self, input)
    error = p
    error[np.arange(len(output)), output] -= 1
    L = len(self.parameters)
    gradients = [None] * L
    for n in reversed(range(L)):
        gradients[n] = [error.T @ inputs[n], np.sum(error, axis=0, keepdims=True)]
        if n > 0:
            error = error @ self.parameters[n][0]
            error[inputs[n] <= 0] = 0
    return gradients


def sigmoid_output_layer(self, input, output):
    """A sigmoid per class on the output layer where the lab's softmax belongs (the error a - y, as for
    binary labels)."""
    inputs, zs, _ = forward(self, input)
    a = HIDDEN_ACTIVATIONS["sigmoid"](zs[-1])
    return backward(self, inputs, (a - index2onehot(output, a.shape[1])) / len(output))


def softmax_over_the_batch(self, input, output):
    """The column-wise softmax recipe (normalise over axis 0) applied to a (B, K) array whose rows are the
    examples: each class is normalised over the batch."""
    inputs, zs, _ = forward(self, input)
    shifted = np.exp(zs[-1] - np.max(zs[-1], axis=0))
    p = shifted / np.sum(shifted, axis=0)
    return backward(self, inputs, (p - index2onehot(output, p.shape[1])) / len(output))


def l2_penalty_carried_over(self, input, output):
    """The CS231n two-layer-net habit, carried into a loss without a penalty: reg * W added to each dW."""
    inputs, _, _, error = output_error(self, input, output)
    gradients = backward(self, inputs, error)
    return [[dW + 1e-2 * W, db] for (dW, db), (W, _) in zip(gradients, self.parameters)]



def z_form_derivative_at_the_activation(self, input, output):
    """Nielsen's sigmoid_prime(z) = sigmoid(z) (1 - sigmoid(z)), written for the pre-activation, called with the
    stored activation (sigmoid_prime(activations[-l])): the activation is applied twice. The tanh layer gets the
    same treatment, 1 - tanh(a)**2."""
    inputs, _, _, error = output_error(self, input, output)
    return backward(self, inputs, error, slope=lambda n, name, a: SLOPE_FROM_Z[name](a[n]))


TRAINING_SET_ROWS = 1437     # m, n = data.shape taken once from the whole training set


def mean_over_the_training_set(self, input, output):
    """1/m with m the TRAINING SET's row count (m, n = data.shape at the top of the notebook), not the batch's."""
    inputs, _, p = forward(self, input)
    return backward(self, inputs, (p - index2onehot(output, p.shape[1])) / TRAINING_SET_ROWS)



def network_input_in_every_weight_gradient(self, input, output):
    """dW1's line copied for the deeper layers: every weight gradient multiplies the error by X, the network's
    input, instead of that layer's own input (dW2 = 1/m * np.dot(dZ2, X.T))."""
    inputs, _, _, error = output_error(self, input, output)
    return backward(self, inputs, error, weight_gradient=lambda n, e, a: e.T @ a[0])


HARD_CODED_ROWS = 40


def batch_size_in_the_row_index(self, input, output):
    """delta[range(40), y] -= 1: the batch size the learner trained with is written into the row index."""
    inputs, _, p = forward(self, input)
    delta = p.copy()
    delta[range(HARD_CODED_ROWS), output] -= 1
    return backward(self, inputs, delta / len(output))


def bias_as_a_threshold(self, input, output):
    """The bias kept as a threshold (z = w.x - theta): its gradient is -sum(dZ) / m, the opposite of this lab's
    z = x @ W.T + b."""
    gradients = backward(self, *output_error(self, input, output)[::3])
    return [[dW, -db] for dW, db in gradients]


def tanh_slope_without_one_minus(self, input, output):
    """tanh's derivative written A1 .^ 2: the '1 -' of 1 - a**2 dropped."""
    inputs, _, _, error = output_error(self, input, output)
    return backward(self, inputs, error, slope=lambda n, name, a: a[n] ** 2 if name == "tanh" else SLOPE[name](a[n]))


def columns_bias_summed_over_units(self, input, output):
    """Examples as columns, db = sum(dZ) with MATLAB's / np.sum(axis=0)'s first axis: over the units, one number
    per example, (1, B), returned transposed (B, 1)."""
    gradients = backward(self, *output_error(self, input, output)[::3])
    errors = []
    backward(self, *output_error(self, input, output)[::3],
             bias_gradient=lambda e: errors.append(e) or np.sum(e, axis=0, keepdims=True))
    return [[dW, np.sum(e.T, axis=0, keepdims=True).T] for (dW, _), e in zip(gradients, reversed(errors))]


def _softmax_backward_per_example(p, upstream, last_only=False, reshape=lambda s: s.reshape(-1, 1)):
    """nnfs's Softmax.backward: each example's Jacobian diag(s) - s s^T times its upstream gradient. With
    ``last_only`` the assignment sits after the loop (dedented): only the last example's row is written."""
    error = np.zeros_like(upstream)    # np.empty_like in the learner's code: its other rows are whatever was there
    for index, (single, single_upstream) in enumerate(zip(p, upstream)):
        single = reshape(single)
        jacobian = np.diagflat(single) - single @ single.T
        if not last_only:
            error[index] = jacobian @ single_upstream
    if last_only:
        error[index] = jacobian @ single_upstream
    return error


def softmax_backward_assignment_after_the_loop(self, input, output):
    """Softmax.backward with `dinputs[index] = np.dot(jacobian, single_dvalues)` dedented out of the loop."""
    inputs, _, p = forward(self, input)
    upstream = -index2onehot(output, p.shape[1]) / (len(output) * p)      # categorical cross-entropy's backward
    return backward(self, inputs, _softmax_backward_per_example(p, upstream, last_only=True))


def softmax_backward_reshape_typo(self, input, output):
    """single_output.rehape(-1, 1): an AttributeError on the first example."""
    inputs, _, p = forward(self, input)
    upstream = -index2onehot(output, p.shape[1]) / (len(output) * p)
    return backward(self, inputs, _softmax_backward_per_example(p, upstream, reshape=lambda s: s.rehape(-1, 1)))


def one_dimensional_softmax_on_the_batch(self, input, output):
    """The 1-D softmax (c = np.max(a); exp(a - c) / np.sum(exp(a - c))) applied to the (B, K) logits: normalised
    over every entry of the batch at once."""
    inputs, zs, _ = forward(self, input)
    shifted = np.exp(zs[-1] - np.max(zs[-1]))
    p = shifted / np.sum(shifted)
    return backward(self, inputs, (p - index2onehot(output, p.shape[1])) / len(output))


REAL_MUTATIONS = [
    Mutation("1-D softmax on the batch (one sum over every entry)", "softmax_over_batch",
             one_dimensional_softmax_on_the_batch,
             seen="oreilly-japan/deep-learning-from-scratch issue 85 (the 1-D softmax, np.sum(exp_a) without an "
                  "axis, still used for 2-D batches)"),
    Mutation("softmax backward: the row assignment after the loop", "one_example_only",
             softmax_backward_assignment_after_the_loop,
             seen="public nnfs (Neural Networks from Scratch) port (search index file 20212806252: "
                  "self.dinputs[index] = np.dot(jacobian_matrix, single_dvalues) dedented out of the for loop)"),
    Mutation("softmax backward: .rehape typo", "exception", softmax_backward_reshape_typo,
             seen="public nnfs port (search index file 18273511586: single_output.rehape(-1, 1))"),
    Mutation("network input X in every weight gradient", "network_input_as_layer_input",
             network_input_in_every_weight_gradient, model="square",
             seen="public deep-learning-specialization 3-layer port with L2 (search index file 2116588927: "
                  "dW2 = 1 / m * np.dot(dZ2, X.T) + regu2)"),
    Mutation("network input X in every weight gradient, shapes differ", "network_input_as_layer_input",
             network_input_in_every_weight_gradient,
             seen="public deep-learning-specialization 3-layer port with L2 (search index file 2116588927)"),
    Mutation("batch size 40 in the row index", "hard_coded_batch_size", batch_size_in_the_row_index,
             seen="public dennybritz-style 3-layer port (search index file 13986408799: delta3[range(40), Y] -= 1)"),
    Mutation("bias as a threshold: -sum(dZ) / m", "bias_wrong_sign", bias_as_a_threshold,
             seen="public two-unit network with per-weight names (search index file 61779413318: "
                  "d10 = -1 * np.sum(dZ1, axis=1, keepdims=True) / m)"),
    Mutation("tanh derivative a**2 ('1 -' dropped)", "tanh_derivative_missing_one", tanh_slope_without_one_minus,
             seen="public Octave backward_propagation (search corpus 'code': dZ1 = (W2' * dZ2) .* (A1.^2))"),
    Mutation("columns: db = sum(dZ) over the units", "bias_wrong_axis", columns_bias_summed_over_units,
             seen="same Octave backward_propagation (db2 = (1/m) * sum(dZ2): MATLAB's sum runs down the first "
                  "axis, the units, when examples are columns)"),
    Mutation("1/m with m the training set's size", "not_a_mean", mean_over_the_training_set,
             seen="stackoverflow.com q. 76450489 (mirror wiki.kunaldawn.com: m, n = data.shape of the whole set, "
                  "dw2 = 1/m * a1.T.dot(dadc) on every batch)"),
    Mutation("output weights stepped before the error crosses them", "modifies_parameters",
             updates_parameters_in_place,
             seen="Bot-Academy/NeuralNetworkFromScratch pull request 3 (hidden-to-output weights updated before the "
                  "hidden error is computed with them)"),
    Mutation("ReLU mask taken from the gradient", "derivative_of_error", derivative_at_the_error, model="relu",
             seen="public CS231n-case-study ports, dhidden[dhidden <= 0] = 0 (search index files 6080849312, "
                  "48429978880: class SLC compute_a_gradient_NN; gradient_backprop over a list of layers)"),
    Mutation("sigmoid_prime(z) called with the activation", "derivative_of_activation", z_form_derivative_at_the_activation,
             seen="Nielsen network.py derivatives, sp = sigmoid_prime(activations[-l]) with sigmoid_prime written for z "
                  "(10 public files, e.g. search index 4436995010, 8991813099, 31231452544, 32100587882)"),
    Mutation("L2 penalty's gradient carried over", "weight_decay", l2_penalty_carried_over,
             seen="lavinama/conv-first-principles (CS231n two-layer net, grads['W2'] += reg * W2; the same line in "
                  "many of that course's public solutions)"),
    Mutation("sigmoid output layer for several classes", "output_not_shift_invariant", sigmoid_output_layer,
             seen="stackoverflow.com q. 49990816 (sigmoids on a multi-class output layer)"),
    Mutation("softmax over the batch axis", "softmax_over_batch", softmax_over_the_batch,
             seen="splunktool.com 'calculate the softmax of an array columnwise' (s / s.sum(0), for columns)"),
    Mutation("own output as layer input (N1)", "output_as_layer_input", own_output_as_layer_input,
             seen="casper-hansen/Neural-Network-From-Scratch@6d59cd9; datascience.stackexchange.com q. 25394"),
    Mutation("mean over the fan-in (N2)", "mean_over_wrong_count", mean_over_fan_in,
             seen="datascience.stackexchange.com q. 25394"),
    Mutation("bias summed over every axis (N3)", "bias_summed_over_everything", bias_summed_over_everything,
             seen="akumar23/digit-predictor-neural-net@9213588; maciejtrzcinski/mnist@a6c1b5f"),
    Mutation("bias gradient never reduced (N4)", "bias_not_summed", bias_never_reduced,
             seen="jimfleming/differentiation@ee09d92"),
    Mutation("one-hot sized by y.max() + 1 (N5)", "classes_from_batch", onehot_from_batch_max,
             seen="akumar23/digit-predictor-neural-net@9213588; maciejtrzcinski/mnist@a6c1b5f"),
    Mutation("one-hot sized by y.max() + 1, batch without class 9 (N5)", "classes_from_batch",
             onehot_from_batch_max, model="no_top_class",
             seen="akumar23/digit-predictor-neural-net@9213588; maciejtrzcinski/mnist@a6c1b5f"),
    Mutation("class count from np.unique (N5)", "classes_from_batch", onehot_from_distinct_labels,
             model="no_top_class", seen="akumar23/digit-predictor-neural-net@9213588 (same confusion)"),
    Mutation("softmax Jacobian diagonal only (N6)", "softmax_diagonal_jacobian", diagonal_softmax_jacobian,
             seen="casper-hansen/Neural-Network-From-Scratch@3e3cdf6; RoboticsClubIITJ/ML-DL-implementation@b682461"),
    Mutation("softmax Jacobian summed over a row (N7)", "output_error_vanishes", row_summed_softmax_jacobian,
             seen="RoboticsClubIITJ/ML-DL-implementation@79808e5; jorgenkg/python-neural-network@02fd15d; "
                  "stackoverflow.com q. 36279904"),
    Mutation("derivative evaluated at the error (N8)", "derivative_of_error", derivative_at_the_error,
             seen="datascience.stackexchange.com q. 20139"),
    Mutation("activation used as its own derivative (N8 family)", "activation_as_derivative",
             activation_times_error, seen="stackoverflow.com q. 75378819"),
    Mutation("bias gradient from the weight gradient (N9)", "bias_from_weight_gradient", bias_from_weight_gradient,
             seen="rust0258/Deeplearning.ai-Natural-Language-Processing-Specialization issues 62, 64"),
    Mutation("output error fed to every layer (N10)", "error_not_propagated", output_error_fed_to_every_layer,
             seen="Jean-Pierre-LV/Deep-Learning-MATLAB@a647a97"),
    Mutation("element-wise product in dW (N11)", "elementwise_for_matmul", elementwise_weight_gradient,
             seen="community.deeplearning.ai t. 674897"),
    Mutation("element-wise product in the propagation (N11)", "elementwise_for_matmul", elementwise_propagation,
             seen="community.deeplearning.ai t. 723602"),
    Mutation("augmented bias column cut at the wrong index (N12)", "bias_column_misaligned",
             augmented_bias_cut_at_wrong_column, seen="louisjc/mnist-neural-network@fa2dc66"),
    Mutation("np.dot of two vectors for dW (N13)", "inner_for_outer", inner_product_per_example,
             seen="casper-hansen/Neural-Network-From-Scratch@6d59cd9"),
    Mutation("ReLU slope as a Python if (N14)", "scalar_only_code", relu_slope_with_python_if, model="relu",
             seen="Ashitaka98/NeuralNetwork_BackProbagationExercise@ca4e244"),
    Mutation("softmax backward on the upstream gradient (N15)", "shape_mismatch_in_code",
             softmax_backward_on_upstream, seen="offlinew.com/q/q/3383959922 (Stack Overflow mirror)"),
    Mutation("tanh derivative at the pre-activation (V1)", "tanh_derivative_at_preactivation",
             tanh_slope_from_preactivation, seen="community.deeplearning.ai t. 31965"),
    Mutation("1/B again in every propagated error (V2)", "batch_mean_in_propagation",
             batch_mean_again_in_each_layer, seen="community.deeplearning.ai t. 63071"),
    Mutation("output layer's key lost (V3)", "forgot_layer", output_layer_key_lost,
             seen="pavankodi/neural-networks@0ed24c8"),
    Mutation("output slot holds the layer below (V3)", "misplaced_layer", output_slot_holds_layer_below,
             seen="pavankodi/neural-networks@0ed24c8"),
    Mutation("gradient of the sum, first bias flat", "missing_batch_mean", sum_gradient_first_bias_flat,
             also=("bias_shape",), seen="dennybritz/nn-from-scratch@9a2f09a"),
    Mutation("ascent on the summed likelihood", "wrong_sign", ascent_on_the_summed_likelihood,
             also=("missing_batch_mean",), seen="saransh-mehta/EcommercePredictionNeuralNetwork@a1c9b29"),
    Mutation("ReLU mask by zeroing, gradient of the sum", "missing_batch_mean", relu_mask_sum_gradient,
             model="relu", seen="glnrmdan/Semantic-Segmentation-Using-CNN@bd4467a"),
]


# ---- right, in the learners' shapes -------------------------------------------------------

def per_example_column_vectors(self, input, output):
    """Nielsen style: one example at a time as (n, 1) columns, biases (n, 1), sigmoid_prime(z), summed, then
    averaged and laid out as the lab wants."""
    L = len(self.parameters)
    nabla_w = [np.zeros_like(W) for W, _ in self.parameters]
    nabla_b = [np.zeros((W.shape[0], 1)) for W, _ in self.parameters]
    for x, y in zip(input, output):
        activation, activations, zs = np.asarray(x, np.float64).reshape(-1, 1), [], []
        activations.append(activation)
        for n, (W, b) in enumerate(self.parameters):
            z = W @ activation + b.T
            zs.append(z)
            activation = _softmax_rows(z.T).T if n == L - 1 else HIDDEN_ACTIVATIONS[
                self.activation_functions[n]](z)
            activations.append(activation)
        delta = activations[-1].copy()
        delta[y] -= 1
        for n in reversed(range(L)):
            nabla_w[n] += delta @ activations[n].T
            nabla_b[n] += delta
            if n > 0:
                delta = (self.parameters[n][0].T @ delta) * SLOPE_FROM_Z[self.activation_functions[n - 1]](zs[n - 1])
    return [[w / len(output), b.T / len(output)] for w, b in zip(nabla_w, nabla_b)]


def examples_as_columns(self, input, output):
    """Deep-learning-specialization port: A (n, B), dZ = A - Y, dW = dZ @ A_prev.T / m, db (n, 1)."""
    m = input.shape[0]
    A, caches = np.asarray(input, np.float64).T, []
    L = len(self.parameters)
    for n, (W, b) in enumerate(self.parameters):
        caches.append(A)
        Z = W @ A + b.T
        A = _softmax_rows(Z.T).T if n == L - 1 else HIDDEN_ACTIVATIONS[self.activation_functions[n]](Z)
    Y = np.eye(A.shape[0])[:, output]
    dZ = A - Y
    grads = {}
    for n in reversed(range(L)):
        grads["dW" + str(n + 1)] = dZ @ caches[n].T / m
        grads["db" + str(n + 1)] = np.sum(dZ, axis=1, keepdims=True) / m
        if n > 0:
            dZ = (self.parameters[n][0].T @ dZ) * SLOPE[self.activation_functions[n - 1]](caches[n])
    return [[grads["dW" + str(n + 1)], grads["db" + str(n + 1)].T] for n in range(L)]


def probabilities_edited_into_the_error(self, input, output):
    """dennybritz pattern with the 1/N: the probabilities array becomes the error, edited in place."""
    inputs, _, probs = forward(self, input)
    delta = probs
    delta[range(len(output)), output] -= 1
    delta /= len(output)
    return backward(self, inputs, delta)


def augmented_weights_bias_row_zero(self, input, output):
    """Biases folded into (in + 1, out) weights as row 0, the input given a leading column of ones."""
    L = len(self.parameters)
    augmented = [np.vstack([b, W.T]) for W, b in self.parameters]
    activation, signals = np.asarray(input, np.float64), []
    for n in range(L):
        with_ones = np.hstack([np.ones((activation.shape[0], 1)), activation])
        signals.append(with_ones)
        z = with_ones @ augmented[n]
        activation = _softmax_rows(z) if n == L - 1 else HIDDEN_ACTIVATIONS[self.activation_functions[n]](z)
    delta = (activation - np.eye(activation.shape[1])[output]) / len(output)
    gradients = [None] * L
    for n in reversed(range(L)):
        full = signals[n].T @ delta                 # (in + 1, out)
        gradients[n] = [full[1:].T, full[:1]]
        if n > 0:
            a = signals[n][:, 1:]
            delta = (delta @ augmented[n][1:].T) * SLOPE[self.activation_functions[n - 1]](a)
    return gradients


def matrix_bias_gradients(self, input, output):
    """Right values; every bias gradient returned as an np.matrix (np.asmatrix of the column sum)."""
    gradients = backward(self, *output_error(self, input, output)[::3])
    return [[dW, np.asmatrix(db)] for dW, db in gradients]


def float32_forward_float64_result(self, input, output):
    """Forward pass in float32 (the batch's dtype) with logsumexp, one-hot in float64: float64 results with
    float32 rounding."""
    weights = [W.astype(np.float32) for W, _ in self.parameters]
    biases = [b.astype(np.float32) for _, b in self.parameters]
    inputs, a = [], np.asarray(input, dtype=np.float32)
    for n, (W, b) in enumerate(zip(weights, biases)):
        inputs.append(a)
        z = a @ W.T + b
        if n < len(weights) - 1:
            a = HIDDEN_ACTIVATIONS[self.activation_functions[n]](z).astype(np.float32)
    p = np.exp(z - logsumexp(z, axis=1, keepdims=True))
    error = (p - index2onehot(output, p.shape[1])) / len(output)     # float64 one-hot: float64 from here on
    return backward(self, inputs, error, propagate=lambda n: weights[n])


def flat_biases(self, input, output):
    """Biases kept (n,) throughout, as a quarter of the learners do: right values, (n,) bias gradients."""
    gradients = backward(self, *output_error(self, input, output)[::3])
    return [[dW, db[0]] for dW, db in gradients]


def columns_with_tanh_slope_from_z(self, input, output):
    """Deep-learning-specialization port with each hidden derivative computed from the cached Z
    (1 - np.tanh(Z1) ** 2, sigmoid(Z) (1 - sigmoid(Z))) instead of from A: more work, same values."""
    m, L = input.shape[0], len(self.parameters)
    A, caches, Zs = np.asarray(input, np.float64).T, [], []
    for n, (W, b) in enumerate(self.parameters):
        caches.append(A)
        Z = W @ A + b.T
        Zs.append(Z)
        A = _softmax_rows(Z.T).T if n == L - 1 else HIDDEN_ACTIVATIONS[self.activation_functions[n]](Z)
    dZ = A - np.eye(A.shape[0])[:, output]
    gradients = [None] * L
    for n in reversed(range(L)):
        gradients[n] = [dZ @ caches[n].T / m, np.sum(dZ, axis=1, keepdims=True).T / m]
        if n > 0:
            dZ = (self.parameters[n][0].T @ dZ) * SLOPE_FROM_Z[self.activation_functions[n - 1]](Zs[n - 1])
    return gradients


def tanh_slope_through_the_sigmoid(self, input, output):
    """tanh computed as 2 sigmoid(2z) - 1 and its derivative as 4 sigmoid'(2z), from z."""
    inputs, zs, _, error = output_error(self, input, output)

    def slope(n, name, a):
        if name != "tanh":
            return SLOPE[name](a[n])
        s = HIDDEN_ACTIVATIONS["sigmoid"](2 * zs[n - 1])
        return 4 * s * (1 - s)
    return backward(self, inputs, error, slope=slope)


REAL_CORRECT = {
    "columns, tanh slope from Z": columns_with_tanh_slope_from_z,      # community.deeplearning.ai t. 66727
    "tanh slope as 4 sigmoid'(2z)": tanh_slope_through_the_sigmoid,    # markroxor/fromscratchtoml@1c22773
    "per-example (n, 1) columns": per_example_column_vectors,
    "examples as columns": examples_as_columns,
    "probabilities edited into the error": probabilities_edited_into_the_error,
    "augmented weights, bias row 0": augmented_weights_bias_row_zero,
    "np.matrix bias gradients": matrix_bias_gradients,
    "float32 forward, float64 result": float32_forward_float64_result,
    "flat (n,) biases": flat_biases,
}
