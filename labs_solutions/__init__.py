"""The backprop labs: the models of the exercises, one module per exercise.

``labs_solutions/`` holds them solved; the student package ``labs/`` is generated from it
by ``backprop-labs generate``, where each solution becomes a stub raising
``NotImplementedError`` with the exercise's name.
"""
from .log_linear import NumpyLogLinear, PytorchLogLinear
from .numpy_mlp import NumpyMLP
from .pytorch_mlp import PytorchMLP

__all__ = ["NumpyLogLinear", "PytorchLogLinear", "NumpyMLP", "PytorchMLP"]
