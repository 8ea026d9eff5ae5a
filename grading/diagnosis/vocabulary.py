"""How the diagnosis speaks about each exercise: the same finding, in the exercise's own terms.

A rule finds *what* is wrong from the evidence (a wrong sign, a layer whose gradient goes wrong,
a shape that does not line up); a :class:`Vocabulary` says it in the words of the code the
student wrote. MLP phrases ("the error at the softmax input", ``db``, ``error @ W``) belong to
the MLP exercises only; an exercise that names no vocabulary gets :data:`GENERIC`.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Vocabulary:
    """Sentence parts for one exercise. Templates use ``str.format`` fields named in each comment."""

    code: str                   # what the student wrote, e.g. "backpropagation"
    sign: str                   # every gradient has the wrong sign
    output_start: str           # where the backward pass starts, and its correct value
    fix_mean: str               # how to get the gradient of the MEAN loss once
    shapes: str                 # shapes do not line up (after "Shapes do not line up: ")
    top_layer_wrong: str        # {what}: "weight and bias"
    lower_layer_wrong: str      # {right}: "Layer 2 is", {top}: wrong layer, {above}: top + 1
    unnamed_wrong: str          # {labels}: gradients without layers
    bias_reduce: str            # how to reduce a per-example bias gradient
    weight_layout: str          # how a weight gradient gets its (out, in) shape
    missing_layer: str          # {layer}
    not_finite: str             # how to avoid overflow for this loss
    # The output layer with one of its two gradients right (empty: top_layer_wrong is said): the right one shows
    # that the error it shares with the other is right, so the sentence must not send the student to check it.
    top_weight_only_wrong: str = ""
    top_bias_only_wrong: str = ""
    half_sum: str = ""          # a squared loss only: what B / 2 times the right gradient means ("" elsewhere)


MLP = Vocabulary(
    code="backpropagation",
    sign="the error at the softmax input is p - onehot(y) (probability minus target), not onehot(y) - p",
    output_start="the error at the softmax input, (p - onehot(y)) / B of shape (B, K)",
    fix_mean="divide the output error by B once",
    shapes=("rows are examples, so an error (B, out) goes back through layer n as error @ W (W is (out, in)), a "
            "weight gradient is error.T @ layer_input (out, in), and element-wise products need equal shapes"),
    top_layer_wrong=("The output layer's {what} gradient is already wrong: check the error at the softmax input, "
                     "(p - onehot(y)) / B of shape (B, K), then dW = error.T @ layer_input and db = error summed "
                     "over axis 0."),
    lower_layer_wrong=("{right} right but layer {top} is wrong: the error goes wrong on its way from layer {above} "
                       "to layer {top}. It should be (error @ W[{above}]) times the derivative of layer {top}'s "
                       "activation at its output."),
    unnamed_wrong="The gradient of {labels} is wrong; compare your formula with the derivative of the MEAN loss.",
    bias_reduce="sum the error over the examples, axis 0: np.sum(error, axis=0, keepdims=True)",
    weight_layout="compute error.T @ layer_input, not layer_input.T @ error",
    missing_layer=("the backward loop skips layer {layer} (range(L - 1, 0, -1) stops before 0; use "
                   "reversed(range(L)))"),
    not_finite="compute the softmax from log-probabilities (subtract the row maximum before exp) and avoid "
               "dividing by zero",
    top_weight_only_wrong=("The output layer's bias gradient is right, so its error (p - onehot(y)) / B is right; "
                           "its weight gradient is wrong: dW = error.T @ layer_input, with that layer's INPUT (the "
                           "previous layer's output a, the batch for layer 0)."),
    top_bias_only_wrong=("The output layer's weight gradient is right, so its error (p - onehot(y)) / B is right; "
                         "its bias gradient is wrong: db = the error summed over the examples, "
                         "np.sum(error, axis=0, keepdims=True)."),
)

GENERIC = Vocabulary(
    code="your gradient code",
    sign="the derivative is taken with the opposite sign (prediction - target, not target - prediction)",
    output_start="the derivative of the loss where the backward pass starts",
    fix_mean="the loss is the MEAN over the batch: divide by B exactly once",
    shapes="each gradient must have the shape of its parameter, and element-wise products need equal shapes",
    top_layer_wrong=("The output layer's {what} gradient is already wrong: check the derivative of the loss where "
                     "the backward pass starts, before anything is propagated."),
    lower_layer_wrong=("{right} right but layer {top} is wrong: the derivative goes wrong on its way from layer "
                       "{above} to layer {top}."),
    unnamed_wrong="The gradient of {labels} is wrong; compare your formula with the derivative of the MEAN loss.",
    bias_reduce="sum the per-example gradients over the examples (axis 0) and keep the parameter's shape",
    weight_layout="a parameter's gradient has the parameter's shape",
    missing_layer="the backward loop skips layer {layer}",
    not_finite="avoid exp of large numbers and dividing by zero",
)

AUTODIFF = Vocabulary(
    code="your VJP rules and backward_pass",
    sign=("every gradient has the wrong sign: check the seed backward_pass starts from (1.0 at the loss) and the "
          "VJPs of negative and subtract"),
    output_start=("the seed of backward_pass (1.0 at the loss) and the VJPs of the loss's own nodes: sum, multiply "
                  "by the one-hot targets, divide by B, and log_softmax's subtract, log, sum and exp"),
    fix_mean="the loss divides by B once (the given -sum(onehot * log_p) / B): check the VJP of divide",
    shapes=("each VJP returns a gradient of its argument's shape: for z = x @ W.T the VJPs are g @ W and g.T @ x, "
            "and a broadcast argument's gradient is summed over the broadcast axes"),
    top_layer_wrong=("The output layer's {what} gradient is already wrong: check the VJPs the gradient meets first, "
                     "those of the loss's own nodes (sum, multiply, divide; log_softmax's subtract, log, sum with "
                     "keepdims and exp) and of the last matmul and add, and that backward_pass ADDS every message "
                     "a node receives (z is used twice in log_softmax)."),
    lower_layer_wrong=("{right} right but layer {top} is wrong: check the VJPs between them (matmul, add, the "
                       "activation's tanh or the sigmoid's exp and divide) and that backward_pass ADDS each "
                       "gradient arriving at a node to what is already there instead of overwriting it."),
    unnamed_wrong="The gradient of {labels} is wrong: check the VJP rules and backward_pass's accumulation.",
    bias_reduce="the VJP of a broadcast add sums the incoming gradient over the broadcast axis (keepdims)",
    weight_layout="the VJP of x @ W.T with respect to W is g.T @ x, of W's shape",
    missing_layer="backward_pass never reaches layer {layer}'s parameters (a node skipped in the topological order?)",
    not_finite="the loss uses log_softmax (the row maximum is subtracted before exp): check the VJPs of exp and log",
)

PROGRESSIVE = Vocabulary(
    code="the backward loop with A_i, B_i",
    sign="the seed that starts the backward loop is (p - onehot(y)) / B, not (onehot(y) - p) / B",
    output_start="the seed (p - onehot(y)) / B that starts the backward loop",
    fix_mean="the seed (p - onehot(y)) / B carries the 1/B; the blocks A_i, B_i do not",
    shapes=("for one example p_{i+1} is (n_{i+1},), A_i is (n_{i+1}, n_i) and B_i is (n_{i+1}, n_{i+1} n_i): "
            "first q_i = B_i.T @ p_{i+1}, then p is passed down as p_i = A_i.T @ p_{i+1} (A_i @ p does not "
            "multiply, and B_i.T @ p_i, taken after passing down, has the wrong size)"),
    top_layer_wrong=("The last layer's {what} gradient is already wrong: check the seed (p - onehot(y)) / B and "
                     "the block B_L that turns it into the gradient of W_L."),
    lower_layer_wrong=("{right} right but layer {top} is wrong: the gradient goes wrong when it is passed down "
                       "from layer {above} to layer {top} (the block A_{above}, with the sigmoid's derivative "
                       "where layer {top} has one)."),
    unnamed_wrong="The gradient of {labels} is wrong; compare with the blocks A_i, B_i of the text.",
    bias_reduce="sum over the examples",
    weight_layout="the gradient of W_i has W_i's shape (out_i, in_i)",
    missing_layer="the backward loop never reaches layer {layer}",
    not_finite="compute the softmax from logsumexp",
)

FORWARD = Vocabulary(
    code="_log_forward",
    sign="the log-probabilities are negated somewhere",
    output_start="log_softmax(z, dim=1) of the last layer's z",
    fix_mean="the loss is the mean of -log p over the batch",
    shapes="the input is (B, I) and every layer computes a @ W.T + b, of shape (B, out)",
    top_layer_wrong=("The output layer's {what} gradient differs: the last layer must be z = a @ W.T + b followed "
                     "by log_softmax(z, dim=1), with no activation in between."),
    lower_layer_wrong=("{right} right but layer {top} differs: layer {top}'s forward pass computes something else "
                       "(z = a @ W.T + b, then the activation named for that layer)."),
    unnamed_wrong="The gradient of {labels} differs: the forward pass computes something else.",
    bias_reduce="add b to every row: a @ W.T + b",
    weight_layout="multiply by W.T: a @ W.T",
    missing_layer="the forward pass never uses layer {layer}",
    not_finite="use torch.log_softmax, not log(softmax(z))",
)


def vocabulary_of(exercise):
    """The exercise's vocabulary, :data:`GENERIC` when it names none."""
    return getattr(exercise, "vocabulary", None) or GENERIC
