"""Enter the sandbox, then run the student-side command in it (runs as root, stdlib only).

Executed as a script by :mod:`grading.trusted.sandbox.runner`::

    python -I enter.py SPEC.json

SPEC.json (root-owned, unreadable by the sandbox user) says what to do, step by step:

1. ``unshare`` new network (only a downed loopback: no network at all), IPC (SysV shared
   memory, semaphores and message queues of its own, gone with the run) and PID namespaces,
   and fork the PID namespace's first process (PID 1, still root). This process stays outside,
   dies with its own parent (``PR_SET_PDEATHSIG``) and is the only handle the caller has;
2. PID 1, which dies with this process, takes a mount namespace of its own and hides
   directories (shared folders such as /tmp, /run and /work, the repository, the course, the
   data) under empty read-only tmpfs, binding back the few paths inside them that the student
   needs: read-only the venv, the interpreter and ``backprop_labs``, writable the working
   directory (a size-limited tmpfs the runner mounted) and any ``writable`` path; ``masked``
   folders (a package a check forbids) are covered last;
3. PID 1 mounts its own ``/proc``, forks the student's process and reaps orphans until that
   one ends. When PID 1 ends the kernel kills every process of the namespace: nothing the
   student started outlives the run, its caller, or a kill of this process;
4. in the student's process: set the resource limits (address space, CPU seconds, processes,
   file size, open files), drop to the unprivileged uid/gid with no supplementary groups and
   no way back (``PR_SET_NO_NEW_PRIVS`` blocks setuid programs), and install a seccomp filter
   that refuses namespace creation, mounts, ptrace, kernel keyrings, BPF and similar calls no
   exercise needs (defence in depth: they would fail anyway without privileges);
5. ``exec`` the command in the working directory with the given environment.

This process waits for the namespace's first process and ends the way the student's
process ended (exit status or signal), so the caller sees the command's own status.
A step that fails stops here (exit status 120, the reason in ``setup_error`` beside the
spec): the student's command never runs outside the sandbox it asked for.
"""
import ctypes
import json
import os
import platform
import resource
import signal
import struct
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_NEWTIME = 0x00000080
NAMESPACE_FLAGS = (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID
                   | CLONE_NEWNET | CLONE_NEWTIME)
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
MS_NOEXEC = 0x8
MNT_DETACH = 0x2
PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
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


def unmount(target):
    """Detach whatever is mounted on ``target`` (the runner's tmpfs working directory)."""
    _check(_libc.umount2(_b(target), MNT_DETACH), f"umount {target}")


def mount_tmpfs(target, size_bytes, owner):
    """A tmpfs of at most ``size_bytes`` on ``target``, owned by ``owner`` (uid, gid), mode 0700."""
    _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV,
           f"size={size_bytes},mode=0700,uid={owner[0]},gid={owner[1]}")


def isolate_namespaces(network):
    """New IPC, PID (for this process's children) and network namespaces."""
    flags = CLONE_NEWIPC | CLONE_NEWPID | (CLONE_NEWNET if not network else 0)
    _check(_libc.unshare(flags), "unshare")


def isolate_mounts():
    """A mount namespace of its own; mounts made from now on never propagate back to the host's."""
    _check(_libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)


def hide_directories(hidden, kept, writable, masked=()):
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
    for path in masked:  # inside a kept path (a package in the venv): covered after the binds
        _mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k,mode=0555")


def die_with_parent():
    """SIGKILL this process when the process that forked it ends (root sets it: the student cannot undo it)."""
    parent = os.getppid()
    _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")
    if os.getppid() != parent:  # it ended before the setting took effect
        os._exit(SETUP_FAILED)


def _end_like(status):
    """End this process as the wait ``status`` says the student's process ended."""
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        signal.signal(number, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [number])
        os.kill(os.getpid(), number)
        os._exit(128 + number)
    os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else SETUP_FAILED)


_error_pipe = None  # set in the namespace's processes: where a setup failure is reported


