"""Small models and batches the grader tests run student code on."""
import numpy as np

from labs_solutions import NumpyMLP

LAB_GEOMETRY = [64, 10, 10, 10]           # digits in, two square hidden layers: W vs W.T computes
LAB_ACTIVATIONS = ["sigmoid", "tanh", "softmax"]
BATCH_SIZE = 20


def student_class(backpropagation, base=NumpyMLP):
    """A NumpyMLP whose backpropagation is the given (student) function."""
    return type("StudentMLP", (base,), {"backpropagation": backpropagation})


def lab_model(backpropagation=None, seed=3):
    cls = NumpyMLP if backpropagation is None else student_class(backpropagation)
    return cls(LAB_GEOMETRY, LAB_ACTIVATIONS, 0.1, seed=seed)


def square_model(backpropagation=None, seed=3):
    cls = NumpyMLP if backpropagation is None else student_class(backpropagation)
    return cls([10, 10, 10, 10], LAB_ACTIVATIONS, 0.1, seed=seed)


def digits_batch(digits, size=BATCH_SIZE):
    batch = digits.batches("train", size)[0]
    return {"input": batch["input"].copy(), "output": batch["output"].copy()}


def square_batch(size=BATCH_SIZE, seed=1):
    rng = np.random.default_rng(seed)
    return {"input": rng.normal(size=(size, 10)).astype(np.float32), "output": rng.integers(0, 10, size)}


def relu_model(backpropagation=None, seed=3):
    cls = NumpyMLP if backpropagation is None else student_class(backpropagation)
    return cls(LAB_GEOMETRY, ["relu", "relu", "softmax"], 0.1, seed=seed)


def batch_without_top_class(digits, size=BATCH_SIZE):
    """A digits batch in which the last class (9) does not occur: code that sizes the one-hot from the
    batch's labels (y.max() + 1) only shows its mistake on such a batch."""
    top = digits.num_classes - 1
    batch = next(b for b in digits.batches("train", size) if top not in b["output"])
    return {"input": batch["input"].copy(), "output": batch["output"].copy()}


def model_and_batch(kind, backpropagation, digits):
    """``(model, batch)`` for a mutation's model kind, with a fresh copy of the batch.

    Kinds: "lab" [64, 10, 10, 10] sigmoid/tanh on a digits batch; "square" [10, 10, 10, 10] on random
    inputs; "relu" the lab geometry with ReLU hidden layers; "no_top_class" the lab model on a digits
    batch that lacks class 9."""
    if kind == "square":
        return square_model(backpropagation), square_batch()
    if kind == "relu":
        return relu_model(backpropagation), digits_batch(digits)
    if kind == "no_top_class":
        return lab_model(backpropagation), batch_without_top_class(digits)
    return lab_model(backpropagation), digits_batch(digits)


def relu_model_with_zeros(backpropagation=None, digits=None):
    """A relu MLP and a batch in which some hidden pre-activations are exactly 0.

    Rows of zeros meet zero biases: every first-layer pre-activation of those examples is 0.
    """
    cls = NumpyMLP if backpropagation is None else student_class(backpropagation)
    model = cls([64, 12, 10], ["relu", "softmax"], 0.1, seed=5)
    batch = digits_batch(digits)
    batch["input"][:3] = 0.0
    return model, batch


def solution_gradients(model, input, output):
    from labs_solutions import NumpyMLP

    return NumpyMLP.backpropagation(model, input, output)


def returning(transform):
    """A student backpropagation that returns ``transform(correct gradients)``."""
    def backpropagation(self, input, output):
        return transform(solution_gradients(self, input, output))
    return backpropagation
