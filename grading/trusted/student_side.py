"""The only grader code that runs inside the sandbox, beside the student's code.

Run as ``python -I .grader/student_side.py`` from the copied submission (forked from the warm
zygote, :mod:`grading.trusted.sandbox.zygote`, which runs it the same way), it reads the
run token (nonce) from stdin, the task from ``.grader/task.json`` (one entry per check)
and the inputs from ``.grader/inputs.npz``. For each check in turn it imports the check's
module, executes the check's answer cells (if any) in a fresh namespace, and calls the
student's code once per case through a *probe* (a table entry saying how to call one
exercise). It writes plain data: ``out/result-<check>.npz`` (float arrays, no pickle) once
a check is done, then ``out/status.json`` again (the token and, per finished check, per
case "ok" or the error message), so a process that dies later keeps the checks already done.

All checks of one submission share this process (one start per student instead of one per
check): the student's code of one check can change what a later check of the *same*
submission sees. That is acceptable: nothing here is trusted anyway. The student's code
shares this process and may change any of it; the grading process validates the files and
compares the arrays with its own reference. This side exists to produce helpful messages for
honest mistakes.
"""
import json
import os
import sys

import numpy as np

MAX_MESSAGE = 600


class ProbeError(Exception):
    """The student's code returned something of the wrong type or shape."""


# Grader modules written beside this file in the sandbox: file name -> the module it is a copy of.
SHIPPED = {"policy_arrays.py": "grading.policy.arrays", "policy_errors.py": "grading.policy.errors",
           "autodiff_localise.py": "grading.exercises.autodiff_localise"}
RELEASED_DIR = "released"   # beside this file: the lab modules that hold exercises, as released to students


def _shipped(file):
    """A grader module: the copy shipped beside this file in the sandbox (loaded by its path, so no module
    of the submission can stand in for it), else the package's (in the grader)."""
    import importlib
    import importlib.util

    shipped = os.path.join(os.path.dirname(os.path.abspath(__file__)), file)
    if not os.path.exists(shipped):
        return importlib.import_module(SHIPPED[file])
    spec = importlib.util.spec_from_file_location(f"_grader_{file[:-3]}", shipped)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


policy, policy_errors = _shipped("policy_arrays.py"), _shipped("policy_errors.py")


def as_float_array(value, what, shape):
    """``value`` as a float64 array of ``shape`` (whatever the notebooks' ``assert_close`` reads as one:
    arrays, ``np.matrix``, tensors, numbers, lists), or a ``ProbeError`` saying what is wrong."""
    array, _ = policy.plain_array(value)
    if array is None or (not shape and array.ndim == 0 and isinstance(value, (list, tuple))):
        raise ProbeError(f"{what} is a {type(value).__name__}, expected a NumPy array of shape {tuple(shape)}")
    if array.dtype.kind not in "fiub":
        raise ProbeError(f"{what} has dtype {array.dtype}, expected floating point numbers")
    if tuple(array.shape) != tuple(shape):
        raise ProbeError(f"{what} has shape {tuple(array.shape)}, expected {tuple(shape)}")
    return np.array(array, dtype=np.float64)


MAX_DEPTH = 8          # nesting of lists, tuples and dicts kept as they are
MAX_ENTRIES = 256      # longer lists are sent as arrays (a long Python list of numbers is one gradient)


