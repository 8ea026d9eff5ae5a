"""``backprop-labs generate``: rebuild the student package and notebooks from their sources.

``labs/`` is generated from ``labs_solutions/`` and ``notebooks/student/`` from
``notebooks/source/``; ``--check`` writes nothing and fails if either is out of date.
"""
from .paths import SOLUTIONS_PACKAGE_DIR, SOURCE_NOTEBOOKS_DIR, STUDENT_NOTEBOOKS_DIR, STUDENT_PACKAGE_DIR
from .stubgen import generate_student_package


def add_arguments(parser):
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if labs/ or notebooks/student/ differs from what would be generated")


def _generate_notebooks(check):
    try:  # nbformat and nbgrader come with the course extra
        from .student_notebooks import generate_student_notebooks
    except ImportError as error:
        raise SystemExit(f"generating notebooks needs the course extra ({error}): pip install -e '.[course]'")
    return generate_student_notebooks(SOURCE_NOTEBOOKS_DIR, STUDENT_NOTEBOOKS_DIR, check=check)


def run(args):
    targets = {
        "labs": generate_student_package(SOLUTIONS_PACKAGE_DIR, STUDENT_PACKAGE_DIR, check=args.check),
        "notebooks/student": _generate_notebooks(args.check),
    }
    for target, changed in targets.items():
        if args.check:
            for relative in changed:
                print(f"{target}/{relative} is out of date: run `backprop-labs generate`")
        else:
            print(f"{target}/: {len(changed)} file(s) written or removed" if changed else f"{target}/ is up to date")
    return 1 if args.check and any(targets.values()) else 0
