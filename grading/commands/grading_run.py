"""Grade one assignment of a built course, whole class to grade files: the one grading path.

:func:`grade_assignment` runs, in order:

1. :func:`preflight`: the course is built, its folder and the grade files' folder writable (and what
   an earlier run wrote, by this user), the disk has room, and (for
   trusted grading) this process can start the sandbox; otherwise one sentence says what to
   do, before any student is touched; then the run claims the course
   (:func:`~grading.trusted.parallel.claim_course`: what a killed earlier run left is ended);
2. collection from a submissions folder (when given; an LMS download or nbgrader's exchange inbox is first
   mapped to the roster's students by :mod:`grading.course.lms`): an id that breaks the rules is refused
   for that student alone, a folder holding another assignment's work is not collected (the
   whole folder is refused when none holds this assignment's);
3. :func:`~grading.course.submissions.prepare_submission` per student: a notebook that cannot
   be graded (empty, unreadable, another assignment's, missing) gets its reason and scores 0,
   duplicated graded cells are repaired;
4. autograde: trusted (sandboxed kernels, scores computed outside the student's kernel;
   :mod:`grading.trusted.parallel`) or, with ``in_kernel``, nbgrader's own; then each graded
   folder drops the large files that are not notebooks or modules (kept once, in ``submitted/``);
5. feedback pages; 6. ``X.csv``, ``X-cells.csv`` and ``X-problems.csv``: every student of the
   class has a row, with 0 and the reason when nothing could run, whatever part of the class this run
   graded (:mod:`grading.course.class_record` keeps what earlier runs found); ``X-causes.csv``: the
   diagnosed causes of every graded student's failing checks (trusted grading only);
7. the class report (:mod:`grading.course.class_report`): ``COURSE/reports/ASSIGNMENT.html`` and ``.csv``.
"""
import csv
import os
import shutil
import tempfile
from pathlib import Path

from grading.course.causes import cause_rows, causes_path, write_causes
from grading.course.class_record import RECORD_DIR, read_record, update_record, write_record
from grading.course.class_report import write_class_report
from grading.course.nbgrader_api import CONFIG_NAME
from grading.course.pipeline import (GRADEBOOK, KEPT_FILE_BYTES, CourseError, autograde, cell_scores,
                                     export_grades, export_paths, feedback_page, generate_feedback,
                                     kept_only_in_submitted, trim_graded_copy)
from grading.course.lms import STAGING_DIR, download_bytes, is_download, stage_download
from grading.course.roster import roster_students
from grading.course.run_record import GradingRun
from grading.course.submission_files import copied_sizes, refused_line
from grading.course.submissions import (COLLECTED_DIR, NOT_COLLECTED_DIR, TIMESTAMP, collect_submissions, id_problem,
                                        prepare_submission, student_files, submitted_ids)

MIB = 1 << 20
SPARE_DISK = 200 * MIB          # gradebook, logs, job copies and feedback pages of a small class
NOT_ROOT = ("trusted grading needs root (the sandbox switches to unprivileged users and makes namespaces): "
            "run the command as root, e.g. `sudo -E $(which backprop-labs) grade ...`, or add --in-kernel to "
            "grade with plain nbgrader, whose scores a submission can change")


def _disk_needed(folders):
    """What grading keeps of the student ``folders``: all of what the copy takes (:func:`copied_sizes`:
    at most the submission limit per student; a file over it is refused unread, a sparse 100 GB file
    costs nothing) in ``submitted/``, and each file up to ``KEPT_FILE_BYTES`` in ``autograded/`` and in
    ``feedback/`` (the notebooks and modules, kept whole, are far smaller). Sizes as listed by the safe
    walk: nothing is opened."""
    needed = 0
    for folder in folders:
        sizes = copied_sizes(folder, skip=(TIMESTAMP,))
        needed += sum(sizes) + 2 * sum(min(size, KEPT_FILE_BYTES) for size in sizes)
    return needed


