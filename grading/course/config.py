"""The course's ``nbgrader_config.py``: settings in plain sight, preprocessor chains in code.

The written file sets what an instructor may want to change (timeout, injected parameters,
which modules students edit) and calls :func:`apply_course_chains`, which swaps this course's
preprocessors into nbgrader's default chains:

* generate_assignment: ``NamedClearSolutions`` instead of ``ClearSolutions`` (same stubs as the
  committed student notebooks);
* autograde: ``refuse_trusted_autograde`` before nbgrader removes any graded folder (wrapped around
  ``Autograde.convert_notebooks``), ``KeepTrustedScores`` first, ``InjectParameters`` and
  ``KeepHiddenTestsFromKernel`` (off unless the trusted grading turns it on) before ``Execute``,
  ``PutHiddenTestsBack`` and ``StderrAsStdout`` after it;
* every notebook nbgrader executes as root (autograde, the command or formgrader's button) runs in
  the sandboxed kernel (:data:`SANDBOXED_KERNEL_MANAGER`): as root, a notebook's code could read the
  grader's record key and forge a trusted record;
* generate_feedback: ``ClearHiddenTestsAndOutputs``, ``HideServerPaths`` and ``NameTestCells`` after
  ``GetGrades``, and the course's feedback template (nbgrader's, with each test cell named).
"""
import os
from pathlib import Path

from .case_secret import create_course_secret

COURSE_ID = "backprop-labs"
CONFIG_NAME = "nbgrader_config.py"
DEFAULT_TIMEOUT = 120           # seconds per cell before nbgrader interrupts it (scored 0)
DEFAULT_PARAMETERS = {"num_epochs": 1}
IOPUB_TIMEOUT = 60              # seconds to wait for a finished cell's output (nbclient's default: 4)
# Named, not imported: the kernel manager lives on the trusted floor, above this one.
SANDBOXED_KERNEL_MANAGER = "grading.trusted.sandbox.kernel.SandboxedKernelManager"

CONFIG_TEMPLATE = '''\
# nbgrader configuration written by `backprop-labs course build`: run nbgrader from this folder.
# The preprocessor chains that fix nbgrader's traps are set by apply_course_chains
# (grading/course/config.py); the values below are yours to change.
from grading.course.config import apply_course_chains

c = get_config()
c.CourseDirectory.course_id = {course_id!r}

# Students edit these shipped modules: autograde must grade their copy, not the source's.
c.Autograde.exclude_overwriting = {exclude_overwriting!r}

# A deleted test cell is put back (after the previous answer or test cell) and graded.
c.OverwriteCells.add_missing_cells = True

# Seconds a cell may run before it is interrupted and scores 0 (e.g. an infinite loop).
c.Execute.timeout = {timeout!r}

# Seconds to wait for a finished cell's last output; nbgrader fails the whole submission when
# it is late, and 4 s (the default) is too short on a loaded grading machine.
c.Execute.iopub_timeout = {iopub_timeout!r}

# Assigned after each notebook's cell tagged "parameters" in graded runs: shorter training.
c.InjectParameters.parameters = {parameters!r}

apply_course_chains(c)
'''


def write_config(course_dir, assignments, timeout=DEFAULT_TIMEOUT, parameters=None):
    """Step 1: write ``course_dir/nbgrader_config.py`` for ``assignments`` and, once, the secret the course's
    trusted cases are drawn from (:func:`.case_secret.create_course_secret`); return the config's path."""
    course_dir = Path(course_dir)
    course_dir.mkdir(parents=True, exist_ok=True)
    create_course_secret(course_dir)
    text = CONFIG_TEMPLATE.format(
        course_id=COURSE_ID,
        exclude_overwriting={a.name: a.edited_modules() for a in assignments if a.edited_modules()},
        timeout=timeout,
        iopub_timeout=IOPUB_TIMEOUT,
        parameters=DEFAULT_PARAMETERS if parameters is None else dict(parameters),
    )
    path = course_dir / CONFIG_NAME
    path.write_text(text, encoding="utf-8")
    return path


