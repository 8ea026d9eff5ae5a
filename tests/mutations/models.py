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


def model_and_batch(kind, backpropagation, digits):
    """``(model, batch)`` for a mutation's model kind, with a fresh copy of the batch."""
    if kind == "square":
        return square_model(backpropagation), square_batch()
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
