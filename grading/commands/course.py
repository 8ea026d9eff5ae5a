"""``backprop-labs course``: build an nbgrader course folder; ``course grade`` is ``backprop-labs grade``.

    backprop-labs course build DIR [--assignment NAME ...] [--timeout S] [--epochs N]
    backprop-labs course student-wheel OUT    (the students' package, without labs_solutions)
    backprop-labs course grade DIR ASSIGNMENT [the options of backprop-labs grade]
    backprop-labs course report DIR ASSIGNMENT [--csv FILE]   (what the class got wrong, after grading)
    backprop-labs course roster DIR FILE.csv   (students into the gradebook: id, names, e-mail, LMS id)
    backprop-labs course export DIR ASSIGNMENT --format canvas|moodle|nbgrader [--out FILE]
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
    roster = actions.add_parser("roster", help="import the class roster (CSV columns id, first_name, last_name, email, "
                                               "optionally lms_id) into DIR's nbgrader gradebook")
    roster.add_argument("course_dir", type=Path, metavar="DIR")
    roster.add_argument("roster", type=Path, metavar="FILE.csv")
    export = actions.add_parser("export", help="write the grades of ASSIGNMENT as the CSV a gradebook imports "
                                               "(Canvas, Moodle or nbgrader's own export)")
    export.add_argument("course_dir", type=Path, metavar="DIR")
    export.add_argument("assignment", metavar="ASSIGNMENT")
    export.add_argument("--format", required=True, choices=("canvas", "moodle", "nbgrader"), dest="format")
    export.add_argument("--csv", type=Path, default=None, metavar="FILE",
                        help="the grade CSV `grade --csv` wrote (default DIR/grades/ASSIGNMENT.csv)")
    export.add_argument("--out", type=Path, default=None, metavar="FILE",
                        help="where to write (default DIR/grades/ASSIGNMENT-FORMAT.csv)")


def run(args):
    from grading.course.assignments import AssignmentError
    from grading.course.pipeline import CourseError

    if args.action == "grade":
        return grade_command.run(args)
    if args.action == "student-wheel":
        from grading.course.student_dist import build_student_wheel

        print(f"students install {build_student_wheel(args.out_dir)}")
        return 0
    from grading.course.roster import RosterError

    actions = {"report": _report, "build": _build, "roster": _roster, "export": _export}
    try:
        return actions[args.action](args)
    except (AssignmentError, CourseError, RosterError) as error:
        print(f"course {args.action}: {error}")
        return 2


def _report(args):
    from grading.course.assignments import get_assignment
    from grading.course.class_report import write_class_report

    page, table = write_class_report(args.course_dir, get_assignment(args.assignment), args.csv)
    print(f"{args.assignment}: class report in {page}, ranked causes in {table}")
    return 0


def _roster(args):
    from grading.course.config import CONFIG_NAME
    from grading.course.pipeline import CourseError
    from grading.course.roster import import_roster

    if not (args.course_dir / CONFIG_NAME).is_file():
        raise CourseError(f"{args.course_dir} is not a built course: run `backprop-labs course build "
                          f"{args.course_dir}` first")
    result = import_roster(args.course_dir, args.roster)
    for line in result.refused:
        print(f"  {line}")
    print(f"roster: {len(result.imported)} student(s) imported into {args.course_dir / 'gradebook.db'}, "
          f"{len(result.refused)} row(s) refused")
    return 0 if result.imported else 1


def _export(args):
    from grading.course.assignments import get_assignment
    from grading.course.lms_export import export_for_lms

    out, notes = export_for_lms(args.course_dir, get_assignment(args.assignment), args.format, args.csv, args.out)
    for line in notes:
        print(f"  {line}")
    print(f"{args.assignment}: {args.format} grades in {out}")
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