def _student_folders(assignment, submissions=None, course_dir=None):
    """The folders grading copies: each student's files in ``submissions`` (as collection finds them),
    or, without it, ``course_dir/submitted/<student>/<assignment>``."""
    if submissions is not None:
        return [student_files(folder, assignment) for folder in sorted(Path(submissions).iterdir())
                if folder.is_dir() and not folder.is_symlink()]
    return [Path(course_dir) / "submitted" / student / assignment.name
            for student in submitted_ids(course_dir, assignment)]


# What a grading run writes in the course folder: a user other than the one who graded before
# (root, for trusted grading) must be able to write each of them.
WRITTEN = (GRADEBOOK, ".trusted-grading", "submitted", "autograded", "feedback", "grades", "logs", "reports",
           RECORD_DIR, COLLECTED_DIR, NOT_COLLECTED_DIR, STAGING_DIR)


def _not_writable(folder):
    """Why no file can be created in ``folder`` (or, when it does not exist yet, the nearest folder
    above it that does), or ``None`` when one can: tried, since permissions alone do not tell (``/proc``)."""
    folder = Path(folder)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as error:
        return error.strerror or str(error)
    return None


def preflight(course_dir, assignment, trusted=True, submissions=None, csv_path=None):
    """Raise ``CourseError`` with one sentence when grading cannot start; touch no student."""
    course_dir = Path(course_dir)
    try:
        built = (course_dir / CONFIG_NAME).is_file() and (course_dir / "source" / assignment.name).is_dir()
    except PermissionError as error:   # e.g. a course that a run as root made root-only, read by another user
        raise CourseError(f"this user cannot read the course folder {course_dir} ({error.strerror}): run as "
                          "the user who graded it (root for trusted grading, e.g. `sudo -E $(which backprop-labs) "
                          "grade ...`), or give the course to this user first") from None
    if not built:
        raise CourseError(f"{course_dir} is not a built course for {assignment.name}: "
                          f"run `backprop-labs course build {course_dir}` first")
    download = submissions is not None and is_download(submissions)
    if submissions is not None and not download and not Path(submissions).is_dir():
        what = "is not a zip file" if Path(submissions).is_file() else "does not exist"
        raise CourseError(f"the submissions folder {submissions} {what}: give the folder that holds "
                          "one sub-folder per student, or an LMS download (a Canvas or Moodle zip)")
    reason = _not_writable(course_dir)
    if reason:
        raise CourseError(f"cannot write in the course folder {course_dir} ({reason}): grading writes "
                          "submitted/, autograded/, feedback/ and gradebook.db there, so make it writable "
                          "(or copy it to a writable disk) and run again")
    reason = csv_path is not None and _not_writable(Path(csv_path).parent)
    if reason:
        raise CourseError(f"cannot write the grade files in {Path(csv_path).parent} ({reason}): give --csv a "
                          "file in a folder you can write")
    if download:   # staged once, then copied as a submissions folder (each file up to the kept size twice more)
        needed = 3 * download_bytes(submissions) + SPARE_DISK
    else:
        needed = _disk_needed(_student_folders(assignment, submissions, course_dir)) + SPARE_DISK
    free = shutil.disk_usage(course_dir).free
    if free < needed:
        raise CourseError(f"only {free // MIB} MiB free on the disk of {course_dir}, and grading this class needs "
                          f"about {needed // MIB} MiB: free some space or move the course, then run again")
    if trusted and os.geteuid() != 0:
        raise CourseError(NOT_ROOT)
    locked = [name for name in WRITTEN
              if os.path.lexists(course_dir / name) and not os.access(course_dir / name, os.W_OK)]
    if locked:  # root bypasses permissions: only another user gets here, e.g. --in-kernel after a trusted run
        raise CourseError(f"this user cannot write {', '.join(locked)} in {course_dir} (an earlier grading run as "
                          "root wrote them): run as root, e.g. `sudo -E $(which backprop-labs) grade ...`, or give "
                          f"the course to this user first (`sudo chown -R $USER {course_dir}`)")