class Returned:
    """What a gradient function returned, as plain data for the grader's judgement: ``skeleton`` (JSON:
    the lists, tuples, dicts and numbers as they are, each array-like leaf as ``{"array": name, "kind"}``,
    anything else as ``{"object": its type name}``, a container met again as ``{"ref": its number}``) and ``arrays`` (the leaves, each in its own dtype and
    shape). The grader rebuilds the value and judges it as ``check_backpropagation`` judges the real one."""

    def __init__(self, value):
        self.arrays = {}
        self._containers = {}   # id of each list, tuple and dict met, in order: a second meeting is a {"ref": n}
        self.skeleton = self._encode(value, 0)

    def _encode(self, value, depth):
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, (int, float)):
            return {"number": float(value)}
        if id(value) in self._containers:   # the same object twice ([[None, None]] * L shares one pair)
            return {"ref": self._containers[id(value)]}
        if isinstance(value, dict) and depth < MAX_DEPTH and len(value) <= MAX_ENTRIES and all(
                isinstance(key, (str, int)) and not isinstance(key, bool) for key in value):
            self._containers[id(value)] = len(self._containers)
            return {"dict": [[key, self._encode(item, depth + 1)] for key, item in value.items()]}
        if isinstance(value, (list, tuple)) and depth < MAX_DEPTH and len(value) <= MAX_ENTRIES:
            self._containers[id(value)] = len(self._containers)
            kind = "tuple" if isinstance(value, tuple) else "list"
            return {kind: [self._encode(item, depth + 1) for item in value]}
        array, how = policy.plain_array(value)
        if array is None or array.dtype.kind not in "fiub":
            return {"object": type(value).__name__[:80]}
        name = f"r{len(self.arrays)}"
        self.arrays[name] = np.array(array)
        kind = ("tensor" if policy.is_tensor(value) else "matrix" if how == "np.matrix"
                else "list" if how else "scalar" if isinstance(value, np.generic) else "array")
        return {"array": name, "kind": kind}


def _read(structure, path):
    for step in path:
        structure = structure[step]
    return structure


def _copy_of(value):
    return value.detach().clone() if policy.is_tensor(value) else np.array(value, copy=True)


def _write(target, value):
    """Write ``value`` into the parameter ``target`` in place (NumPy array or tensor)."""
    if policy.is_tensor(target):
        import torch

        with torch.no_grad():
            target.copy_(torch.as_tensor(np.asarray(value), dtype=target.dtype))
    else:
        target[...] = value


def _same(a, b):
    a, b = policy.plain_array(a)[0], policy.plain_array(b)[0]
    return a is not None and b is not None and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


