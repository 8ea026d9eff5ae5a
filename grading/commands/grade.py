"""``backprop-labs grade``: grade one assignment of a built course, whole class to grade files.

    backprop-labs grade COURSE ASSIGNMENT [--submissions FOLDER] [--csv FILE] [--workers N]
                        [--dask-scheduler ADDR] [--student ID ...] [--allow-torch CHECK ...] [--in-kernel]

Collects ``FOLDER/<student>/`` when given, or an LMS download mapped to the roster (:mod:`grading.course.lms`)
(else grades ``COURSE/submitted/<student>/ASSIGNMENT/``),
autogrades with the trusted checks (needs root; ``--in-kernel`` for plain nbgrader), writes the
feedback pages and ``FILE``, ``FILE-cells.csv`` and ``FILE-problems.csv`` (default
``COURSE/grades/ASSIGNMENT.csv``), ``FILE-causes.csv`` (the diagnosed causes) and the class report
``COURSE/reports/ASSIGNMENT.html`` (see ``backprop-labs course report``).
``backprop-labs course grade`` is the same command.
Exit status: 0 when every student is graded (or, after ``--student``, only waits for a whole-class run),
1 when some could not be (each listed with the reason, also in the problems CSV), 2 when grading could not
start or a step failed.
"""
from pathlib import Path


def add_arguments(parser):
    parser.add_argument("course_dir", type=Path, metavar="COURSE", help="course folder made by `course build`")
    parser.add_argument("assignment", metavar="ASSIGNMENT")
    parser.add_argument("--submissions", type=Path, default=None, metavar="FOLDER",
                        help="collect one sub-folder per student from here first (default: use COURSE/submitted/); "
                             "also a Canvas or Moodle download (zip or folder) or nbgrader's exchange inbox, mapped "
                             "to the students of `course roster`")
    parser.add_argument("--csv", type=Path, default=None, metavar="FILE",
                        help="grade CSV to write, with FILE-cells.csv and FILE-problems.csv beside it "
                             "(default COURSE/grades/ASSIGNMENT.csv)")
    parser.add_argument("--workers", type=int, default=2,
                        help="students graded at a time: this process and N-1 spawned workers (default 2)")
    parser.add_argument("--dask-scheduler", metavar="ADDR", default=None,
                        help="run the jobs on this Dask scheduler instead of local processes")
    parser.add_argument("--student", action="append", dest="students", metavar="ID",
                        help="grade only this student (repeatable; the grade files still list the class)")
    parser.add_argument("--allow-torch", action="append", dest="allow_torch", default=[], metavar="CHECK",
                        help="let the student code of this NumPy trusted check use torch (repeatable), "
                             "e.g. numpy_mlp_backpropagation")
    parser.add_argument("--in-kernel", action="store_true",
                        help="plain nbgrader scores from the student's own kernel (no root needed; "
                             "a submission can change its own scores)")


def run(args):
    from grading.course.assignments import AssignmentError, all_assignments, get_assignment
    from grading.commands.grading_run import grade_assignment
    from grading.course.pipeline import CourseError
    from grading.course.trusted_records import RecordsError
    from grading.trusted.autograde import AssignmentNotTrusted

    try:
        assignment = get_assignment(args.assignment)
        result = grade_assignment(args.course_dir, assignment, submissions=args.submissions, csv_path=args.csv,
                                  workers=args.workers, scheduler=args.dask_scheduler, students=args.students,
                                  in_kernel=args.in_kernel, assignments=all_assignments(),
                                  allow_torch=args.allow_torch)
    except (AssignmentError, CourseError, AssignmentNotTrusted, RecordsError) as error:
        print(f"grade: {error}")
        return 2
    except OSError as error:   # the course's own files (a student's never stop the class): one line, no traceback
        where = f" {error.filename}" if error.filename else ""
        print(f"grade: stopped, cannot use{where} ({error.strerror or error}): check that this user may read "
              "and write the course folder and the grade files, then run again")
        return 2
    how = "in-kernel (plain nbgrader)" if args.in_kernel else "with the trusted checks"
    print(f"{assignment.name}: graded {len(result.graded)} {how}, {len(result.unchanged)} unchanged since "
          f"graded, {len(result.problems)} not graded")
    for line in result.unmapped:
        print(f"  not mapped to a student: {line}")
    for student, reason in sorted(result.problems.items()):
        print(f"  not graded {student}: {reason}")
    for student, notes in sorted(result.notes.items()):
        print(f"  note {student}: {'; '.join(notes)}")
    grades, cells, problems = result.files
    print(f"grades in {grades}, per test cell in {cells}, problems in {problems}; "
          f"feedback in {Path(args.course_dir) / 'feedback'}")
    print(f"class report (what the class got wrong) in {result.report[0]}"
          + (f"; diagnosed causes per student in {result.causes}" if result.causes else ""))
    return 1 if set(result.problems) - result.pending else 0   # waiting for a whole-class run is no failure
