"""Enter the sandbox, then run the student-side command in it (runs as root, stdlib only).

Executed as a script by :mod:`grading.trusted.sandbox.runner`::

    python -I enter.py SPEC.json

SPEC.json (root-owned, unreadable by the sandbox user) says what to do, step by step:

1. ``unshare`` a new network namespace (only a downed loopback: no network at all) and a
   new mount namespace;
2. hide directories (shared folders such as /tmp and /work, the repository, the course,
   the data) under empty read-only tmpfs, binding back the few paths inside them that the
   student needs: read-only the venv, the interpreter and ``backprop_labs``, writable the
   working directory;
3. set the resource limits (address space, CPU seconds, processes, file size, open files);
4. drop to the unprivileged uid/gid with no supplementary groups and no way back
   (``PR_SET_NO_NEW_PRIVS`` blocks setuid programs);
5. ``exec`` the command in the working directory with the given environment.

A step that fails stops here (exit status 120, the reason in ``setup_error`` beside the
spec): the student's command never runs outside the sandbox it asked for.
"""
import ctypes
import json
import os
import resource
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_MOVE = 0x2000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
PR_SET_NO_NEW_PRIVS = 38
SETUP_FAILED = 120

RLIMITS = {
    "address_space": resource.RLIMIT_AS,
    "cpu_seconds": resource.RLIMIT_CPU,
    "processes": resource.RLIMIT_NPROC,
    "file_size": resource.RLIMIT_FSIZE,
    "open_files": resource.RLIMIT_NOFILE,
    "core_size": resource.RLIMIT_CORE,
}

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result, what):
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source, target, fstype, flags, data=None):
    _check(_libc.mount(_b(source), _b(target), _b(fstype), ctypes.c_ulong(flags), _b(data)),
           f"mount {source or fstype} on {target}")


def _b(text):
    return None if text is None else os.fsencode(text)


def isolate_namespaces(network):
    flags = CLONE_NEWNS | (CLONE_NEWNET if not network else 0)
    _check(_libc.unshare(flags), "unshare")
    # Mounts made from now on must not propagate back to the host's namespace.
    _mount(None, "/", None, MS_REC | MS_PRIVATE)


def hide_directories(hidden, kept, writable):
    """Cover each ``hidden`` directory with an empty tmpfs; bind ``kept`` paths back read-only
    and ``writable`` ones (the working directory) as they are.

    The paths to bring back are opened first: once the tmpfs covers their parent they can
    no longer be reached by name, but ``/proc/self/fd/N`` still reaches them.
    """
    handles = [(os.open(path, os.O_PATH | os.O_DIRECTORY), path, path in kept) for path in [*kept, *writable]]
    for path in hidden:
        _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0755")
    for fd, path, read_only in handles:
        os.makedirs(path, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        if read_only:
            _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY)
        os.close(fd)
    for path in hidden:
        _mount(None, path, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def set_limits(limits):
    for name, value in limits.items():
        soft, hard = (value, value) if not isinstance(value, list) else value
        resource.setrlimit(RLIMITS[name], (soft, hard))


def drop_privileges(uid, gid):
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")


def enter(spec):
    """Steps 1-4 and the working directory: from here on this process is inside the sandbox."""
    if spec["isolate"]:
        isolate_namespaces(spec["network"])
        hide_directories(spec["hidden"], spec["kept"], spec["writable"])
    set_limits(spec["limits"])
    if spec["isolate"]:
        drop_privileges(spec["uid"], spec["gid"])
    os.chdir(spec["workdir"])


def read_spec(spec_path):
    with open(spec_path) as handle:
        return json.load(handle)


def report_setup_error(spec_path, error):
    """Any failure: refuse to run the student's code. Reported in a root-only file next to the
    spec, which the student's code can never write: an exit status or stderr could be imitated."""
    with open(os.path.join(os.path.dirname(spec_path), "setup_error"), "w") as report:
        report.write(f"{type(error).__name__}: {error}")


def main(spec_path):
    spec = read_spec(spec_path)
    enter(spec)
    os.execve(spec["argv"][0], spec["argv"], spec["env"])


if __name__ == "__main__":
    try:
        main(sys.argv[1])
    except Exception as error:
        report_setup_error(sys.argv[1], error)
        sys.exit(SETUP_FAILED)
