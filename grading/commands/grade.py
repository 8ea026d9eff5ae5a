"""``backprop-labs grade``: trusted, parallel, resumable autograde of a built course.

    backprop-labs grade COURSE_DIR ASSIGNMENT [--workers N] [--dask-scheduler ADDR]

Run after ``backprop-labs course build`` and after the submissions are in
``COURSE_DIR/submitted/<student>/ASSIGNMENT/``. Exit status 0 when every student is graded,
1 when some could not be (listed with the reason; run again to retry them).
"""

def add_arguments(parser):
    parser.add_argument("course_dir", metavar="COURSE_DIR", help="nbgrader course folder (made root-only)")
    parser.add_argument("assignment", metavar="ASSIGNMENT")
    parser.add_argument("--workers", type=int, default=2,
                        help="local worker processes (default 2)")
    parser.add_argument("--dask-scheduler", metavar="ADDR", default=None,
                        help="run the jobs on this Dask scheduler instead of local processes")
    parser.add_argument("--student", action="append", dest="students", metavar="ID",
                        help="grade only this student (repeatable)")

def run(args):
    from grading.trusted.autograde import AssignmentNotTrusted
    from grading.trusted.parallel import grade_class

    try:
        result = grade_class(args.course_dir, args.assignment, workers=args.workers,
                             scheduler=args.dask_scheduler, students=args.students)
    except AssignmentNotTrusted as refusal:
        print(f"refused: {refusal}")
        return 2
    print(f"graded {len(result.graded)}, already recorded {len(result.skipped)}, failed {len(result.failed)}")
    for student, reason in sorted(result.failed.items()):
        print(f"  {student}: {reason.splitlines()[-1] if reason else 'unknown error'}")
    return 1 if result.failed else 0

