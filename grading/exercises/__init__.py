"""The graded exercises: one module per lab module of ``labs/``, each registering its
:class:`~grading.gradient_check.registry.GradientExercise` (and, where it is autograded outside the
kernel, its trusted check) when imported. Importing this package registers them all.

To add an exercise: write ``grading/exercises/<lab module>.py`` (see the worked example in
:mod:`grading.gradient_check.registry`) and import it below; if an assignment scores it, name its
test cells in ``grading/course/assignments.py``.
"""
# In the order find_exercise tries them.
from . import numpy_mlp  # noqa: F401, I001 (imported to register)
from . import log_linear  # noqa: F401
from . import pytorch_mlp  # noqa: F401
from . import autodiff  # noqa: F401
from . import forward_reverse  # noqa: F401
from . import glm  # noqa: F401
from . import advertising  # noqa: F401
from . import digits_lab  # noqa: F401
from . import worked_graph  # noqa: F401