class Session:
    """Every call the grader's ``check_backpropagation`` may make, made on one model in its order, so that
    the grader can judge the submission with that very function (``grading.trusted.replay``):

    ``first`` the batch (what the call changed in the parameters or the batch is recorded, then undone);
    ``rounded`` the parameters and the batch rounded to float32 (the precision evidence); ``shift-<s>`` the
    output bias moved by ``s`` (a softmax does not change); ``repeat`` the batch again; ``rows-<i>-<j>`` the
    examples of the mean-of-examples check together and alone; ``loss`` the model's own loss on the first rows.
    Each call's return value is sent as a :class:`Returned`, or the exception it raised as its fields."""

    def __init__(self, model, method, case, inputs):
        key = case["key"]
        self.model, self.method, self.spec = model, method, case["session"]
        self.batch = {"input": inputs[f"{key}.input"], "output": inputs[f"{key}.output"]}
        self.arrays, self.calls, self.modified = {}, {}, {}
        self.out_of_memory, self.localised = False, None

    def _parameters(self):
        return [_read(self.model.parameters, path) for path in self.spec["paths"]]

    def _record(self, name, function, *arguments):
        if self.out_of_memory:
            return   # the next calls would only exhaust the memory (and CPU) limits again
        try:
            returned = Returned(function(*arguments))
        except BaseException as error:  # noqa: BLE001 - a failing call is a result too (SystemExit included)
            self.calls[name] = {"raised": raised(error)}
            self.out_of_memory = isinstance(error, MemoryError)
            return
        self.arrays.update({f"{name}.{array}": value for array, value in returned.arrays.items()})
        self.calls[name] = {"returned": returned.skeleton}

    def _call(self, name, batch):
        """A later call; whatever it changes in the parameters is undone after it, as the judge undoes it."""
        self._with_parameters(name, lambda parameters: None, batch)

    def _first(self):
        """The first call, on the batch's own arrays; what it changed (values written, entries replaced) is
        kept as ``after.*`` arrays and undone."""
        paths = self.spec["paths"]
        parameters = self._parameters()
        saved = [_copy_of(parameter) for parameter in parameters]
        batch = {name: array.copy() for name, array in self.batch.items()}
        self._record("first", getattr(self.model, self.method), batch["input"], batch["output"])
        for index, (original, before) in enumerate(zip(parameters, saved)):
            current = _read(self.model.parameters, paths[index])
            if current is original and _same(current, before):
                continue
            after = policy.plain_array(current)[0]
            if after is not None and after.dtype.kind in "fiub":
                self.arrays[f"after.parameter{index}"] = np.array(after)
            self.modified.setdefault("parameters", []).append(index)
        self._restore(parameters, saved)
        for name, array in batch.items():
            if not _same(array, self.batch[name]):
                self.arrays[f"after.{name}"] = np.array(array)
                self.modified.setdefault("batch", []).append(name)

    def _with_parameters(self, name, change, batch):
        parameters = self._parameters()
        saved = [_copy_of(parameter) for parameter in parameters]
        try:
            change(parameters)
            self._record(name, getattr(self.model, self.method), batch["input"].copy(), batch["output"].copy())
        finally:
            self._restore(parameters, saved)

    def _restore(self, parameters, saved):
        """The model's parameters back as they were: the same objects (an entry the call replaced is put
        back), with their ``saved`` values."""
        for path, parameter, value in zip(self.spec["paths"], parameters, saved):
            _write(parameter, value)
            if _read(self.model.parameters, path) is not parameter:
                _set_path(self.model.parameters, path, parameter)

    def run(self):
        self._first()
        rounded = {name: policy.rounded_to_float32(array) for name, array in self.batch.items()}
        self._with_parameters("rounded", lambda parameters: [
            _write(parameter, policy.rounded_to_float32(policy.to_float64(parameter))) for parameter in parameters],
            rounded)
        bias = self.spec.get("output_bias")
        for shift in self.spec.get("shifts", ()):
            self._with_parameters(f"shift-{shift:g}", lambda parameters, shift=shift: _write(
                parameters[bias], policy.to_float64(parameters[bias]) + shift), self.batch)
        self._call("repeat", self.batch)
        rows = self.spec.get("examples", [])
        for chosen in [rows] + [[row] for row in rows]:
            self._call("rows-" + "-".join(map(str, chosen)),
                       {name: array[chosen] for name, array in self.batch.items()})
        if self.spec.get("localise"):   # the exercise's part-by-part probe of the student's package
            package = sys.modules.get(type(self.model).__module__.rsplit(".", 1)[0])
            try:
                self.localised = _shipped(f"{self.spec['localise']}.py").record(package)   # judged outside
            except BaseException:  # noqa: BLE001 - the probe is advice: nothing is lost without it
                self.localised = None
        loss = getattr(self.model, "cross_entropy_loss", None) or getattr(self.model, "loss", None)
        if loss is not None:
            count = self.spec["loss_rows"]
            self._record("loss", loss, self.batch["input"][:count].copy(), self.batch["output"][:count].copy())
        return self


def _set_path(structure, path, value):
    _read(structure, path[:-1])[path[-1]] = value


def _parameters(inputs, key, num_layers):
    return [[inputs[f"{key}.W{n}"].copy(), inputs[f"{key}.b{n}"].copy()] for n in range(num_layers)]


def probe_numpy_mlp_backpropagation(model_class, case, inputs):
    """Exercise 2.2: ``NumpyMLP.backpropagation`` on given parameters and batch."""
    key, num_layers = case["key"], len(case["geometry"]) - 1
    model = model_class(case["geometry"], case["activations"], learning_rate=case["learning_rate"], seed=0)
    parameters = _parameters(inputs, key, num_layers)
    model.parameters = parameters
    return Session(model, "backpropagation", case, inputs).run()


