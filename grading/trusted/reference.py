"""Reference answers, computed in the trusted process with the grader library.

The loss is rebuilt from the case's parameters by the exercise's ``reference_loss``
(PyTorch autograd, float64), never from anything the student's code produced.
"""
from types import SimpleNamespace

from grading.exercises import get_exercise, layer_pair_specs
from grading.reference import ReferenceLoss


def reference_gradients(exercise_name, case):
    """``(loss, {'dW0': array, 'db0': array, ...})`` of the mean cross-entropy for ``case``."""
    parameters = case.parameters()
    configuration = SimpleNamespace(activation_functions=list(case.activations), parameters=parameters)
    specs = layer_pair_specs(configuration)
    loss = ReferenceLoss(get_exercise(exercise_name), configuration, parameters, specs, case.batch())
    result = loss.gradient([parameters[spec.path[0]][spec.path[1]] for spec in specs])
    names = {(spec.layer, spec.role): gradient for spec, gradient in zip(specs, result.gradients)}
    return result.loss, {f"{'dW' if role == 'weight' else 'db'}{layer}": gradient
                         for (layer, role), gradient in names.items()}
