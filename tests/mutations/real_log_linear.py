"""Mistakes (and right answers) seen in real learners' log-linear (softmax regression) code, re-enacted in
exercise 2.1's interface.

Every function here is this project's own code, written in the SHAPE the learner's code had (weights kept
(I, K) as in CS231n's softmax classifier, a loop over examples and classes, a binary-logistic recipe carried
over), with the learner's mistake and nothing else changed. ``seen`` records where it was seen.
Interface: ``NumpyLogLinear.backpropagation(self, input (B, I), output (B,)) -> [[dW (K, I), db (1, K)]]``,
the gradients of the MEAN cross-entropy. ``classes`` is the number of classes of the model it is graded on
(a hard-coded class count shows only where it differs from the lab's).
"""
from dataclasses import dataclass
from typing import Callable

import numpy as np

from backprop_labs.utils import index2onehot, logsumexp
from labs_solutions import NumpyLogLinear

from .models import BATCH_SIZE


@dataclass(frozen=True)
class LogLinearMutation:
    name: str
    cause: str
    backpropagation: Callable
    seen: str
    classes: int = 10


def _probabilities(self, input):
    z = np.asarray(input, dtype=np.float64) @ self.weight.T + self.bias
    return np.exp(z - logsumexp(z, axis=1, keepdims=True))


def _gradients(error, x):
    """``[[dW, db]]`` from the error at the scores ``(B, K)`` and the batch ``x`` ``(B, I)``, as every entry ends."""
    return [[error.T @ x, np.sum(error, axis=0, keepdims=True)]]


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# ---- the mistakes ------------------------------------------------------------------------

def cs231n_layout_gradient(self, input, output):
    """CS231n keeps W as (D, C) and scores = X @ W: its dW = X.T @ dscores is (I, K), returned as it is."""
    x = np.asarray(input, dtype=np.float64)
    dscores = _probabilities(self, x)
    dscores[np.arange(len(output)), output] -= 1
    dscores /= len(output)
    [[dW, db]] = _gradients(dscores, x)
    return [[dW.T, db]]                                 # X.T @ dscores: (I, K)


def l2_penalty_in_the_gradient(self, input, output):
    """CS231n's softmax_loss adds reg * W to dW; this loss has no penalty."""
    x = np.asarray(input, dtype=np.float64)
    error = (_probabilities(self, x) - index2onehot(output, self.weight.shape[0])) / len(output)
    reg = 5e-3
    [[dW, db]] = _gradients(error, x)
    return [[dW + reg * self.weight, db]]


def softmax_derivative_applied(self, input, output):
    """The softmax's 'derivative' p * (1 - p) multiplied into the error p - y, as for an element-wise activation."""
    x = np.asarray(input, dtype=np.float64)
    p = _probabilities(self, x)
    error = (p - index2onehot(output, p.shape[1])) * p * (1 - p) / len(output)
    return _gradients(error, x)


def gradient_of_the_summed_loss(self, input, output):
    """dLdTheta = X^T dLdA with no 1/N anywhere: the gradient of the summed loss."""
    x = np.asarray(input, dtype=np.float64)
    error = _probabilities(self, x) - index2onehot(output, self.weight.shape[0])
    return _gradients(error, x)


def mean_over_the_onehot_entries(self, input, output):
    """The loss written as np.mean(-Y * log P) over the (B, K) one-hot: its gradient, divided by B * K."""
    x = np.asarray(input, dtype=np.float64)
    onehot = index2onehot(output, self.weight.shape[0])
    error = (_probabilities(self, x) - onehot) / onehot.size
    return _gradients(error, x)


def labels_subtracted_as_numbers(self, input, output):
    """The binary recipe (yhat - y) * X kept for several classes: the class INDEX y, a column, is subtracted from
    every class's probability instead of the one-hot."""
    x = np.asarray(input, dtype=np.float64)
    error = (_probabilities(self, x) - np.asarray(output, dtype=np.float64)[:, None]) / len(output)
    return _gradients(error, x)


def one_sigmoid_per_class(self, input, output):
    """One-vs-rest: a sigmoid per class on the scores, error sigmoid(z) - onehot, where the softmax belongs."""
    x = np.asarray(input, dtype=np.float64)
    a = _sigmoid(x @ self.weight.T + self.bias)
    error = (a - index2onehot(output, a.shape[1])) / len(output)
    return _gradients(error, x)


HARD_CODED_CLASSES = 10


def hard_coded_class_count(self, input, output):
    """num_class = 10 written into the code (the digits' count): the one-hot has 10 columns whatever K is."""
    x = np.asarray(input, dtype=np.float64)
    onehot = np.eye(HARD_CODED_CLASSES)[output]
    error = (_probabilities(self, x) - onehot) / len(output)
    return _gradients(error, x)


def negated_scores(self, input, output):
    """Probabilities from the NEGATED scores, softmax(-X @ W), with the gradient that convention gives,
    X.T @ (Y - P) / N: right for that model, not for this lab's softmax(x @ W.T + b)."""
    x = np.asarray(input, dtype=np.float64)
    z = -(x @ self.weight.T + self.bias)
    p = np.exp(z - logsumexp(z, axis=1, keepdims=True))
    error = (index2onehot(output, p.shape[1]) - p) / len(output)
    return _gradients(error, x)


def bias_mean_of_the_averaged_error(self, input, output):
    """dscores already divided by n, then gradb = np.mean(dscores): one number, divided by the count again."""
    x = np.asarray(input, dtype=np.float64)
    error = (_probabilities(self, x) - index2onehot(output, self.weight.shape[0])) / len(output)
    [[dW, _]] = _gradients(error, x)
    return [[dW, np.mean(error)]]