def _replace(chain, old, new):
    if old not in chain:
        raise RuntimeError(f"nbgrader's chain {[p.__name__ for p in chain]} has no {old.__name__}: "
                           "this course is written for nbgrader 0.9.6")
    return [new if item is old else item for item in chain]


def _insert(chain, anchor, new, after):
    if anchor not in chain:
        raise RuntimeError(f"nbgrader's chain {[p.__name__ for p in chain]} has no {anchor.__name__}: "
                           "this course is written for nbgrader 0.9.6")
    index = chain.index(anchor) + (1 if after else 0)
    return chain[:index] + [new] + chain[index:]


def refuse_trusted_first(autograde_class):
    """Make ``autograde_class`` (nbgrader's ``Autograde``) call ``refuse_trusted_autograde`` before its
    ``convert_notebooks``, which removes a student's ``autograded/`` folder before any preprocessor
    runs (no setting of nbgrader 0.9.6 runs earlier: its pre-convert hook comes after, and its
    failures are only logged). Installed once per process."""
    from .preprocessors import refuse_trusted_autograde

    convert = autograde_class.convert_notebooks
    if getattr(convert, "refuses_trusted", False):
        return

    def convert_notebooks(self):
        refuse_trusted_autograde(self)
        return convert(self)

    convert_notebooks.refuses_trusted = True
    autograde_class.convert_notebooks = convert_notebooks


def apply_course_chains(c):
    """Set the generate_assignment, autograde and feedback chains on traitlets config ``c``."""
    from nbgrader.converters import Autograde, GenerateAssignment, GenerateFeedback
    from nbgrader.preprocessors import ClearSolutions, Execute, GetGrades

    from backprop_labs.student_notebooks import NamedClearSolutions
    from .preprocessors import (FEEDBACK_TEMPLATE_DIR, FEEDBACK_TEMPLATE_FILE, ClearHiddenTestsAndOutputs,
                                HideServerPaths, InjectParameters, KeepHiddenTestsFromKernel, KeepTrustedScores,
                                NamedTestsFeedbackExporter, NameTestCells, PutHiddenTestsBack, StderrAsStdout,
                                nbgrader_template_dir)

    def default(converter, name):
        return list(converter.class_traits()[name].make_dynamic_default())

    c.GenerateAssignment.preprocessors = _replace(
        default(GenerateAssignment, "preprocessors"), ClearSolutions, NamedClearSolutions)
    chain = default(Autograde, "autograde_preprocessors")
    chain = _insert(chain, Execute, InjectParameters, after=False)
    chain = _insert(chain, Execute, KeepHiddenTestsFromKernel, after=False)   # after InjectParameters' new cell
    chain = _insert(chain, Execute, StderrAsStdout, after=True)
    c.Autograde.autograde_preprocessors = _insert(chain, Execute, PutHiddenTestsBack, after=True)
    c.Autograde.sanitize_preprocessors = [KeepTrustedScores, *default(Autograde, "sanitize_preprocessors")]
    refuse_trusted_first(Autograde)
    if os.geteuid() == 0:   # the sandbox needs root; a user's kernel cannot read root's record key anyway
        c.Execute.kernel_manager_class = SANDBOXED_KERNEL_MANAGER
    chain = _insert(default(GenerateFeedback, "preprocessors"), GetGrades, ClearHiddenTestsAndOutputs, after=True)
    chain = _insert(chain, ClearHiddenTestsAndOutputs, HideServerPaths, after=True)
    c.GenerateFeedback.preprocessors = _insert(chain, HideServerPaths, NameTestCells, after=True)
    # The page is nbgrader's "feedback" template, extended: nbgrader's template folder stays on the path.
    c.GenerateFeedback.exporter_class = NamedTestsFeedbackExporter
    c.NamedTestsFeedbackExporter.template_file = FEEDBACK_TEMPLATE_FILE
    c.NamedTestsFeedbackExporter.extra_template_basedirs = [str(FEEDBACK_TEMPLATE_DIR), str(nbgrader_template_dir())]
    return c
