"""The ``backprop-labs`` command: one sub-command per job, all listed in ``COMMANDS``.

Each command module has ``add_arguments(parser)`` and ``run(args) -> exit code`` and keeps
its heavy imports inside ``run``, so building the parser stays fast.
"""
import argparse
import sys

from backprop_labs import generate
from backprop_labs.process_exit import freeze_at_exit
from grading.commands import check, course, demo, grade

COMMANDS = {  # name -> (module, one line of help)
    "demo": (demo, "train and check the reference solutions on data that needs no download"),
    "check": (check, "check the gradients of labs/ (or --solutions) against PyTorch autograd"),
    "generate": (generate, "regenerate the student package labs/ from labs_solutions/"),
    "course": (course, "build an nbgrader course folder; course report: what the class got wrong (course grade = grade)"),
    "grade": (grade, "grade an assignment: collect, trusted grading, feedback, grade files"),
}


DESCRIPTION = ("Backpropagation labs: check your gradients against PyTorch autograd, build the nbgrader course "
               "and grade it. `backprop-labs COMMAND --help` describes each command.")


def build_parser():
    parser = argparse.ArgumentParser(prog="backprop-labs", description=DESCRIPTION)
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name, (module, help_text) in COMMANDS.items():
        command_parser = subparsers.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(command_parser)
        command_parser.set_defaults(run=module.run)
    return parser


def main(argv=None):
    freeze_at_exit()   # a command that imported torch or nbgrader ends 0.5 s of CPU sooner
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
