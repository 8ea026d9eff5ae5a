"""``backprop-labs generate``: rebuild the student package from the solutions."""
from .paths import REPOSITORY_ROOT
from .stubgen import generate_student_package

SOLUTIONS_DIR = REPOSITORY_ROOT / "labs_solutions"
STUDENT_DIR = REPOSITORY_ROOT / "labs"


def add_arguments(parser):
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if labs/ differs from what would be generated")


def run(args):
    changed = generate_student_package(SOLUTIONS_DIR, STUDENT_DIR, check=args.check)
    if args.check:
        for relative in changed:
            print(f"labs/{relative} is out of date: run `backprop-labs generate`")
        return 1 if changed else 0
    print(f"labs/: {len(changed)} file(s) written or removed" if changed else "labs/ is up to date")
    return 0
