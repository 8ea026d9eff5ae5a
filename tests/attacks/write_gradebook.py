# Overwrite the course gradebook, the instructor notebooks and another student's work.


def _tamper(self, input, output):
    for path in ("__GRADEBOOK__", "__COURSE__/source/lab/lab.ipynb", "__COURSE__/submitted/other/lab/labs/numpy_mlp.py"):
        with open(path, "r+b") as handle:
            handle.write(b"tampered")
    raise RuntimeError("tampering succeeded")


NumpyMLP.backpropagation = _tamper
