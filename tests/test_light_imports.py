"""Processes that read notebooks do not build jsonschema's IRI parser (0.8 s of CPU each)."""
import subprocess
import sys
from importlib.machinery import PathFinder

import pytest

from backprop_labs.light_imports import IRI_PARSER

READS_A_NOTEBOOK = """
import sys
import MODULE
import nbformat
from backprop_labs.paths import REPOSITORY_ROOT
notebook = nbformat.read(REPOSITORY_ROOT / "notebooks" / "source" / "backprop_mlp.ipynb", as_version=4)
nbformat.validate(notebook)   # validation works without it
broken = nbformat.from_dict({key: value for key, value in notebook.items() if key != "metadata"})
try:
    nbformat.validate(broken)
except nbformat.ValidationError:
    pass
else:
    sys.exit("a malformed notebook passed validation")
print(sys.modules.get(PARSER) is None)
"""


@pytest.mark.parametrize("module", ["grading.trusted.parallel", "grading.course.pipeline",
                                    "backprop_labs.student_notebooks"])
def test_grading_processes_read_notebooks_without_the_iri_parser(module):
    # PathFinder looks on sys.path only: this process may have marked the module absent already.
    PathFinder.find_spec(IRI_PARSER) or pytest.fail(
        f"{IRI_PARSER} is not installed: this test would pass whatever the code does")
    result = subprocess.run([sys.executable, "-c", READS_A_NOTEBOOK.replace("MODULE", module).replace("PARSER", repr(IRI_PARSER))],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "True", f"importing {module} loaded {IRI_PARSER}"


def test_an_iri_parser_already_loaded_is_left_alone():
    code = (f"import {IRI_PARSER}, sys\nfrom backprop_labs.light_imports import skip_iri_parser\n"
            f"skip_iri_parser()\nprint(sys.modules[{IRI_PARSER!r}] is not None)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "True", result.stderr[-2000:]