def probe_pytorch_mlp_log_forward(model_class, case, inputs):
    """Exercise 2.4: ``PytorchMLP._log_forward`` in float64, and autograd through it."""
    import torch

    key, num_layers = case["key"], len(case["geometry"]) - 1
    model = model_class(case["geometry"], case["activations"], learning_rate=0.0, seed=0,
                        dtype=torch.float64)
    model.parameters = [[torch.tensor(array, requires_grad=True) for array in pair]
                        for pair in _parameters(inputs, key, num_layers)]
    flat = [parameter for pair in model.parameters for parameter in pair]
    batch, gold = inputs[f"{key}.input"], inputs[f"{key}.output"]
    log_probabilities = model._log_forward(batch.copy())
    arrays = {"log_probabilities": as_float_array(
        log_probabilities, "_log_forward output", (len(batch), case["geometry"][-1]))}
    if not isinstance(log_probabilities, torch.Tensor) or not log_probabilities.requires_grad:
        raise ProbeError("_log_forward must return a tensor computed from self.parameters "
                         "(autograd cannot reach the parameters from what it returned)")
    loss = torch.nn.functional.nll_loss(log_probabilities, torch.as_tensor(gold, dtype=torch.long))
    gradients = torch.autograd.grad(loss, flat, allow_unused=True)
    for n in range(num_layers):
        for name, gradient, parameter in (("dW", gradients[2 * n], flat[2 * n]),
                                          ("db", gradients[2 * n + 1], flat[2 * n + 1])):
            if gradient is None:
                raise ProbeError(f"layer {n} {name[1]} does not influence _log_forward's output")
            arrays[f"{name}{n}"] = as_float_array(gradient, f"layer {n} {name} from autograd",
                                                  tuple(parameter.shape))
    return arrays


def probe_cell_function(function, case, inputs):
    """A function defined in an answer cell, called on named input arrays; one array back."""
    key = case["key"]
    value = function(*(inputs[f"{key}.{name}"].copy() for name in case["arguments"]))
    return {"value": as_float_array(value, f"{case['function']}(...)", case["shape"])}


def probe_loss_and_tangent(function, case, inputs):
    """The tangent-plot answer cell on the student's model (``case['model']``: module and class, e.g. the
    lab's ``NumpyMLP``) holding the case's parameters, with stand-in gradients:
    ``function(model, batch, gradients, layer_index, is_bias, row, column)`` must return three arrays of
    ``points`` values."""
    import importlib

    module_name, class_name = case["model"]
    key, num_layers = case["key"], len(case["geometry"]) - 1
    model_class = getattr(importlib.import_module(module_name), class_name)
    model = model_class(case["geometry"], case["activations"], learning_rate=0.0, seed=0)
    model.parameters = _parameters(inputs, key, num_layers)
    batch = {"input": inputs[f"{key}.input"].copy(), "output": inputs[f"{key}.output"].copy()}
    found = function(model, batch, _parameters(inputs, f"{key}.gradient", num_layers), case["layer_index"],
                     case["is_bias"], case["row"], case["column"])
    names = ("weight_range", "loss_range", "tangent")
    if not isinstance(found, (tuple, list)) or len(found) != len(names):
        raise ProbeError(f"{case['function']} must return three arrays ({', '.join(names)}), "
                         f"got {type(found).__name__}")
    return {name: as_float_array(value, f"{case['function']}(...) {name}", (case["points"],))
            for name, value in zip(names, found)}


def _number_or_array(array):
    """A 0-d input as a Python float (as the notebooks pass numbers), any other array as it is."""
    return array.item() if array.ndim == 0 else array


def probe_model_session(model_class, case, inputs):
    """A gradient exercise's model, built as ``case['model']`` says (``arguments`` and ``keywords`` of its
    constructor; ``parameters``: the names of the case's arrays nested as ``model.parameters``, ``[[W0, b0],
    ...]``; ``torch``: set them as float64 tensors that require grad), then every call of the judge (Session)
    of its ``backpropagation``."""
    spec, key = case["model"], case["key"]
    model = model_class(*spec["arguments"], **spec["keywords"])

    def parameter(name):
        array = inputs[f"{key}.{name}"].copy()
        if not spec["torch"]:
            return array
        import torch

        return torch.tensor(array, requires_grad=True)

    model.parameters = [[parameter(name) for name in layer] for layer in spec["parameters"]]
    return Session(model, "backpropagation", case, inputs).run()