def _first_process_of_namespace(spec, report):
    """PID 1 of the run's PID namespace (root): own mounts and /proc, then fork the student's
    process and reap every orphan until it ends; its wait status goes to ``report``. Returns in
    the student's process."""
    die_with_parent()
    isolate_mounts()
    hide_directories(spec["hidden"], spec["kept"], spec["writable"], spec.get("masked", ()))
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    student = os.fork()
    if student == 0:
        os.close(report)
        return
    os.close(_error_pipe)
    for fd in (0, 1, 2):
        os.close(fd)
    while True:
        pid, status = os.wait()
        if pid == student:
            os.write(report, struct.pack("i", status))
            os._exit(0)  # the kernel now kills whatever the student's process left


def supervise_namespace(spec, spec_path):
    """Fork PID 1 of the run's namespaces; in this process (which stays in the host's mount
    namespace, to write ``setup_error``) wait for it and end as the student's process ended.
    Returns only in the student's process."""
    global _error_pipe
    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # interrupts are for the student's process (same group)
    isolate_namespaces(spec["network"])
    status_read, status_write = os.pipe()
    error_read, error_write = os.pipe()
    first = os.fork()
    if first == 0:
        os.close(status_read), os.close(error_read)
        _error_pipe = error_write
        _first_process_of_namespace(spec, status_write)
        return
    os.close(status_write), os.close(error_write)
    for fd in (0, 1, 2):
        os.close(fd)
    _, first_status = os.waitpid(first, 0)
    error = os.read(error_read, 4096)
    if error:
        _write_setup_error(spec_path, error.decode("utf-8", errors="replace"))
    reported = os.read(status_read, 4)
    _end_like(struct.unpack("i", reported)[0] if len(reported) == 4 else first_status)


# ----------------------------------------------------------------------------- seccomp
# System calls refused (EPERM) in the student's process, by machine: namespaces and mounts,
# tracing other processes, loading kernel code, BPF, keyrings, io_uring (its requests escape
# this filter), and administrative calls. clone is allowed without namespace flags (threads,
# fork); clone3 answers ENOSYS so that libc falls back to clone, whose flags can be checked
# (clone's low byte is the exit signal, so CLONE_NEWTIME, 0x80, is not a namespace flag there).
SYSCALLS = {
    "x86_64": dict(
        audit_arch=0xC000003E, clone=56, clone3=435, x32_bit=0x40000000,
        refused=dict(unshare=272, setns=308, mount=165, umount2=166, pivot_root=155, chroot=161, ptrace=101,
                     process_vm_readv=310, process_vm_writev=311, kexec_load=246, kexec_file_load=320,
                     init_module=175, finit_module=313, delete_module=176, bpf=321, perf_event_open=298,
                     userfaultfd=323, keyctl=250, add_key=248, request_key=249, name_to_handle_at=303,
                     open_by_handle_at=304, io_uring_setup=425, io_uring_enter=426, io_uring_register=427,
                     open_tree=428, move_mount=429, fsopen=430, fsconfig=431, fsmount=432, fspick=433,
                     mount_setattr=442, swapon=167, swapoff=168, reboot=169, acct=163, syslog=103,
                     personality=135, settimeofday=164, clock_settime=227, adjtimex=159)),
    "aarch64": dict(
        audit_arch=0xC00000B7, clone=220, clone3=435, x32_bit=None,
        refused=dict(unshare=97, setns=268, mount=40, umount2=39, pivot_root=41, chroot=51, ptrace=117,
                     process_vm_readv=270, process_vm_writev=271, kexec_load=104, kexec_file_load=294,
                     init_module=105, finit_module=273, delete_module=106, bpf=280, perf_event_open=241,
                     userfaultfd=282, keyctl=219, add_key=217, request_key=218, name_to_handle_at=264,
                     open_by_handle_at=265, io_uring_setup=425, io_uring_enter=426, io_uring_register=427,
                     open_tree=428, move_mount=429, fsopen=430, fsconfig=431, fsmount=432, fspick=433,
                     mount_setattr=442, swapon=224, swapoff=225, reboot=142, acct=89, syslog=116,
                     personality=92, settimeofday=170, clock_settime=112, adjtimex=171)),
}
_LOAD_WORD, _JUMP_EQUAL, _JUMP_AT_LEAST, _JUMP_ANY_BIT, _RETURN = 0x20, 0x15, 0x35, 0x45, 0x06
_ALLOW, _KILL_PROCESS, _ERRNO = 0x7FFF0000, 0x80000000, 0x00050000
_EPERM, _ENOSYS = 1, 38
_NR, _ARCH, _ARG0 = 0, 4, 16   # offsets in struct seccomp_data (arg0's low 32 bits: little endian)


