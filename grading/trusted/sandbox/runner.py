"""Run a command in the sandbox and report how it ended.

``run_sandboxed`` takes one :class:`SandboxRequest`. It mounts a size-limited tmpfs as the
working directory of an unprivileged slot user, copies the submission into it, starts
``enter.py`` (as root, or forked from a warm zygote) which isolates the process and runs the
command as that user, enforces the wall-clock limit by killing the run (which ends every
process of its PID namespace), then ends every process the user still has and reads back the
result files. Nothing the command prints is trusted: callers read only the files named in
``collect`` and validate them (see :mod:`grading.trusted.results`).
"""
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from backprop_labs.paths import REPOSITORY_ROOT, data_directory

from .accounts import Slot, kill_all_processes_of, reserve_slot
from .enter import mount_tmpfs
from grading.course.submission_files import copy_submission

from .files import read_back
from .limits import MIB, Limits
from .zygote import Zygote, ZygoteError, ZygoteRun, fork_run

ENTER_SCRIPT = Path(__file__).with_name("enter.py")
OUTPUT_DIR = "out"
GRADER_DIR = ".grader"
TAIL_BYTES = 4000
ISOLATED = "isolated: own uid, no network, hidden course/repository, resource limits"
LIMITS_ONLY = "NOT ISOLATED (not running as root): resource limits only"


@dataclass
class SandboxRun:
    """How a sandboxed command ended, and what it left in ``out/``."""

    returncode: int | None
    timed_out: bool
    wall_seconds: float
    stdout: str
    stderr: str
    isolation: str
    uid: int = -1
    outputs: dict = field(default_factory=dict)   # name -> bytes, None if absent
    output_errors: dict = field(default_factory=dict)  # name -> why it was refused
    skipped_files: list = field(default_factory=list)  # Refused entries of the submission, not copied
    setup_error: str = ""  # why enter.py refused to start the command (root-only report)
    forked_from: int | None = None  # pid of the zygote the run was forked from, if any

    @property
    def signal_name(self):
        if self.returncode is not None and self.returncode < 0:
            return signal.Signals(-self.returncode).name
        return None

    @property
    def setup_failed(self):
        return bool(self.setup_error)


# Folders where world-readable copies of solutions, other students' work or credentials may
# lie on a grading machine. The sandbox sees none of them, except the kept paths below.
# /run holds /run/lock, writable by everyone and kept between runs.
SHARED_FOLDERS = ("/tmp", "/var/tmp", "/dev/shm", "/run", "/home", "/root", "/work", "/srv", "/mnt", "/media")


def default_hidden_directories(extra=()):
    """Directories the student never sees: the shared folders, this repository (solutions,
    grader, git history), the data directory, and ``extra`` (the course directory)."""
    return [*map(Path, SHARED_FOLDERS), REPOSITORY_ROOT, data_directory(), *map(Path, extra)]


def kept_paths():
    """Paths inside hidden directories that the student's Python needs, read-only: the venv,
    the interpreter it was made from (pyenv keeps it under /root) and ``backprop_labs``."""
    return [Path(sys.prefix), Path(sys.base_prefix), REPOSITORY_ROOT / "backprop_labs"]


def _outermost(paths):
    paths = sorted({Path(p).resolve() for p in paths if Path(p).is_dir()}, key=lambda p: len(p.parts))
    chosen = []
    for path in paths:
        if not any(path.is_relative_to(parent) for parent in chosen):
            chosen.append(path)
    return chosen


def mount_plan(workdir, hidden, extra_kept=(), extra_writable=()):
    """For ``enter.py``: the outermost hidden folders, the read-only paths kept inside them,
    and the working directory and ``extra_writable`` paths that lie inside one (kept writable)."""
    hidden = _outermost(hidden)

    def inside_hidden(path):
        return any(path.is_relative_to(h) for h in hidden)

    kept = [p.resolve() for p in [*kept_paths(), *map(Path, extra_kept)]
            if p.exists() and inside_hidden(p.resolve())]
    writable = [str(path) for path in (Path(p).resolve() for p in [workdir, *extra_writable]) if inside_hidden(path)]
    return [str(p) for p in hidden], [str(p) for p in kept], writable


# One thread per library: threads count against the process limit, each malloc arena
# reserves address space, and parallel runs share the cores anyway.
SINGLE_THREADED = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                   "MALLOC_ARENA_MAX": "2"}


def student_environment(workdir, user):
    environment = {
        "PATH": "/usr/bin:/bin", "HOME": str(workdir), "USER": user, "LOGNAME": user,
        "LANG": "C.UTF-8", "TMPDIR": str(Path(workdir) / "tmp"), "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(Path(workdir) / "tmp"), "PYTHONDONTWRITEBYTECODE": "1",
        **SINGLE_THREADED,
    }
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # needed by OpenBLAS on some CPUs
        if name in os.environ:
            environment[name] = os.environ[name]
    return environment


