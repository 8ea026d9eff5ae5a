"""Loss along one parameter: the data behind the lab's tangent plots.

A parameter is addressed by ``layer_index`` (0 is the first layer), ``is_bias`` and the
coordinates ``row`` (output unit) and ``column`` (input unit, weights only):
``W[row, column]`` or ``b[0, row]``. The same addresses index a gradient list returned
by ``backpropagation``, so ``get_parameter(gradients)`` reads the matching derivative.
"""
import numpy as np

LOSS_RANGE_POINTS = 21  # points of get_mlp_loss_range's curve by default


def get_mlp_parameter_handlers(layer_index, is_bias, row, column=0):
    """Functions ``get_parameter(parameters)`` and ``set_parameter(parameters, value)``.

    ``parameters`` is a list ``[[W, b], ...]`` (model parameters or gradients) of NumPy
    arrays or torch tensors; ``set_parameter`` writes in place.
    """
    position = (0, row) if is_bias else (row, column)
    which = 1 if is_bias else 0

    def get_parameter(parameters):
        value = parameters[layer_index][which][position]
        return float(value.detach() if hasattr(value, "detach") else value)

    def set_parameter(parameters, value):
        target = parameters[layer_index][which]
        if hasattr(target, "detach"):  # a torch tensor that may require grad
            target = target.detach()
        target[position] = value

    return get_parameter, set_parameter


def get_mlp_loss_range(model, get_parameter, set_parameter, batch, relative_span=0.5,
                       minimum_span=0.1, num_points=LOSS_RANGE_POINTS):
    """Loss of ``model`` on ``batch`` as one parameter moves around its current value.

    The points span ``current +- max(relative_span * |current|, minimum_span)`` so the
    window scales with the weight; ``num_points`` is made odd so that the current value
    is exactly the middle point. The model's parameters are restored afterwards, even if
    the loss raises. Returns ``(weight_range, loss_range)``, each of shape ``(num_points,)``.
    """
    current = get_parameter(model.parameters)
    half_width = max(relative_span * abs(current), minimum_span)
    half_points = num_points // 2
    # current + 0.0 is exactly current: the middle point is the current weight.
    weight_range = current + half_width * np.linspace(-1.0, 1.0, 2 * half_points + 1)
    loss_range = np.empty_like(weight_range)
    try:
        for i, value in enumerate(weight_range):
            set_parameter(model.parameters, value)
            loss_range[i] = model.cross_entropy_loss(batch["input"], batch["output"])
    finally:
        set_parameter(model.parameters, current)
    return weight_range, loss_range
