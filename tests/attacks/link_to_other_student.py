# The submission's module is a symbolic link to another student's submitted module.
# LINK labs/numpy_mlp.py -> __OTHER_STUDENT_MODULE__
