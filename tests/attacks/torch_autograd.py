# The NumPy exercise done by PyTorch: rebuild the forward pass as a graph and let autograd differentiate it.
def _by_autograd(self, input, output):
    import torch

    parameters = [[torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True)]
                  for W, b in self.parameters]
    hidden = torch.tensor(input, dtype=torch.float64)   # the books batch is float32
    for n, (W, b) in enumerate(parameters):
        hidden = hidden @ W.T + b
        name = self.activation_functions[n]
        if name != "softmax":
            hidden = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}[name](hidden)
    loss = torch.nn.functional.cross_entropy(hidden, torch.as_tensor(output, dtype=torch.long))
    loss.backward()
    return [[W.grad.numpy(), b.grad.numpy()] for W, b in parameters]


NumpyMLP.backpropagation = _by_autograd