def grade_assignment(course_dir, assignment, submissions=None, csv_path=None, workers=2, scheduler=None,
                     students=None, in_kernel=False, assignments=(), progress=True, allow_torch=()):
    """Steps 1-6 above for ``assignment``; returns a :class:`GradingRun`.

    ``students``: grade only these ids (the export still lists the whole class).
    ``csv_path``: default ``COURSE/grades/<assignment>.csv``. ``assignments``: the course's
    assignments, to recognize another assignment's notebook. ``allow_torch``: names of NumPy trusted
    checks whose student code may use torch in this run.
    """
    course_dir = Path(course_dir).resolve()
    csv_path = Path(csv_path or course_dir / "grades" / f"{assignment.name}.csv")
    preflight(course_dir, assignment, trusted=not in_kernel, submissions=submissions, csv_path=csv_path)
    if allow_torch:
        from grading.trusted.check_spec import trusted_checks, with_torch_allowed

        try:
            with_torch_allowed(trusted_checks(), allow_torch)
        except ValueError as error:
            raise CourseError(str(error)) from None
    from grading.trusted.autograde import recorded_checks
    from grading.trusted.parallel import claim_course

    with claim_course(course_dir):  # ends what a killed earlier run left; refuses while another runs
        run, refused_ids, kept_earlier = GradingRun(), None, {}
        repairs = {}   # student -> what was repaired or noted before grading, for their feedback too
        if submissions is not None and is_download(submissions):
            staged = stage_download(course_dir, assignment, submissions, roster_students(course_dir))
            run.unmapped = staged.unmapped
            for student, lines in staged.notes.items():   # marked late, entries of the download not read
                run.notes.setdefault(student, []).extend(lines)
                repairs[student] = list(lines)
            submissions = staged.folder
        if submissions is not None:
            collection = collect_submissions(course_dir, assignment, submissions, assignments or None)
            run.problems.update(collection.refused)
            refused_ids = set(collection.refused)
            for student, reason in collection.foreign.items():
                if (course_dir / "submitted" / student / assignment.name).is_dir():
                    kept_earlier[student] = f"not collected again: {reason} (the submission collected before is graded)"
                else:
                    run.problems[student] = f"{reason}: not collected"
            for student, not_copied in collection.not_copied.items():
                run.notes.setdefault(student, []).append(refused_line(not_copied))
        class_ids = sorted(set(submitted_ids(course_dir, assignment)) | set(run.problems))
        selected = [s for s in class_ids if students is None or s in students]
        for student in selected:
            if student in run.problems:
                continue
            problem = id_problem(student)
            if problem is None:
                try:
                    problem, notes = prepare_submission(course_dir, assignment, student, assignments)
                except OSError as error:   # one student's files never stop the class
                    problem, notes = f"the submission could not be read: {error.strerror or error}", []
                if notes:
                    repairs.setdefault(student, []).extend(notes)
                    run.notes.setdefault(student, []).extend(notes)
            if problem:
                run.problems[student] = problem
        to_grade = [s for s in selected if s not in run.problems]
        if to_grade and in_kernel:
            autograde(course_dir, assignment, to_grade, run=run)
        elif to_grade:
            from grading.trusted.parallel import grade_class

            grade_class(course_dir, assignment.name, workers=workers, scheduler=scheduler, students=to_grade,
                        progress=progress, notes=repairs, allow_torch=allow_torch, run=run)
        # the trusted evidence of every graded student, read once: summary lines now, causes below
        recorded = {} if in_kernel else {student: recorded_checks(course_dir, assignment.name, student)
                                         for student in class_ids if student not in run.problems}
        for student in run.graded:
            ended = ended_checks(recorded.get(student, {}))
            if ended:
                run.notes.setdefault(student, []).extend(ended)
        # a student merged by a run killed before its feedback step has no page yet
        unpaged = [s for s in run.unchanged if not feedback_page(course_dir, assignment, s).is_file()]
        for student in run.graded + unpaged:
            trim_graded_copy(course_dir, assignment, student)
        for student in run.graded + run.unchanged:   # read from submitted/: a killed run's trim is not needed
            note = kept_only_in_submitted(course_dir, assignment, student)
            if note and note not in run.notes.get(student, []):
                run.notes.setdefault(student, []).append(note)
        for student, reason in generate_feedback(course_dir, assignment, run.graded + unpaged).items():
            run.notes.setdefault(student, []).append(reason)  # graded; only the page is missing
        record = update_record(read_record(course_dir, assignment.name), run, set(selected) | set(run.problems),
                               refused_ids)
        write_record(course_dir, assignment.name, record)
        class_outcome(course_dir, assignment, run, record, class_ids, kept_earlier)
        recorded = {student: checks for student, checks in recorded.items() if student not in run.problems}
        # A student whose current submission has a problem scores 0 with the reason, even if an
        # earlier submission of theirs was graded: the grade files describe the submissions as they are.
        grades, cells = export_grades(course_dir, assignment, csv_path, run.problems)
        problems_path = export_paths(csv_path)[2]
        write_problems(problems_path, assignment, run)
        run.files = (grades, cells, problems_path)
        run.causes = causes_path(csv_path)
        if in_kernel:  # nothing diagnosed: an earlier run's causes would describe other scores
            run.causes.unlink(missing_ok=True)
            run.causes = None
        else:
            write_causes(run.causes, [row for student, checks in recorded.items()
                                      for row in cause_rows(assignment.name, student, checks)])
        run.report = write_class_report(course_dir, assignment, csv_path)
        return run


