# The visible module is the stub; bytecode of the reference solution waits in labs/__pycache__ as an
# unchecked hash-based pyc, which Python loads without comparing it with the .py.
# BYTECODE labs/numpy_mlp.py <- __SOLUTION_NUMPY_MLP__