class FunctionModel:
    """A lab's gradient FUNCTION behind the grader's model interface (an exercise that is a function, not a
    model, judged by the same ``check_backpropagation``): ``names`` says which functions of the module ``lab``
    (``gradient``, ``loss``, ``design``) and which ``parameter``; ``parameters == {parameter: initial}``;
    ``backpropagation(input, output)`` returns ``{parameter: gradient(design(input), parameters[parameter],
    output)}`` and ``loss(input, output)`` is ``loss`` of the same arguments (``output`` as float64)."""

    def __init__(self, lab, names, initial):
        self.lab, self.names = lab, dict(names)
        self.parameters = {self.names["parameter"]: initial}

    def _arguments(self, input, output):
        design = getattr(self.lab, self.names["design"])(input)
        return design, self.parameters[self.names["parameter"]], np.asarray(output, dtype=np.float64)

    def loss(self, input, output):
        return getattr(self.lab, self.names["loss"])(*self._arguments(input, output))

    def backpropagation(self, input, output):
        gradient = getattr(self.lab, self.names["gradient"])(*self._arguments(input, output))
        return {self.names["parameter"]: gradient}


def probe_function_model_session(module, case, inputs):
    """A gradient function of the student's module as a :class:`FunctionModel` (``case['function_model']``:
    its ``names``; the parameter starts at the case's array of that name), then every call of the judge."""
    names, key = case["function_model"], case["key"]
    model = FunctionModel(module, names, inputs[f"{key}.{names['parameter']}"].copy())
    return Session(model, "backpropagation", case, inputs).run()


def _lab_data(spec, key, inputs):
    """A ``LabData`` (the labs' data set class) of the case's ``<split>.input`` and ``<split>.output``."""
    from backprop_labs.datasets import LabData

    return LabData({split: (inputs[f"{key}.{split}.input"].copy(), inputs[f"{key}.{split}.output"].copy())
                    for split in spec["splits"]}, num_classes=spec["num_classes"])


def probe_function_calls(module, case, inputs):
    """Functions of the student's module called in turn (see ``grading.trusted.cases.Call``); the
    values each call gives back, picked out of what it returned, are the result."""
    key, kept, arrays = case["key"], {}, {}
    for call in case["calls"]:
        def argument(value):
            if isinstance(value, str) and value.startswith("@"):
                name = value[1:]
                if name in kept:
                    return kept[name]
                array = _number_or_array(inputs[f"{key}.{name}"].copy())
                if call["torch"] and isinstance(array, np.ndarray):
                    import torch

                    return torch.tensor(array, dtype=torch.float64)
                return array
            if isinstance(value, dict) and "lab_data" in value:
                return _lab_data(value["lab_data"], key, inputs)
            if isinstance(value, list):
                return [argument(item) for item in value]
            return value

        function = getattr(module, call["function"])
        returned = function(*map(argument, call["arguments"]),
                            **{name: argument(value) for name, value in call["keywords"].items()})
        for value in call["returns"]:
            picked = returned
            for step in value["path"]:
                picked = picked[step]
            if value["shape"] is None:
                kept[value["name"]] = picked
                continue
            what = call["function"] + "(...)" + "".join(f"[{step!r}]" for step in value["path"])
            kept[value["name"]] = arrays[value["name"]] = as_float_array(picked, what, value["shape"])
    return arrays


def probe_counted_gradient(module, case, inputs):
    """Exercises F.1-F.2: a mode's gradient of a chain, its products counted by the module's
    ``OperationCounter``: the gradient ``(d,)`` and the count."""
    key = case["key"]
    jacobians = [inputs[f"{key}.J{n}"].copy() for n in range(case["num_jacobians"])]
    counter = module.OperationCounter()
    gradient = getattr(module, case["function"])(jacobians, inputs[f"{key}.loss_row"].copy(), counter)
    return {"gradient": as_float_array(gradient, f"{case['function']}(...)", (jacobians[0].shape[1],)),
            "operations": as_float_array(counter.operations, "the counted operations", ())}