def class_outcome(course_dir, assignment, run, record, class_ids, kept_earlier):
    """Turn ``run``'s ``problems``, ``notes`` and ``logs`` into the whole class's: the updated
    ``record``, plus a reason for each submitted student never graded (a ``--student`` run left them
    out), this run's notes of the students unchanged since graded, and the line of each student whose
    new folder was not collected (``kept_earlier``: not recorded, it concerns this run only)."""
    graded_before = set(cell_scores(course_dir, assignment))
    problems = dict(record.problems)
    for student in class_ids:
        if student not in graded_before and student not in problems:
            problems[student] = (f"submitted, not graded yet: run `backprop-labs grade {course_dir} "
                                 f"{assignment.name}` without --student")
            run.pending.add(student)
    notes = {student: list(lines) for student, lines in record.notes.items() if student not in problems}
    for student in run.unchanged:  # a note may repeat (a cell pasted twice): only this run's are left out when known
        kept = notes.get(student, [])
        notes[student] = kept + [note for note in run.notes.get(student, []) if note not in kept]
    for student, line in kept_earlier.items():
        notes.setdefault(student, []).append(line)
    run.problems = problems
    run.notes = {student: lines for student, lines in notes.items() if lines and student not in problems}
    run.logs = {student: path for student, path in record.logs.items() if student in problems or student in run.notes}


def ended_checks(checks):
    """One summary line per trusted check that ended without a result (its process exited, ran out
    of time or memory): those cells scored 0, and the instructor should know why. ``checks``: a
    student's recorded ``{check name: trusted result JSON}``."""
    return [f"{check.get('title', name)} ended without a result: {(check.get('lines') or [check.get('kind')])[0]}"
            for name, check in checks.items()
            if isinstance(check, dict) and check.get("kind", "graded") != "graded"]


def write_problems(path, assignment, run):
    """One row per student with a problem (not graded) or a repair note (graded)."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["assignment", "student_id", "graded", "reason", "log"])
        for student in sorted(set(run.problems) | set(run.notes)):
            if student in run.problems:
                writer.writerow([assignment.name, student, "no", run.problems[student], run.logs.get(student, "")])
            else:
                writer.writerow([assignment.name, student, "yes", "; ".join(run.notes[student]), run.logs.get(student, "")])
    return path