def seccomp_program(machine):
    """The filter as ``(code, jt, jf, k)`` instructions for ``machine`` (``platform.machine()``)."""
    table = SYSCALLS.get(machine)
    if table is None:
        raise OSError(f"no seccomp table for machine {machine!r}: refusing to run without it")
    refused = sorted(table["refused"].values())
    program = [(_LOAD_WORD, 0, 0, _ARCH), (_JUMP_EQUAL, 1, 0, table["audit_arch"]),
               (_RETURN, 0, 0, _KILL_PROCESS), (_LOAD_WORD, 0, 0, _NR)]
    if table["x32_bit"] is not None:  # x32 numbering would bypass the table
        program += [(_JUMP_AT_LEAST, 0, 1, table["x32_bit"]), (_RETURN, 0, 0, _ERRNO | _EPERM)]
    program += [(_JUMP_EQUAL, 0, 1, table["clone3"]), (_RETURN, 0, 0, _ERRNO | _ENOSYS),
                (_JUMP_EQUAL, 0, 3, table["clone"]), (_LOAD_WORD, 0, 0, _ARG0),
                (_JUMP_ANY_BIT, 0, 1, NAMESPACE_FLAGS & ~CLONE_NEWTIME), (_RETURN, 0, 0, _ERRNO | _EPERM)]
    # After the clone block the accumulator may hold arg0: reload the number once more.
    program += [(_LOAD_WORD, 0, 0, _NR)]
    for position, number in enumerate(refused):
        program.append((_JUMP_EQUAL, len(refused) - position, 0, number))
    program += [(_RETURN, 0, 0, _ALLOW), (_RETURN, 0, 0, _ERRNO | _EPERM)]
    return program


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_SockFilter))]


def install_seccomp_filter():
    """Install :func:`seccomp_program` for this thread (needs ``PR_SET_NO_NEW_PRIVS`` first)."""
    program = seccomp_program(platform.machine())
    instructions = (_SockFilter * len(program))(*(_SockFilter(*step) for step in program))
    fprog = _SockFprog(len(program), instructions)
    _check(_libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0), "prctl(PR_SET_SECCOMP)")


def set_limits(limits):
    for name, value in limits.items():
        soft, hard = (value, value) if not isinstance(value, list) else value
        resource.setrlimit(RLIMITS[name], (soft, hard))


def drop_privileges(uid, gid):
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")


def enter(spec, spec_path):
    """Steps 1-4 and the working directory: returns in the student's process, inside the sandbox
    (the processes that supervise it never return)."""
    global _error_pipe
    if spec["isolate"]:
        supervise_namespace(spec, spec_path)
    set_limits(spec["limits"])
    if spec["isolate"]:
        drop_privileges(spec["uid"], spec["gid"])
        install_seccomp_filter()
    os.chdir(spec["workdir"])
    if _error_pipe is not None:  # the student's code must not write "setup errors"
        os.close(_error_pipe)
        _error_pipe = None


def read_spec(spec_path):
    with open(spec_path) as handle:
        return json.load(handle)


def report_setup_error(spec_path, error):
    """Any failure: refuse to run the student's code. Reported in a root-only file next to the
    spec, which the student's code can never write: an exit status or stderr could be imitated.
    Inside the namespaces (the spec's folder is hidden there) the message goes up a pipe to the
    supervising process, which writes the file."""
    message = f"{type(error).__name__}: {error}"
    if _error_pipe is not None:
        os.write(_error_pipe, message.encode()[:4096])
    else:
        _write_setup_error(spec_path, message)


def _write_setup_error(spec_path, message):
    with open(os.path.join(os.path.dirname(spec_path), "setup_error"), "w") as report:
        report.write(message)


def main(spec_path):
    spec = read_spec(spec_path)
    enter(spec, spec_path)
    os.execve(spec["argv"][0], spec["argv"], spec["env"])


if __name__ == "__main__":
    try:
        main(sys.argv[1])
    except Exception as error:
        report_setup_error(sys.argv[1], error)
        sys.exit(SETUP_FAILED)
