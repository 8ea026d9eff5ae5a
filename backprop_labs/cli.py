"""The ``backprop-labs`` command: one sub-command per task.

Each entry of ``COMMANDS`` names a module with ``add_arguments(parser)`` and
``run(args) -> exit code``; modules are imported only when their command runs, except
for building the argument parser, which imports each command module (they keep heavy
imports inside ``run``).
"""
import argparse
import importlib
import sys

COMMANDS = {
    "demo": ("backprop_labs.demo", "train and check the reference solutions on data that needs no download"),
    "generate": ("backprop_labs.generate", "regenerate the student package labs/ from labs_solutions/"),
}


def register_command(name, module, help_text):
    """Add a sub-command; other packages (grading) call this from their own module."""
    COMMANDS[name] = (module, help_text)


def build_parser():
    parser = argparse.ArgumentParser(prog="backprop-labs", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        command_parser = subparsers.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(command_parser)
        command_parser.set_defaults(run=module.run)
    return parser


def main(argv=None):
    _register_optional_commands()
    args = build_parser().parse_args(argv)
    return args.run(args)


def _register_optional_commands():
    """Commands defined outside this package register themselves on import."""
    try:
        importlib.import_module("grading.commands")
    except ModuleNotFoundError as error:
        if error.name not in ("grading", "grading.commands"):
            raise


if __name__ == "__main__":
    sys.exit(main())
