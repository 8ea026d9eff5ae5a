"""``backprop-labs course``: build an nbgrader course folder, then grade a class's submissions.

    backprop-labs course build DIR [--assignment NAME ...]
    backprop-labs course grade DIR ASSIGNMENT --submissions FOLDER [--csv grades.csv] [--workers N]
                                                [--in-kernel]

``grade`` collects ``FOLDER/<student>/`` (the files of one student's assignment), autogrades,
writes feedback and exports the grades. Run as root it autogrades with the trusted checks
(:mod:`grading.trusted`: sandboxed kernels, scores computed outside the student's kernel,
``--workers`` processes, a submission graded before and unchanged is not graded again);
otherwise, or with ``--in-kernel``, with plain nbgrader, whose scores a submission can tamper
with (a warning says so). Exit status: 0 when every submission was graded, 1 when some could
not be (they are listed), 2 when a step failed.
"""
import os
from pathlib import Path


def add_arguments(parser):
    actions = parser.add_subparsers(dest="action", required=True)
    build = actions.add_parser("build", help="write nbgrader_config.py, source/ and release/ in DIR")
    build.add_argument("course_dir", type=Path, metavar="DIR")
    build.add_argument("--assignment", action="append", dest="assignments", metavar="NAME",
                       help="build only this assignment (repeatable; default: every notebook)")
    build.add_argument("--timeout", type=int, default=None, help="seconds a cell may run when graded")
    build.add_argument("--epochs", type=int, default=None, help="num_epochs injected in graded runs")
    grade = actions.add_parser("grade", help="collect, autograde, feedback and grade export")
    grade.add_argument("course_dir", type=Path, metavar="DIR")
    grade.add_argument("assignment", metavar="ASSIGNMENT")
    grade.add_argument("--submissions", type=Path, required=True, metavar="FOLDER",
                       help="one sub-folder per student holding that student's assignment files")
    grade.add_argument("--csv", type=Path, default=Path("grades.csv"), help="grade CSV to write (default grades.csv)")
    grade.add_argument("--workers", type=int, default=2, help="trusted autograde worker processes (default 2)")
    grade.add_argument("--in-kernel", action="store_true",
                       help="plain nbgrader scores from the student's own kernel (no sandbox, can be tampered with)")


def run(args):
    from grading.course.assignments import AssignmentError, get_assignment
    from grading.course.pipeline import CourseError

    try:
        return _build(args) if args.action == "build" else _grade(args, get_assignment(args.assignment))
    except (AssignmentError, CourseError) as error:
        print(f"course {args.action}: {error}")
        return 2


def _build(args):
    from grading.course.assignments import get_assignment
    from grading.course.config import DEFAULT_PARAMETERS, DEFAULT_TIMEOUT
    from grading.course.pipeline import build_course

    assignments = None if not args.assignments else [get_assignment(name) for name in args.assignments]
    parameters = DEFAULT_PARAMETERS if args.epochs is None else {**DEFAULT_PARAMETERS, "num_epochs": args.epochs}
    built = build_course(args.course_dir, assignments, timeout=args.timeout or DEFAULT_TIMEOUT, parameters=parameters)
    for assignment in built:
        print(f"{assignment.name}: released to {args.course_dir / 'release' / assignment.name}")
    return 0


def _grade(args, assignment):
    from grading.course.pipeline import autograde, collect_submissions, export_grades, generate_feedback

    students = collect_submissions(args.course_dir, assignment, args.submissions)
    print(f"collected {len(students)} submission(s)")
    if args.in_kernel or os.geteuid() != 0:
        if not args.in_kernel:
            print("warning: not running as root, so no sandbox: the scores come from nbgrader's tests in the "
                  "student's own kernel, which a submission can tamper with (README: Trusted grading)")
        run = autograde(args.course_dir, assignment)
        failed = {student: f"see {run.log_path}" for student in run.failed}
        print(f"autograded {len(run.graded)} in-kernel")
    else:
        from grading.trusted.parallel import grade_class

        run = grade_class(args.course_dir, assignment.name, workers=args.workers, students=students)
        failed = run.failed
        print(f"autograded {len(run.graded)} with the trusted checks, {len(run.skipped)} unchanged since graded")
    for student, reason in sorted(failed.items()):
        print(f"  could not grade {student}: {reason.splitlines()[-1] if reason else 'unknown error'}")
    feedback = generate_feedback(args.course_dir, assignment)
    grades, cells = export_grades(args.course_dir, assignment, args.csv)
    print(f"feedback in {feedback}; grades in {grades}, per test cell in {cells}")
    return 1 if failed else 0
