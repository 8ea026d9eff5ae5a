"""The record of one grading run, per student: filled by each step of the grading path in turn.

``grading.course.pipeline.autograde`` (nbgrader in the student's kernel) and
``grading.trusted.parallel.grade_class`` (trusted grading) fill ``graded``, ``unchanged``, ``problems``,
``notes`` and ``logs``; ``grading.commands.grading_run.grade_assignment`` passes them its record and
adds the rest.
"""
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class GradingRun:
    """What one grading run did, per student. While it runs, ``problems``, ``notes`` and ``logs`` hold
    this run's findings; once ``grade_assignment`` is done, the whole class's (this run's over the earlier runs')."""

    graded: list = field(default_factory=list)       # graded in this run
    unchanged: list = field(default_factory=list)    # graded before, submission unchanged: not graded again
    problems: dict = field(default_factory=dict)     # student -> why nothing of it could be graded
    notes: dict = field(default_factory=dict)        # student -> [what was repaired or noted; graded all the same]
    pending: set = field(default_factory=set)        # students submitted but left out by a --student run
    logs: dict = field(default_factory=dict)         # student -> path of nbgrader's full log of a failure
    files: tuple = ()                                # grades, per-cell grades, problems CSV
    causes: Path = None                              # the causes CSV (trusted grading), else None
    report: tuple = ()                               # the class report: HTML page, CSV
    unmapped: list = field(default_factory=list)     # entries of an LMS download no student was found for