@contextmanager
def _unisolated_slot():
    """Fallback when not root: a private temp folder and the current user."""
    with tempfile.TemporaryDirectory(prefix="backprop-labs-unisolated-") as scratch:
        scratch = Path(scratch)
        (scratch / "work").mkdir()
        (scratch / "private").mkdir(mode=0o700)
        yield Slot(-1, os.getuid(), os.getgid(), "current-user", scratch / "work", scratch / "private")


# A grading run's random tag, inherited by every process it starts: a later run finds what a
# killed one left by it (``grading.trusted.parallel.claim_course``).
RUN_TAG_VARIABLE = "BACKPROP_LABS_GRADING_RUN"


def zygote_environment():
    """A zygote's own environment: what its imports see (one thread per library, as in every run),
    and the grading run's tag."""
    environment = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "MPLBACKEND": "Agg", **SINGLE_THREADED}
    environment.update({name: os.environ[name] for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                                                            RUN_TAG_VARIABLE) if name in os.environ})
    return environment


def zygote_flags(argv):
    """The interpreter flags of a zygote whose runs behave as the ``python`` command ``argv``."""
    return ("-I",) if argv[1:2] == ["-I"] else ("-E", "-s")


_ZYGOTES = {}   # (preload, flags) -> zygotes of this process; each serves one user at a time
_ZYGOTES_LOCK = threading.Lock()


@contextmanager
def leased_zygote(preload, flags):
    """The socket of a zygote of this process with ``preload`` imported, held for the block: an
    idle one, or a new one (threads grading side by side, e.g. in a Dask worker, and kernels
    running side by side each get their own); None when none can start."""
    key = (tuple(preload), tuple(flags))
    with _ZYGOTES_LOCK:
        zygotes = _ZYGOTES.setdefault(key, [])
        zygotes[:] = [zygote for zygote in zygotes if zygote.alive]
        zygote = next((zygote for zygote in zygotes if zygote.lock.acquire(blocking=False)), None)
    if zygote is None:
        try:
            zygote = Zygote(*key, zygote_environment())
        except ZygoteError:  # e.g. a preloaded module fails to import: a fresh python reports it per run
            yield None
            return
        zygote.lock.acquire()
        with _ZYGOTES_LOCK:
            _ZYGOTES[key].append(zygote)
    try:
        yield zygote.path
    finally:
        zygote.lock.release()


@dataclass(frozen=True)
class SandboxRequest:
    """What one sandboxed run does (``argv[0]`` may be ``"python"``: the venv's interpreter).

    ``submission``: folder copied into the working directory (the command's cwd), links and
    special files left out; ``grader_files``: name -> bytes, written read-only under ``.grader/``;
    ``hidden``: more folders to hide (the course directory); ``collect``: file names read
    back from ``out/`` after the run; ``stdin_data``: bytes on the command's stdin (e.g.
    the nonce; stdin is closed after it). ``require_isolation=False`` allows the limits-only
    fallback when not root (the result says so in ``isolation``). ``extra_kept``: more paths
    left visible read-only (e.g. the data directory); ``extra_writable``: more paths left
    writable (the kernel's socket folder); ``masked``: folders inside kept paths covered by an
    empty read-only tmpfs (a package the run must not import); ``extra_env``: more environment variables;
    ``prepare(slot)`` runs (as root) before the command starts, ``started(process)`` right
    after. ``preload``: for ``["python", ...]``, modules a warm interpreter imports once per
    grading process; each run is then forked from it (:mod:`.zygote`) instead of starting a
    fresh Python (isolated runs only). ``zygote``: the socket of a zygote that another process
    leased for this run (:func:`leased_zygote`; the kernel launcher's), instead of ``preload``.
    """

    argv: tuple
    submission: object = None
    grader_files: dict = None
    limits: Limits = Limits()
    hidden: tuple = ()
    collect: tuple = ()
    stdin_data: bytes = None
    max_output_bytes: int = 16 * MIB
    require_isolation: bool = True
    extra_kept: tuple = ()
    extra_writable: tuple = ()
    masked: tuple = ()
    extra_env: dict = None
    prepare: object = None
    started: object = None
    preload: tuple = ()
    zygote: object = None


