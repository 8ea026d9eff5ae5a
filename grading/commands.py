"""Sub-commands of ``backprop-labs`` that live in the grading package.

Each line registers one command; its module provides ``add_arguments(parser)`` and
``run(args)``.
"""
from backprop_labs.cli import register_command

register_command("check", "grading.check_command", "check gradients of labs/ (or --solutions)")
register_command("course", "grading.course.command", "build an nbgrader course folder and grade submissions")
register_command("grade", "grading.trusted.command", "trusted, parallel, resumable autograde of a built course (sandboxed checks)")
