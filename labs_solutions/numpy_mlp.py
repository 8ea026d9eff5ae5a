"""Exercise 2.2: backpropagation for a multi-layer perceptron in NumPy.

The network has layers ``n = 0 .. N-1``. Layer ``n`` has a weight ``W`` of shape
``(out, in)`` and a bias ``b`` of shape ``(1, out)``, computes ``z = a @ W.T + b`` from
its input ``a`` (the batch for layer 0, the previous activation afterwards) and then
applies its activation: sigmoid, tanh or relu for hidden layers, softmax for the last.
The loss is the MEAN cross-entropy over the batch, and so are all gradients.
"""
import numpy as np

from backprop_labs.activations import HIDDEN_ACTIVATIONS, check_activation_functions
from backprop_labs.utils import Model, glorot_weight_init, index2onehot, logsumexp


class NumpyMLP(Model):
    """Feed-forward network trained by SGD with hand-written backpropagation.

    ``geometry = [in, h1, ..., K]`` gives the layer sizes and ``activation_functions``
    one name per layer, e.g. ``['sigmoid', 'softmax']``. ``self.parameters`` is the list
    ``[[W, b], ...]`` in layer order. ``dtype`` is the parameters' type: float64 by default
    (gradients then match a float64 reference to about 1e-12); float32 moves half the bytes
    and trains about twice as fast, with about 1e-7 relative precision.
    """

    def __init__(self, geometry, activation_functions, learning_rate, seed=0, dtype=np.float64):
        self.geometry, self.activation_functions = check_activation_functions(
            geometry, activation_functions
        )
        self.learning_rate = learning_rate
        rng = np.random.default_rng(seed)
        self.parameters = [
            [glorot_weight_init((size_out, size_in), activation, rng).astype(dtype), np.zeros((1, size_out), dtype)]
            for size_in, size_out, activation in zip(geometry[:-1], geometry[1:], activation_functions)
        ]

    @property
    def num_layers(self):
        return len(self.parameters)

    def forward_keeping_activations(self, input):
        """Forward pass that keeps what backpropagation needs.

        Returns ``(log_probabilities, layer_inputs)``: log-probabilities of shape
        ``(B, K)`` and, for each layer ``n``, the input it received, ``(B, geometry[n])``
        (``layer_inputs[0]`` is ``input`` in the parameters' dtype, later ones are hidden
        activations).
        """
        layer_inputs = []
        # Convert the batch once: a float32 batch times float64 weights would otherwise be
        # converted again in every product that uses it, here and in backpropagation.
        activation = np.asarray(input, dtype=self.parameters[0][0].dtype)
        for n, (weight, bias) in enumerate(self.parameters):
            layer_inputs.append(activation)
            z = activation @ weight.T + bias
            if n < self.num_layers - 1:
                activation = HIDDEN_ACTIVATIONS[self.activation_functions[n]](z)
        # Softmax in the log domain, stable for any scale of z.
        log_probabilities = z - logsumexp(z, axis=1, keepdims=True)
        return log_probabilities, layer_inputs

    def log_forward(self, input):
        """Log-probabilities ``(B, K)`` of a batch ``input`` of shape ``(B, I)``."""
        return self.forward_keeping_activations(input)[0]

    def backpropagation(self, input, output):
        """Gradients of the mean cross-entropy with respect to every parameter.

        ``input`` is ``(B, I)`` and ``output`` holds ``B`` class indices. Returns
        ``[[dW, db], ...]`` in layer order, each with its parameter's shape:
        ``dW`` is ``(out, in)`` and ``db`` is ``(1, out)``.

        The recursion, from the last layer back to the first:
        1. the error at the softmax input is ``(p - onehot(y)) / B``;
        2. a layer's gradients are ``error.T @ layer_input`` and the error summed over the batch;
        3. the error reaches the previous layer's pre-activation through ``W`` (not ``W.T``:
           rows are examples here) and the derivative of that layer's activation.
        """
        log_probabilities, layer_inputs = self.forward_keeping_activations(input)
        gradients = [None] * self.num_layers  # gradients[n] = [dW, db] of layer n
        ### BEGIN SOLUTION (Exercise 2.2: implement backpropagation)
        batch_size, num_classes = log_probabilities.shape
        onehot = index2onehot(output, num_classes, dtype=log_probabilities.dtype)
        error = (np.exp(log_probabilities) - onehot) / batch_size

        # Derivative of each hidden activation written in terms of its OUTPUT a = f(z),
        # which the forward pass kept.
        derivative_from_output = {
            "sigmoid": lambda a: a * (1.0 - a),
            "tanh": lambda a: 1.0 - a ** 2,
            "relu": lambda a: (a > 0).astype(a.dtype),
        }
        for n in reversed(range(self.num_layers)):
            weight = self.parameters[n][0]
            gradients[n] = [error.T @ layer_inputs[n], np.sum(error, axis=0, keepdims=True)]
            if n > 0:
                derivative = derivative_from_output[self.activation_functions[n - 1]]
                error = (error @ weight) * derivative(layer_inputs[n])
        ### END SOLUTION
        return gradients

    def update(self, input, output):
        """One SGD step with the gradients from :meth:`backpropagation`."""
        gradients = self.backpropagation(input, output)
        for parameter_pair, gradient_pair in zip(self.parameters, gradients):
            for parameter, gradient in zip(parameter_pair, gradient_pair):
                # In place, so that code holding self.parameters sees the new values.
                parameter -= self.learning_rate * gradient

