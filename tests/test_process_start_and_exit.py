"""What a grading process pays to start and to end: no IRI parser built at import (0.8 s of CPU each), no
garbage collection over every object at exit (0.5 s)."""
import subprocess
import sys
from importlib.machinery import PathFinder
from pathlib import Path

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
    code = READS_A_NOTEBOOK.replace("MODULE", module).replace("PARSER", repr(IRI_PARSER))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "True", f"importing {module} loaded {IRI_PARSER}"


def test_an_iri_parser_already_loaded_is_left_alone():
    code = (f"import {IRI_PARSER}, sys\nfrom backprop_labs.light_imports import skip_iri_parser\n"
            f"skip_iri_parser()\nprint(sys.modules[{IRI_PARSER!r}] is not None)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "True", result.stderr[-2000:]


FROZEN_AT_EXIT = """
import atexit, gc, os, sys, tempfile
from backprop_labs.process_exit import freeze_at_exit

folder = sys.argv[1]

class Cycle:   # garbage in a reference cycle at exit: only the collector's last pass would finalize it
    def __init__(self):
        self.me = self
        self.file = os.open(os.path.join(folder, "collected"), os.O_WRONLY | os.O_CREAT)

    def __del__(self, write=os.write):
        write(self.file, b"collected")

gc.disable()   # the cycle must still exist at exit, whenever the collector would have run
kept = tempfile.TemporaryDirectory(dir=folder)   # cleaned by its finalizer at exit
atexit.register(open(os.path.join(folder, "handler"), "w").write, "ran")
if sys.argv[2] == "freeze":
    freeze_at_exit()
    freeze_at_exit()   # asked twice: registered once
Cycle()
print(kept.name)
"""


@pytest.mark.parametrize("freeze", [True, False])
def test_a_command_ends_without_collecting_but_runs_its_handlers_and_finalizers(tmp_path, freeze):
    result = subprocess.run([sys.executable, "-c", FROZEN_AT_EXIT, str(tmp_path), "freeze" if freeze else "no"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "handler").read_text() == "ran"
    assert not Path(result.stdout.strip()).exists(), "the temporary folder's finalizer did not run"
    # Frozen, the cycle is left to the operating system; without it, the last collection finalizes it.
    assert (tmp_path / "collected").read_bytes() == (b"" if freeze else b"collected")


def test_every_command_freezes_at_exit(monkeypatch, capsys):
    import grading.cli as cli

    asked = []
    monkeypatch.setattr(cli, "freeze_at_exit", lambda: asked.append(True))
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert asked == [True]