def probe_progressive_backpropagation(network_class, case, inputs):
    """Exercise F.3: ``ProgressiveNetwork.backpropagation`` on given weights and batch."""
    key, geometry = case["key"], case["geometry"]
    weights = [inputs[f"{key}.W{n}"].copy() for n in range(len(geometry) - 1)]
    network = network_class(geometry, case["layer_kinds"], case["learning_rate"], seed=0)
    network.parameters = [[weight.copy()] for weight in weights]
    return Session(network, "backpropagation", case, inputs).run()


def probe_autodiff_vjps(package, case, inputs):
    """Exercises A.1-A.5: ``parent_gradients`` of one traced primitive call per entry, for a given
    upstream gradient ``g``: one VJP per argument, shaped like it."""
    key, arrays = case["key"], {}
    for n, call in enumerate(case["calls"]):
        values = [_number_or_array(inputs[f"{key}.c{n}.x{i}"].copy()) for i in range(call["num_args"])]
        end = getattr(package.anp, call["primitive"])(*[package.Node(value) for value in values])
        gradients = package.parent_gradients(end, _number_or_array(inputs[f"{key}.c{n}.g"].copy()))
        if not isinstance(gradients, (list, tuple)) or len(gradients) != len(values):
            raise ProbeError(f"parent_gradients of anp.{call['primitive']} must give one gradient per argument")
        for i, (gradient, value) in enumerate(zip(gradients, values)):
            arrays[f"c{n}.vjp{i}"] = as_float_array(gradient, f"VJP of anp.{call['primitive']} for argument {i}",
                                                    np.shape(value))
    return arrays


def probe_autodiff_grad(package, case, inputs):
    """Exercise A.6: ``grad`` of functions the check sends as source (written with ``anp``) at
    given arguments; one gradient per differentiated argument."""
    key, arrays = case["key"], {}
    for n, call in enumerate(case["calls"]):
        namespace = {"anp": package.anp}
        exec(compile(call["source"], f"<graph {call['function']}>", "exec"), namespace)
        arguments = [_number_or_array(inputs[f"{key}.c{n}.{name}"].copy()) for name in call["arguments"]]
        argnum = call["argnum"] if isinstance(call["argnum"], int) else tuple(call["argnum"])
        gradients = package.grad(namespace[call["function"]], argnum)(*arguments)
        if isinstance(argnum, int):
            gradients = (gradients,)
        if not isinstance(gradients, (list, tuple)) or len(gradients) != len(call["shapes"]):
            raise ProbeError(f"grad(..., argnum={call['argnum']}) must give {len(call['shapes'])} gradients")
        for i, (gradient, shape) in enumerate(zip(gradients, call["shapes"])):
            arrays[f"c{n}.grad{i}"] = as_float_array(gradient, f"gradient {i} of {call['function']}", shape)
    return arrays


def probe_autodiff_mlp_gradients(model_class, case, inputs):
    """Exercises A.1-A.6 together: ``AutodiffMLP.gradients`` on given parameters and batch."""
    key, num_layers = case["key"], len(case["geometry"]) - 1
    model = model_class(case["geometry"], case["activations"], case["learning_rate"], seed=0)
    model.parameters = _parameters(inputs, key, num_layers)
    return Session(model, "gradients", case, inputs).run()


PROBES = {
    "autodiff_grad": probe_autodiff_grad,
    "autodiff_mlp_gradients": probe_autodiff_mlp_gradients,
    "autodiff_vjps": probe_autodiff_vjps,
    "cell_function": probe_cell_function,
    "loss_and_tangent": probe_loss_and_tangent,


    "counted_gradient": probe_counted_gradient,
    "progressive_backpropagation": probe_progressive_backpropagation,
    "function_calls": probe_function_calls,
    "function_model_session": probe_function_model_session,
    "model_session": probe_model_session,
    "numpy_mlp_backpropagation": probe_numpy_mlp_backpropagation,
    "pytorch_mlp_log_forward": probe_pytorch_mlp_log_forward,
}


