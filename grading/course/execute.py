"""Run a course notebook top to bottom with nbclient, as CI does: solutions in, shorter training.

The instructor notebook is copied with the SOLUTION modules into a working folder (its
``labs/`` package), the parameters are injected after its ``parameters`` cell, and every
cell runs in a ``python3`` kernel (this interpreter) with the folder as working directory.
"""
from pathlib import Path

from nbclient import NotebookClient

from backprop_labs.student_notebooks import read_notebook

from .config import DEFAULT_PARAMETERS
from .preprocessors import inject_parameters

KERNEL = "python3"


def execute_notebook(path, working_dir, parameters=None, timeout=600, allow_errors=False):
    """Execute the notebook at ``path`` in ``working_dir``; return the executed notebook.

    A failing cell raises nbclient's ``CellExecutionError`` (with the traceback) unless
    ``allow_errors``. ``parameters`` (default ``DEFAULT_PARAMETERS``) are injected.
    """
    notebook = read_notebook(path)
    inject_parameters(notebook, DEFAULT_PARAMETERS if parameters is None else parameters)
    client = NotebookClient(notebook, timeout=timeout, kernel_name=KERNEL, allow_errors=allow_errors,
                            resources={"metadata": {"path": str(working_dir)}})
    client.execute()
    return notebook


def run_with_solutions(assignment, working_dir, parameters=None, timeout=600):
    """Copy ``assignment`` with its solution modules into ``working_dir`` and execute its notebook."""
    files = assignment.write_files(Path(working_dir), solutions=True)
    return execute_notebook(files[0], working_dir, parameters=parameters, timeout=timeout)
