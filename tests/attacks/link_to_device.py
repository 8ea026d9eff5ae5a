# The submission's module is a symbolic link to /dev/zero (an endless file: fills the disk when copied).
# LINK labs/numpy_mlp.py -> /dev/zero