def raised(error):
    """The policy's fields of a student exception (type, message, the student's line), read as the
    notebook's checker reads them; the grader's own files here are not the student's, and the lab modules'
    given code (run from their released copies) is named as a given helper."""
    here = os.path.dirname(os.path.abspath(__file__))
    grader_files = tuple(os.path.join(here, file) for file in ("student_side.py", *SHIPPED))
    given = sys.modules.get("backprop_labs")
    given_dirs = (os.path.join(here, RELEASED_DIR) + os.sep,)
    given_dirs += (os.path.dirname(os.path.abspath(given.__file__)) + os.sep,) if getattr(given, "__file__", None) else ()
    return policy_errors.raised(error, grader_files, given_dirs)


def describe(error):
    """One line naming an exception: type, message, and the student's line it came from."""
    if isinstance(error, ProbeError):
        return str(error)[:MAX_MESSAGE]
    fields = raised(error)
    message = f"{fields['type']}: {fields['message']}" if fields["message"] else fields["type"]
    where = fields["where"].split(": ", 1)[0].rsplit(":", 1)
    at = f" (at {where[0]}, line {where[1]})" if len(where) == 2 else ""
    return f"{message}{at}"[:MAX_MESSAGE]


def run_cells(cells, namespace):
    """Execute answer cells in order; an error in one is reported and the next still runs.

    IPython syntax (``%magic``, ``!command``) is turned into Python by IPython's own
    transformer; ``get_ipython`` is not defined here, so such lines raise ``NameError``.
    """
    errors = []
    if cells:
        from IPython.core.inputtransformer2 import TransformerManager

        to_python = TransformerManager().transform_cell
    for cell in cells:
        try:
            exec(compile(to_python(cell["source"]), f"<cell {cell['name']}>", "exec"), namespace)
        except BaseException as error:  # SystemExit included: it must not end the run
            errors.append({"cell": cell["name"], "error": describe(error)})
    return errors


def probe_check(check, inputs):
    """``(status section, arrays)`` of one check: its cells, its module, then each case."""
    section = {"cases": {}, "cells": []}
    arrays = {}
    namespace = {"__name__": "__main__", "np": np}  # answer cells may use np, as in the notebook
    try:
        import importlib

        module = importlib.import_module(check["module"]) if check["module"] else None
        section["cells"] = run_cells(check.get("cells", []), namespace)
        if check["class"] is None:
            model_class = module
        else:
            model_class = namespace.get(check["class"]) or getattr(module, check["class"], None)
        if model_class is None:
            raise NameError(f"{check['class']} is not defined by the answer cells or the module")
    except BaseException as error:
        section["import_error"] = describe(error)
        return section, arrays
    for case in check["cases"]:
        try:
            found = PROBES[check["probe"]](model_class, case, inputs)
            entry = {"ok": True}
            session = found if isinstance(found, Session) else None
            if session is not None:
                found, entry["session"] = session.arrays, {"calls": session.calls, "modified": session.modified,
                                                           "localised": session.localised}
            arrays.update({f"{case['key']}.{name}": array for name, array in found.items()})
            section["cases"][case["key"]] = entry
            if session is not None and session.out_of_memory:
                break   # the next cases would only exhaust the memory (and CPU) limits again
        except BaseException as error:
            section["cases"][case["key"]] = {"ok": False, "error": describe(error)}
            if not isinstance(error, ProbeError):
                section["cases"][case["key"]]["raised"] = raised(error)
            if isinstance(error, MemoryError):
                break  # the next cases would only exhaust the memory (and CPU) limits again
    return section, arrays


def write_status(status):
    """Replace ``out/status.json`` in one step, so it is never read half written."""
    with open("out/status.json.partial", "w") as handle:
        json.dump(status, handle)
    os.replace("out/status.json.partial", "out/status.json")


