"""Run by the students' Python (tests/wheel_leaks.py, ``functional_leaks``): call every function and method of
the packages installed in SITE on each exercise's inputs (and with no arguments) and print, as one JSON line,
those that return an exercise's answer without torch autograd.

    python wheel_leak_probe.py SITE PROBES.pickle RTOL ATOL [PACKAGE,...]

What the calls could do to the machine is refused first: no process is started, signalled or forked, no
file removed or its mode changed (the calls get arrays, so the course and sandbox code merely raises).
"""
import importlib
import inspect
import json
import os
import pickle
import pkgutil
import shutil
import signal
import subprocess
import sys
import warnings

import numpy as np

PACKAGES = ("grading", "backprop_labs", "labs")
SECONDS_PER_CALL = 2


class Refused(Exception):
    pass


def _refuse(*args, **kwargs):
    raise Refused("not during the leak probe")


def _no_side_effects():
    for module, names in ((os, ("kill", "killpg", "fork", "setsid", "setuid", "setgid", "remove", "unlink", "rmdir",
                                "chmod", "chown", "rename", "replace", "execv", "execve", "system", "_exit")),
                          (shutil, ("rmtree", "move", "chown")), (subprocess, ("Popen", "run", "call"))):
        for name in names:
            if hasattr(module, name):
                setattr(module, name, _refuse)
    import multiprocessing
    multiprocessing.Process.start = _refuse


def _timeout(signum, frame):
    raise TimeoutError


def _leaves(value, depth=0):
    """Arrays in what a function returned (lists, tuples, dicts, objects with array attributes left out)."""
    if depth > 4:
        return []
    if hasattr(value, "detach") and hasattr(value, "numpy"):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray) and value.dtype.kind in "fc":
        return [value]
    if isinstance(value, (float, np.floating)) and not isinstance(value, bool):
        return [np.asarray(value, dtype=float)]
    if isinstance(value, dict):
        return [leaf for item in list(value.values())[:64] for leaf in _leaves(item, depth + 1)]
    if isinstance(value, (list, tuple)):
        return [leaf for item in list(value)[:64] for leaf in _leaves(item, depth + 1)]
    return []


def _matches(result, answers, inputs, rtol, atol):
    leaves = _leaves(result)
    scalars = [leaf.item() for leaf in leaves if leaf.size == 1]
    for answer in answers:
        if any(leaf.shape == answer.shape and np.allclose(leaf, answer, rtol=rtol, atol=atol) for leaf in leaves):
            if np.any(answer) and not any(np.shape(i) == answer.shape and np.allclose(i, answer) for i in inputs):
                return True   # (an answer equal to an input, or zero, tells nothing)
        if answer.ndim == 1 and 0 < answer.size <= 3 and all(   # a few numbers (W.1): each among those returned
                any(np.isclose(s, v, rtol=rtol, atol=atol) for s in scalars) for v in answer):
            return True
    return False


def _callables(site, packages):
    sys.path.insert(0, site)
    found, unimportable = [], []
    for package in packages:
        names = [package] + [info.name for info in pkgutil.walk_packages([os.path.join(site, package)], package + ".")]
        for name in names:
            try:
                module = importlib.import_module(name)
            except BaseException as error:  # noqa: BLE001 - a module that needs what the probe refused
                unimportable.append(f"{name}: {type(error).__name__}")
                continue
            for attribute, value in vars(module).items():
                if getattr(value, "__module__", None) != name:
                    continue
                if inspect.isfunction(value):
                    found.append((f"{name}.{attribute}", value, None))
                elif inspect.isclass(value):
                    for method_name, method in vars(value).items():
                        function = method.__func__ if isinstance(method, (staticmethod, classmethod)) else method
                        if inspect.isfunction(function):
                            found.append((f"{name}.{attribute}.{method_name}", function,
                                          value if isinstance(method, classmethod) else
                                          "static" if isinstance(method, staticmethod) else "self"))
    return found, unimportable


def _call(function, binding, arguments):
    if binding is None or binding == "static":
        return function(*arguments)
    if binding == "self":   # a method: the first argument stands for the instance
        return function(*arguments) if arguments else function(None)
    return function(binding, *arguments)


def _calls(function, binding, arguments):
    signal.alarm(SECONDS_PER_CALL)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return True, _call(function, binding, arguments)
    except BaseException:  # noqa: BLE001 - skip what raises (SystemExit and timeouts included)
        return False, None
    finally:
        signal.alarm(0)


class _AutogradOff:
    """Within the block, torch autograd raises: an answer that then disappears came from autograd."""

    def __enter__(self):
        import torch
        self.saved = (torch.autograd.grad, torch.autograd.backward, torch.Tensor.backward)
        torch.autograd.grad = torch.autograd.backward = torch.Tensor.backward = _refuse

    def __exit__(self, *exc):
        import torch
        torch.autograd.grad, torch.autograd.backward, torch.Tensor.backward = self.saved


def main(site, probes_path, rtol, atol, packages=PACKAGES):
    probes = pickle.loads(open(probes_path, "rb").read())
    signal.signal(signal.SIGALRM, _timeout)
    callables, unimportable = _callables(site, packages)   # importing is what a student does anyway
    _no_side_effects()
    leaks, calls, by_autograd = [], 0, []
    for name, function, binding in callables:
        # with its defaults once (compared with every exercise), then on each exercise's inputs
        attempts = [((), probes)] + [(arguments, [probe]) for probe in probes for arguments in probe["arguments"]]
        for arguments, against in attempts:
            inputs = [a for a in arguments if isinstance(a, np.ndarray)]
            ok, result = _calls(function, binding, arguments)
            calls += 1
            for probe in against if ok else ():
                if not _matches(result, probe["answers"], inputs, rtol, atol):
                    continue
                with _AutogradOff():
                    still, again = _calls(function, binding, arguments)
                found = {"function": name, "exercise": probe["exercise"]}
                (leaks if still and _matches(again, probe["answers"], inputs, rtol, atol) else by_autograd).append(found)
    print(json.dumps({"functions": len(callables), "calls": calls, "unimportable": unimportable,
                      "leaks": leaks, "by_autograd": by_autograd}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]),
         *([sys.argv[5].split(",")] if len(sys.argv) > 5 else []))