def run_sandboxed(request, **fields):
    """Run a :class:`SandboxRequest` in the sandbox; returns a :class:`SandboxRun`.

    ``run_sandboxed(argv, limits=..., ...)`` builds the request from its fields.
    """
    if not isinstance(request, SandboxRequest):
        request = SandboxRequest(request, **fields)
    elif fields:
        raise TypeError("pass either a SandboxRequest or argv and fields, not both")
    is_root = os.geteuid() == 0
    if not is_root and request.require_isolation:
        from .accounts import SandboxUnavailable
        raise SandboxUnavailable("isolation needs root (user switch, network and mount namespaces); "
                                 "pass require_isolation=False to run with resource limits only")
    slot_context = reserve_slot() if is_root else _unisolated_slot()
    with slot_context as slot:
        owner = (slot.uid, slot.gid)
        if is_root:
            mount_tmpfs(slot.workdir, request.limits.disk_bytes, owner)
        # half the run's disk for the submission's files, half for what the code writes; no bytecode:
        # what runs is the .py the student shows
        skipped = (copy_submission(request.submission, slot.workdir, request.limits.disk_bytes // 2, owner,
                                   bytecode=False)
                   if request.submission else [])
        _write_grader_files(slot.workdir / GRADER_DIR, request.grader_files or {})
        for name in (OUTPUT_DIR, "tmp"):
            (slot.workdir / name).mkdir(mode=0o700, exist_ok=True)
            os.chown(slot.workdir / name, *owner)
        ipython_dir = _fresh_folder(slot.workdir / "tmp", "ipython-", owner)
        hidden_dirs, kept, writable = mount_plan(slot.workdir, default_hidden_directories(request.hidden),
                                                 request.extra_kept, request.extra_writable)
        argv = request.argv
        spec = {
            "isolate": is_root, "network": False, "hidden": hidden_dirs, "kept": kept, "writable": writable,
            "masked": [str(path) for path in request.masked],
            "limits": request.limits.rlimits(),
            "uid": slot.uid, "gid": slot.gid, "workdir": str(slot.workdir),
            "argv": [sys.executable if argv[0] == "python" else argv[0], *argv[1:]],
            "env": {**student_environment(slot.workdir, slot.user), "IPYTHONDIR": str(ipython_dir),
                    **(request.extra_env or {})},
        }
        spec_path = slot.private / "spec.json"
        spec_path.write_text(json.dumps(spec))
        if request.prepare is not None:
            request.prepare(slot)
        python = is_root and argv[0] in ("python", sys.executable)
        warm = python and request.zygote is None and bool(request.preload)
        forker = leased_zygote(request.preload, zygote_flags(list(argv))) if warm else nullcontext(
            request.zygote if python else None)
        with forker as zygote:
            run = _run_and_wait(spec_path, slot, request.limits, request.stdin_data, request.started, zygote)
        setup_error = slot.private / "setup_error"
        run.setup_error = setup_error.read_text() if setup_error.exists() else ""
        run.isolation = ISOLATED if is_root else LIMITS_ONLY
        run.uid = slot.uid
        run.skipped_files = skipped
        for name in request.collect:
            try:
                run.outputs[name] = read_back(slot.workdir / OUTPUT_DIR, name, request.max_output_bytes)
            except ValueError as error:
                run.outputs[name], run.output_errors[name] = None, str(error)
        return run


def _fresh_folder(parent, prefix, owner):
    """A new empty folder in ``parent`` under a name no submission can have chosen, owned by ``owner``.

    IPython's folder (``IPYTHONDIR``) is one: by default it is ``$HOME/.ipython``, and ``HOME`` is the
    submission's copy, whose ``.ipython/profile_default/startup/`` scripts would run at kernel start."""
    folder = Path(parent) / f"{prefix}{secrets.token_hex(8)}"
    folder.mkdir(mode=0o700)
    os.chown(folder, *owner)
    return folder


def _write_grader_files(directory, files):
    directory.mkdir(mode=0o755, exist_ok=True)
    for name, content in files.items():
        path = directory / name
        path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)   # a name may hold folders (released/labs/...)
        path.write_bytes(content)
        os.chmod(path, 0o644)


def _start(spec_path, stdout, stderr, stdin_data, zygote):
    """The run's process: forked by the zygote listening on ``zygote``, or a fresh ``python enter.py SPEC``."""
    if zygote:
        try:
            return fork_run(zygote, spec_path, stdout.name, stderr.name, stdin_data)
        except ZygoteError:  # gone or unreachable: this run starts a fresh python instead
            pass
    process = subprocess.Popen(
        [sys.executable, "-I", str(ENTER_SCRIPT), str(spec_path)],
        stdin=subprocess.PIPE, stdout=stdout, stderr=stderr, start_new_session=True,
        close_fds=True,
    )
    try:
        if stdin_data:
            process.stdin.write(stdin_data)
        process.stdin.close()
    except BrokenPipeError:  # the command ended without reading its input
        pass
    return process


def _run_and_wait(spec_path, slot, limits, stdin_data, started=None, zygote=None):
    with open(slot.private / "stdout", "w+b") as stdout, open(slot.private / "stderr", "w+b") as stderr:
        start_time = time.monotonic()
        process = _start(spec_path, stdout, stderr, stdin_data, zygote)
        timed_out = False
        try:
            if started is not None:
                started(process)
            process.wait(timeout=limits.wall_seconds)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            _kill_group(process.pid)
            if isinstance(process, ZygoteRun):
                process.kill()  # also before the child's setsid, when it has no group yet
            process.wait()
            if slot.index >= 0:
                kill_all_processes_of(slot.uid, slot.gid)
        wall = time.monotonic() - start_time
        return SandboxRun(process.returncode, timed_out, wall, _tail(stdout), _tail(stderr), isolation="",
                          forked_from=getattr(process, "zygote_pid", None))


def _kill_group(pgid):
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _tail(handle):
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    handle.seek(max(0, size - TAIL_BYTES))
    return handle.read().decode("utf-8", errors="replace")
