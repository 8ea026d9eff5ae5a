"""A small class of made-up submissions for tests and the benchmark.

``build_demo_class(root, kinds)`` builds the course (nbgrader config, source, release) in
``root/course`` and collects one submission per entry of ``kinds`` into ``submitted/``:

* ``honest``: the reference modules and answer cells;
* ``stub``: the release as handed out;
* ``cheat``: the release, with an answer cell that probes for write access to the
  packages and the gradebook, patches ``numpy.allclose`` and installs an input transformer
  that turns every later cell into ``pass``, and a test cell whose source and points were
  edited;
* partly right, as honest students hand them in (``PARTLY_RIGHT``): ``sigmoid_only`` uses the
  sigmoid derivative for every hidden activation, ``output_layer_only`` forgets the activation's
  derivative when passing the error down, ``forward_without_bias`` leaves the bias out of
  ``PytorchMLP._log_forward``; the other assignments' in ``PARTLY_RIGHT_BY_ASSIGNMENT``.
"""
import shutil
from pathlib import Path

import nbformat

from backprop_labs.paths import REPOSITORY_ROOT
from grading.course.submissions import cell_grade_id

CHEAT_CELL = """
import os, numpy
# Probe (without writing) for write access to the installed packages and any gradebook
# above the notebook, and say who the kernel runs as.
for path in [numpy.__file__] + [os.path.join(*[".."] * up, "gradebook.db") for up in range(1, 9)]:
    if os.path.exists(path) and os.access(path, os.W_OK):
        print("CHEAT could write", os.path.abspath(path))
print("CHEAT kernel uid", os.getuid())
numpy.allclose = lambda *args, **kwargs: True
get_ipython().input_transformers_post.append(lambda lines: ["pass\\n"])
"""


# kind -> (module, solution line, the student's line): backprop_mlp's partly right work
PARTLY_RIGHT = {
    "sigmoid_only": ("numpy_mlp.py", "derivative = derivative_from_output[self.activation_functions[n - 1]]",
                     'derivative = derivative_from_output["sigmoid"]'),
    "output_layer_only": ("numpy_mlp.py", "error = (error @ weight) * derivative(layer_inputs[n])",
                          "error = error @ weight"),
    "forward_without_bias": ("pytorch_mlp.py", "z = activation @ weight.T + bias", "z = activation @ weight.T"),
}
# The other assignments' partly right work, by assignment (digits uses backprop_mlp's modules and kinds).
PARTLY_RIGHT_BY_ASSIGNMENT = {
    "backprop_mlp": PARTLY_RIGHT,
    "glm": {  # the softmax without its shift overflows on large logits only; the seed misses 1/B; a wrong link
        "unshifted_softmax": ("glm.py", "return torch.softmax(eta, dim=1)",
                              "return torch.exp(eta) / torch.sum(torch.exp(eta), dim=1, keepdim=True)"),
        "seed_without_mean": ("glm.py", "return (y_hat - targets) / y_hat.shape[0]", "return y_hat - targets"),
        "poisson_identity_link": ("glm.py", "return torch.exp(eta)", "return eta"),
    },
    "advertising": {  # the factor 2 forgotten (descent still converges), the mean forgotten (it diverges)
        "gradient_without_two": ("advertising.py", "gradient = (2.0 / design.shape[0]) * design.T",
                                 "gradient = (1.0 / design.shape[0]) * design.T"),
        "gradient_of_the_sum": ("advertising.py", "gradient = (2.0 / design.shape[0]) * design.T",
                                "gradient = 2.0 * design.T"),
    },
    "worked_graph": {  # 2c evaluated at the worked point c = 4: right there, wrong elsewhere
        "dc_at_the_worked_point": ("worked_graph.py", '"dL/dc": dl_dr * 2.0 * c', '"dL/dc": dl_dr * 8.0'),
    },
    "forward_reverse": {  # products outside the counter (right gradient, wrong count); the softmax Jacobian left out
        "uncounted_forward": ("forward_reverse/modes.py", "partial = counter.matmul(jacobian, partial)",
                              "partial = jacobian @ partial"),
        "backprop_without_softmax": ("forward_reverse/progressive.py", "p = softmax_jacobian.T @ loss_gradient",
                                     "p = loss_gradient"),
    },
    "autodiff": {  # tanh' taken at the input instead of the output; a node used twice keeps only its last message
        "tanh_vjp_at_the_input": ("autodiff/vjps.py", "return g * (1.0 - ans ** 2)", "return g * (1.0 - x ** 2)"),
        "backward_without_sum": ("autodiff/backward.py",
                                 "received[parent] = message if parent not in received else received[parent] + message",
                                 "received[parent] = message"),
    },
    "conv1d": {  # the kernel's gradient written for the lab's width 3 only: right there, wrong for width 4
        "kernel_width_three": ("conv1d.py", 'np.einsum("bp,bpw->w", feature_error, windows)[np.newaxis, :]',
                               'np.einsum("bp,bpw->w", feature_error, windows[:, :, :3])[np.newaxis, :]'),
    },
    "digits": {kind: PARTLY_RIGHT[kind] for kind in ("sigmoid_only", "output_layer_only", "forward_without_bias")},
}
ALL_PARTLY_RIGHT = {kind: edit for kinds in PARTLY_RIGHT_BY_ASSIGNMENT.values() for kind, edit in kinds.items()}


