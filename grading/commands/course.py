"""``backprop-labs course``: build an nbgrader course folder; ``course grade`` is ``backprop-labs grade``.

    backprop-labs course build DIR [--assignment NAME ...] [--timeout S] [--epochs N]
    backprop-labs course student-wheel OUT    (the students' package, without labs_solutions)
    backprop-labs course grade DIR ASSIGNMENT [the options of backprop-labs grade]
    backprop-labs course report DIR ASSIGNMENT [--csv FILE]   (what the class got wrong, after grading)
"""
from pathlib import Path

from grading.commands import grade as grade_command


def add_arguments(parser):
    actions = parser.add_subparsers(dest="action", required=True)
    build = actions.add_parser("build", help="write nbgrader_config.py, source/ and release/ in DIR")
    build.add_argument("course_dir", type=Path, metavar="DIR")
    build.add_argument("--assignment", action="append", dest="assignments", metavar="NAME",
                       help="build only this assignment (repeatable; default: every notebook)")
    build.add_argument("--timeout", type=int, default=None, help="seconds a cell may run when graded")
    build.add_argument("--epochs", type=int, default=None, help="num_epochs injected in graded runs")
    wheel = actions.add_parser("student-wheel", help="build the students' wheel (no solutions) into OUT")
    wheel.add_argument("out_dir", type=Path, metavar="OUT")
    grade = actions.add_parser("grade", help="the same as `backprop-labs grade`")
    grade_command.add_arguments(grade)
    report = actions.add_parser("report", help="write DIR/reports/ASSIGNMENT.html and .csv from the grade files: "
                                               "score distributions, diagnosed causes ranked, students not graded")
    report.add_argument("course_dir", type=Path, metavar="DIR")
    report.add_argument("assignment", metavar="ASSIGNMENT")
    report.add_argument("--csv", type=Path, default=None, metavar="FILE",
                        help="the grade CSV `grade --csv` wrote (default DIR/grades/ASSIGNMENT.csv)")


def run(args):
    from grading.course.assignments import AssignmentError
    from grading.course.pipeline import CourseError

    if args.action == "grade":
        return grade_command.run(args)
    if args.action == "student-wheel":
        from grading.course.student_dist import build_student_wheel

        print(f"students install {build_student_wheel(args.out_dir)}")
        return 0
    try:
        return _report(args) if args.action == "report" else _build(args)
    except (AssignmentError, CourseError) as error:
        print(f"course {args.action}: {error}")
        return 2


def _report(args):
    from grading.course.assignments import get_assignment
    from grading.course.class_report import write_class_report

    page, table = write_class_report(args.course_dir, get_assignment(args.assignment), args.csv)
    print(f"{args.assignment}: class report in {page}, ranked causes in {table}")
    return 0


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

