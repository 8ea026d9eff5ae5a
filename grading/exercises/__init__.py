"""The graded exercises: one module per lab module of ``labs/``, each registering its
:class:`~grading.gradient_check.registry.GradientExercise` when imported: the exercise, its trusted checks, its
diagnosis words and, where a notebook grades it, its assignment's row. Importing this package imports every
module in it (``grading.gradient_check.registry`` does, on the first lookup).

To add an exercise, write ``grading/exercises/<lab module>.py``: nothing else of the grader changes
(docs/authoring.md).
"""
import importlib
import pkgutil

# find_exercise tries the exercises in registration order: these first, as their recognisers overlap (a
# NumpyMLP-like model would also pass later ones); every other module follows in name order.
TRIED_FIRST = ("numpy_mlp", "log_linear", "pytorch_mlp", "autodiff", "forward_reverse", "glm", "advertising",
               "digits_lab", "worked_graph")

for _name in TRIED_FIRST + tuple(sorted({module.name for module in pkgutil.iter_modules(__path__)} - set(TRIED_FIRST))):
    importlib.import_module(f"{__name__}.{_name}")