REAL_LOG_LINEAR_MUTATIONS = [
    LogLinearMutation("CS231n (D, C) layout: dW = X.T @ dscores", "transposed_weight", cs231n_layout_gradient,
                      seen="JPLAY0/CS231nAssignment assignment1/cs231n/classifiers/softmax.py (W (D, C), "
                           "dW[:, j] += X[i] * p_j); lianxiaolei/cs231learning softmax.py"),
    LogLinearMutation("L2 penalty's gradient carried over", "weight_decay", l2_penalty_in_the_gradient,
                      seen="JPLAY0/CS231nAssignment softmax.py (dW += reg * W); idotc/Deep_learning_practice "
                           "evaluation_method/SoftMaxLoss.py (dW/num_train + 2*reg*W)"),
    LogLinearMutation("softmax derivative p(1 - p) multiplied in", "extra_output_derivative",
                      softmax_derivative_applied,
                      seen="markroxor/fromscratchtoml issue 65 ('gradient of softmax is off'), "
                           "activations.py@1c22773 (softmax returns p * (1 - p) as its derivative)"),
    LogLinearMutation("no 1/N: gradient of the summed loss", "missing_batch_mean", gradient_of_the_summed_loss,
                      seen="janchorowski/nn_assignments pull request 21 (dLdTheta = np.dot(X, dLdA.T) without "
                           "/ num_samples fails check_gradient)"),
    LogLinearMutation("mean over the one-hot's B * K entries", "mean_over_wrong_count",
                      mean_over_the_onehot_entries,
                      seen="z.id.vn/?p=348969 (Stack Overflow mirror: cost = -np.sum(y * np.log(s)) / len(y) with "
                           "y the one-hot, analytic gradient off by the class count)"),
    LogLinearMutation("class indices subtracted instead of the one-hot", "labels_as_targets",
                      labels_subtracted_as_numbers,
                      seen="community.deeplearning.ai t. 684236 (binary (yhat - y) * X recipe kept with y = "
                           "[0, 1, 2] as a column)"),
    LogLinearMutation("a sigmoid per class (one-vs-rest)", "output_not_shift_invariant", one_sigmoid_per_class,
                      seen="community.deeplearning.ai t. 684236 ('the same Sigmoid function applying to OvR')"),
    LogLinearMutation("probabilities of the negated scores", "negated_scores", negated_scores,
                      seen="public softmax-regression script (search index file 9071616357: weighted_X = - X @ W, "
                           "dw = (1/N) * X.T @ (y_onehot - probabilities) + 2 * mu * W)"),
    LogLinearMutation("bias: np.mean of the already averaged error", "bias_summed_over_everything",
                      bias_mean_of_the_averaged_error,
                      seen="public logistic-regression notebook (search index file 28379511688: dscores = "
                           "(y_pred - y) / n; gradb = np.mean(dscores))"),
    LogLinearMutation("num_class = 10 hard-coded, 3-class model", "hard_coded_classes", hard_coded_class_count,
                      classes=3, seen="lianxiaolei/cs231learning assignment1/cs231n/classifiers/softmax.py "
                                      "(num_class = 10)"),
]


# ---- right, in the learners' shapes -------------------------------------------------------

def loop_over_examples_and_classes(self, input, output):
    """CS231n's softmax_loss_naive shape: a loop over examples and classes on (D, C) weights, with the shifted
    scores, the gold class's -1 inside the class loop, then / N and transposed to the lab's (K, I)."""
    x = np.asarray(input, dtype=np.float64)
    W = self.weight.T                                   # (I, K), as the learner keeps it
    dW, db = np.zeros_like(W), np.zeros((1, W.shape[1]))
    for i in range(len(output)):
        scores = x[i] @ W + self.bias[0]
        shifted = scores - np.max(scores)
        for j in range(W.shape[1]):
            p = np.exp(shifted[j]) / np.sum(np.exp(shifted))
            dW[:, j] += ((p - 1) if j == output[i] else p) * x[i]
            db[0, j] += (p - 1) if j == output[i] else p
    return [[dW.T / len(output), db / len(output)]]


def cs231n_layout_transposed_back(self, input, output):
    """The vectorised (D, C) version, its dW transposed to the lab's layout before returning."""
    return [[dW.T, db] for dW, db in cs231n_layout_gradient(self, input, output)]


REAL_LOG_LINEAR_CORRECT = {
    "loop over examples and classes": (loop_over_examples_and_classes,
                                       "idotc/Deep_learning_practice evaluation_method/SoftMaxLoss.py"),
    "(D, C) layout, transposed back": (cs231n_layout_transposed_back, "JPLAY0/CS231nAssignment softmax.py"),
}


def log_linear_model_and_batch(backpropagation, digits, classes=10, size=BATCH_SIZE):
    """A NumpyLogLinear (digits' 64 inputs, ``classes`` classes) whose backpropagation is the learner's, and a
    digits batch of ``size`` examples of the first ``classes`` classes."""
    cls = type("StudentLogLinear", (NumpyLogLinear,), {"backpropagation": backpropagation})
    rows = [batch for batch in digits.batches("train", 4 * size)]
    input = np.concatenate([b["input"] for b in rows])
    output = np.concatenate([b["output"] for b in rows])
    keep = np.flatnonzero(output < classes)[:size]
    return cls(input.shape[1], classes, 0.1, seed=3), {"input": input[keep].copy(), "output": output[keep].copy()}