class GivenCodeAsReleased:
    """A meta path finder and loader for the lab modules that hold exercises (``labs.advertising``, ...):
    the submission's file runs first (its errors are the student's, as in the notebook), then the module's
    released copy runs over it in the same namespace, all but the exercise definitions. So every given
    function, class and constant is the course's copy, and only the functions (or methods) the student had
    to write are theirs, with whatever the student added beside them (new helpers, new methods). A given
    function that calls an exercise (``gradient_descent`` calls ``mean_squared_error_gradient``) calls the
    student's; a rewritten given function changes nothing.

    ``released``: ``{module name: (path of the released copy, [exercise: "function" or "Class.method"])}``.
    The released sources are read here, before any student code runs, and parsed when imported."""

    def __init__(self, released):
        self.released = {}
        for name, (path, exercises) in released.items():
            with open(path, "rb") as handle:
                self.released[name] = (path, handle.read(), tuple(exercises))

    def find_spec(self, name, path=None, target=None):
        if name not in self.released:
            return None
        import importlib.util

        student = os.path.join(os.getcwd(), *name.split(".")) + ".py"
        origin = student if os.path.isfile(student) else self.released[name][0]
        return importlib.util.spec_from_file_location(name, origin, loader=self)

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        import ast

        released_path, source, exercises = self.released[module.__name__]
        namespace = module.__dict__
        if module.__file__ != released_path:
            with open(module.__file__, "rb") as handle:
                exec(compile(handle.read(), module.__file__, "exec", dont_inherit=True), namespace)
        methods = {}
        for name in exercises:
            if "." in name:
                owner, method = name.split(".", 1)
                methods.setdefault(owner, []).append(method)
        students = {owner: namespace.get(owner) for owner in methods}
        # The student's functions stay where they define one (a deleted exercise gets the released stub).
        theirs = {name for name in exercises if "." not in name and name in namespace}
        given = [node for node in ast.parse(source, released_path).body if getattr(node, "name", None) not in theirs]
        exec(compile(ast.Module(body=given, type_ignores=[]), released_path, "exec", dont_inherit=True), namespace)
        for owner, names in methods.items():
            _take_methods(namespace.get(owner), students[owner], names)


def _take_methods(released, student, names):
    """Put into the ``released`` class the ``student`` class's methods ``names`` (those it defines) and the
    attributes it adds (its own helpers); ``super()`` in them then means the released class."""
    if not isinstance(released, type) or not isinstance(student, type) or released is student:
        return
    own = vars(student)
    taken = {name: own[name] for name in own
             if name in names or not (name.startswith("__") or name in vars(released))}
    for name, value in taken.items():
        setattr(released, name, value)
    for value in taken.values():
        function = getattr(value, "__func__", value)
        code = getattr(function, "__code__", None)
        if code is not None and "__class__" in code.co_freevars and function.__closure__:
            function.__closure__[code.co_freevars.index("__class__")].cell_contents = released


class Unavailable:
    """A meta path finder that makes importing the listed packages fail with the reason (honest code
    learns why; the packages are also hidden from the sandbox, so removing this finder gains nothing)."""

    def __init__(self, packages, reason):
        self.packages, self.reason = tuple(packages), reason

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.packages:
            raise ModuleNotFoundError(f"No module named {name!r}: {self.reason}", name=name)
        return None


def main():
    nonce = sys.stdin.readline().strip()
    sys.stdin.close()
    sys.path.insert(0, os.getcwd())
    with open(".grader/task.json") as handle:
        task = json.load(handle)
    if task.get("released"):   # before any student code runs
        here = os.path.dirname(os.path.abspath(__file__))
        sys.meta_path.insert(0, GivenCodeAsReleased({name: (os.path.join(here, path), exercises)
                                                     for name, (path, exercises) in task["released"].items()}))
    unavailable = task.get("unavailable", {})
    if unavailable.get("packages"):
        sys.meta_path.insert(0, Unavailable(unavailable["packages"], unavailable["reason"]))
    with np.load(".grader/inputs.npz", allow_pickle=False) as archive:
        inputs = dict(archive)
    status = {"nonce": nonce, "checks": {}}
    for check in task["checks"]:
        section, arrays = probe_check(check, inputs)
        np.savez(f"out/result-{check['name']}.npz", **arrays)
        status["checks"][check["name"]] = section
        write_status(status)


if __name__ == "__main__":
    main()
