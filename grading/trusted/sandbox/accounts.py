"""Unprivileged accounts for sandboxed runs: one system user per concurrent slot.

Each run holds a *slot* (an exclusive ``flock`` on ``locks/slot-K``) and runs as the
system user ``backprop-sbxK``. A user of its own per concurrent run gives every run its
own process count (``RLIMIT_NPROC`` is per user, so one student's fork bomb cannot starve
another's run) and lets the trusted side end everything the run left behind, even
processes that left its process group, by signalling every process of that uid.

Users are created on first use with ``useradd --system`` (no home, no login shell), so a
fresh machine needs nothing set up by hand; this needs root.
"""
import fcntl
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

USER_PREFIX = "backprop-sbx"
USERADD_ATTEMPTS = 40   # about 40 s of waiting in all for the password file's lock
MAX_SLOTS = 64
SANDBOX_ROOT_VARIABLE = "BACKPROP_LABS_SANDBOX_ROOT"


class SandboxUnavailable(RuntimeError):
    """The machine cannot provide the isolation asked for (e.g. not running as root)."""


@dataclass(frozen=True)
class Slot:
    """A reserved sandbox account and its private directories."""

    index: int
    uid: int
    gid: int
    user: str
    workdir: Path   # owned by the slot's user: the student's only writable place (a tmpfs while a run uses it)
    private: Path   # root-only: the run's spec, staging mounts, results read back


def sandbox_root_path():
    """Where :func:`sandbox_root` is (nothing created)."""
    return Path(os.environ.get(SANDBOX_ROOT_VARIABLE) or Path(tempfile.gettempdir()) / "backprop-labs-sandbox")


def sandbox_root():
    """Directory holding every slot: root-owned, mode 0711 (enter, but not list)."""
    root = sandbox_root_path()
    root.mkdir(mode=0o711, exist_ok=True)
    os.chmod(root, 0o711)
    (root / "locks").mkdir(mode=0o700, exist_ok=True)
    return root


def ensure_user(name):
    """The passwd entry of ``name``, created as a locked system user if missing."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    if os.geteuid() != 0:
        raise SandboxUnavailable(f"sandbox user {name} does not exist and only root can create it")
    command = ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
               "--shell", "/usr/sbin/nologin", "--comment", "backprop-labs grading sandbox", name]
    # Runs starting side by side on a fresh machine create their users at once, and useradd refuses
    # while another holds the lock on /etc/passwd or /etc/group. The runs of this course take turns
    # (a lock of their own, waited for without a time limit: on a loaded machine each useradd takes
    # seconds, and a bounded number of retries ran out in the test suite); the retries below only
    # wait for some other program that holds the password files' lock.
    with _user_creation_turn():
        try:
            return pwd.getpwnam(name)   # created by the run that had the turn before
        except KeyError:
            pass
        for attempt in range(USERADD_ATTEMPTS):
            completed = subprocess.run(command, capture_output=True, text=True)
            if completed.returncode in (0, 9):  # 9: created meanwhile (by a run of another sandbox root)
                return pwd.getpwnam(name)
            if "lock" not in completed.stderr.lower():
                break
            time.sleep(0.05 * (attempt + 1))
    raise SandboxUnavailable(f"could not create sandbox user {name}: {completed.stderr.strip()}")


@contextmanager
def _user_creation_turn():
    """Held while this process creates a sandbox user: one creation at a time on the machine (the lock
    file is in ``/run``, not the sandbox root, which a test or an instructor may move)."""
    folder = Path("/run/backprop-labs-sandbox")
    folder.mkdir(mode=0o700, exist_ok=True)
    with open(folder / "useradd.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)   # released when the file closes
        yield


def kill_all_processes_of(uid, gid):
    """SIGKILL every process of ``uid``; repeated because a fork bomb may race one kill.

    ``kill -KILL -1`` run *as* ``uid`` signals exactly that user's processes (never
    itself) and fails once none is left.
    """
    for _ in range(50):
        ended = subprocess.run(["/bin/kill", "-KILL", "-1"], user=uid, group=gid, extra_groups=[],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
        if ended.returncode != 0:
            return


def _reset_directory(path, mode, owner=None):
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(mode=mode)
    os.chmod(path, mode)
    if owner is not None:
        os.chown(path, *owner)


@contextmanager
def reserve_slot():
    """Hold a free slot for the duration of the block; clean it before and after use."""
    root = sandbox_root()
    for index in range(MAX_SLOTS):
        lock = open(root / "locks" / f"slot-{index}", "a")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        break
    else:
        raise SandboxUnavailable(f"all {MAX_SLOTS} sandbox slots are busy")
    try:
        entry = ensure_user(f"{USER_PREFIX}{index}")
        slot_dir = root / f"slot-{index}"
        slot = Slot(index, entry.pw_uid, entry.pw_gid, entry.pw_name,
                    workdir=slot_dir / "work", private=slot_dir / "private")
        _clean(slot, slot_dir)
        try:
            yield slot
        finally:
            _clean(slot, slot_dir)
    finally:
        lock.close()


def _clean(slot, slot_dir):
    """End what an earlier run of this slot left (even a killed grader's), take down its tmpfs
    working directory and empty its folders."""
    from .enter import unmount

    kill_all_processes_of(slot.uid, slot.gid)
    while os.path.ismount(slot.workdir):
        unmount(slot.workdir)
    _reset_directory(slot_dir, 0o711)
    _reset_directory(slot.workdir, 0o700, owner=(slot.uid, slot.gid))
    _reset_directory(slot.private, 0o700)
