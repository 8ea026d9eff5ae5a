"""The modules that register gradient exercises: one line per lab.

``grading.exercises`` imports each of them (once, on first use of the registry) so that
``backprop-labs check`` and ``grading.check_backpropagation`` know every exercise. A module
listed here calls ``grading.exercises.register_exercise(GradientExercise(...))`` at import;
see the worked example in ``grading/exercises.py``. It must not live in ``labs_solutions/``
(that code is copied to the student package).
"""
EXERCISE_MODULES = [
    "grading.backprop_exercises",  # day 2: numpy_mlp, log_linear, pytorch_mlp_forward
    "grading.autodiff_exercise",  # mini-autodiff: autodiff_mlp (A.1-A.6)
    "grading.progressive_exercise",  # forward/reverse lab: progressive_network (F.3)
    "grading.glm_exercise",  # GLM lab: glm_natural_parameter (G.1-G.2)
    "grading.regression_exercise",  # Advertising lab: advertising_mse (R.1)
]