def _edit_notebook(path, edit):
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        edit(cell)
    nbformat.write(notebook, path)


def _build_course_folder(course_dir, assignment, timeout=None):
    """Course steps 1-3 for one assignment (the course helper's functions, without its
    up-to-date check of ``labs/``, which concerns the committed package, not a class);
    ``timeout``: nbgrader's seconds per cell (None: the course default)."""
    from grading.course.config import DEFAULT_TIMEOUT, write_config
    from grading.course.pipeline import copy_source, generate_release

    write_config(course_dir, [assignment], timeout=timeout or DEFAULT_TIMEOUT)
    copy_source(course_dir, assignment)
    return generate_release(course_dir, assignment)


def make_submission(release, folder, kind, assignment):
    shutil.copytree(release, folder)
    notebook_path = folder / f"{assignment.name}.ipynb"
    if kind == "honest" or kind in ALL_PARTLY_RIGHT:
        for module in assignment.edited_modules():   # labs/<module>
            shutil.copy(REPOSITORY_ROOT / "labs_solutions" / module.removeprefix("labs/"), folder / module)
        if kind in ALL_PARTLY_RIGHT:
            module, right, wrong = ALL_PARTLY_RIGHT[kind]
            text = (folder / "labs" / module).read_text()
            assert text.count(right) == 1, f"{module} no longer has the line {right!r}"
            (folder / "labs" / module).write_text(text.replace(right, wrong))
        answers = {cell_grade_id(cell): cell.source for cell in nbformat.read(assignment.notebook, as_version=4).cells
                   if cell.get("metadata", {}).get("nbgrader", {}).get("solution")}
        _edit_notebook(notebook_path, lambda cell: cell.update(source=answers[cell_grade_id(cell)])
                       if cell_grade_id(cell) in answers else None)
    elif kind == "cheat":
        def cheat(cell):
            if cell_grade_id(cell) == "ex2_1_answer":
                cell.source += CHEAT_CELL
            elif cell_grade_id(cell) == "test_2_2_hidden":
                cell.source = "pass"
                cell.metadata["nbgrader"]["points"] = 99
        _edit_notebook(notebook_path, cheat)
    elif kind != "stub":
        raise ValueError(f"unknown submission kind {kind!r}: honest, stub, cheat or {', '.join(ALL_PARTLY_RIGHT)}")


def build_demo_class(root, kinds, assignment_name="backprop_mlp"):
    """Course in ``root/course`` with submissions ``s00_<kind>``, ...; returns the course path."""
    from grading.course.assignments import get_assignment
    from grading.course.submissions import collect_submissions

    root = Path(root)
    assignment = get_assignment(assignment_name)
    course = root / "course"
    release = _build_course_folder(course, assignment)
    submissions = root / "submissions"
    for index, kind in enumerate(kinds):
        make_submission(release, submissions / f"s{index:02d}_{kind}", kind, assignment)
    collect_submissions(course, assignment, submissions)
    return course


def graded_files(course):
    """Every file of the course's ``autograded/`` and ``feedback/`` folders, with its bytes: what a
    refused nbgrader autograde must leave as it was."""
    return {path.relative_to(course).as_posix(): path.read_bytes()
            for folder in ("autograded", "feedback") for path in sorted((course / folder).rglob("*"))
            if path.is_file()}
