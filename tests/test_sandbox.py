"""The sandbox: who the student's code runs as, what it can see, reach and change, and how
its results are read back."""
import io
import json
import os
import pwd
import sys
from pathlib import Path

import numpy as np
import pytest

from grading.trusted.sandbox import GIB, ISOLATED, Limits, SandboxUnavailable, run_sandboxed
from grading.trusted.sandbox.files import read_back
from grading.trusted.results import ResultRejected, read_arrays, read_check_statuses, read_status

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox's isolation needs root (CI runs as root)")

PROBE = r'''
import json, os, socket, sys
seen = {"uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(), "cwd_files": sorted(os.listdir("."))}
def attempt(name, action):
    try:
        seen[name] = ["ok", action()]
    except Exception as error:
        seen[name] = ["refused", type(error).__name__]
attempt("read_course", lambda: open(sys.argv[1]).read())
attempt("list_course_parent", lambda: os.listdir(sys.argv[2]))
attempt("import_solutions", lambda: __import__("labs_solutions.numpy_mlp").__name__)
attempt("read_repository_tests", lambda: os.listdir(sys.argv[3]))
attempt("write_numpy", lambda: open(sys.argv[4], "a").close())
attempt("connect_loopback", lambda: socket.create_connection(("127.0.0.1", int(sys.argv[5])), timeout=2).close())
attempt("import_numpy", lambda: __import__("numpy").__version__)
seen["open_descriptors"] = sorted(int(fd) for fd in os.listdir("/proc/self/fd"))
seen["stdin"] = sys.stdin.read()
with open("out/seen.json", "w") as handle:
    json.dump(seen, handle)
'''


# Every isolation test runs twice: a fresh `python enter.py` and a run forked from the warm zygote.
STARTS = {"fresh python": (), "forked from the zygote": ("numpy",)}


@pytest.fixture(scope="module", params=sorted(STARTS))
def observed(request, tmp_path_factory, loopback_listener):
    """One sandboxed run that tries everything a student should not be able to do."""
    root = tmp_path_factory.mktemp("sandbox")
    course = root / "course"
    course.mkdir()
    (course / "gradebook.db").write_text("grades")
    os.chmod(course, 0o700)
    submission = root / "submission"
    submission.mkdir()
    (submission / "answer.py").write_text("x = 1\n")
    os.symlink(course / "gradebook.db", submission / "link_to_gradebook")
    tests_dir = Path(__file__).parent
    run = run_sandboxed(
        ["python", "-I", "-c", PROBE, str(course / "gradebook.db"), str(root), str(tests_dir),
         np.__file__, str(loopback_listener.port)],
        submission=submission, hidden=[course], collect=["seen.json"], preload=STARTS[request.param],
        stdin_data=b"token\n")
    return run, json.loads(run.outputs["seen.json"]), loopback_listener.was_reached()


@needs_root
def test_runs_as_an_unprivileged_user_in_a_folder_holding_only_the_submission(observed):
    run, seen, _ = observed
    assert run.returncode == 0, run.stderr
    assert run.isolation == ISOLATED
    assert seen["uid"] != 0 and seen["gid"] != 0 and seen["groups"] == []
    assert pwd.getpwuid(seen["uid"]).pw_name.startswith("backprop-sbx")
    assert seen["cwd_files"] == [".grader", "answer.py", "out", "tmp"]  # the symlink was not copied
    assert list(map(str, run.skipped_files)) == ["link_to_gradebook (symbolic link)"]
    # stdin, stdout, stderr and the descriptor listing /proc/self/fd: nothing of the grader (or zygote) leaks
    assert seen["open_descriptors"] == [0, 1, 2, 3] and seen["stdin"] == "token\n"


@needs_root
def test_cannot_see_the_course_the_solutions_or_the_repository(observed):
    _, seen, _ = observed
    for attempt in ("read_course", "list_course_parent", "import_solutions", "read_repository_tests"):
        assert seen[attempt][0] == "refused", (attempt, seen[attempt])
    assert seen["import_numpy"][0] == "ok"


@needs_root
def test_cannot_change_installed_packages_or_reach_the_network(observed):
    _, seen, reached = observed
    assert seen["write_numpy"][0] == "refused" and seen["write_numpy"][1] in ("PermissionError", "OSError")
    assert seen["connect_loopback"][0] == "refused"
    assert not reached


@needs_root
@pytest.mark.parametrize("start", sorted(STARTS))
def test_wall_clock_limit_ends_the_whole_process_group_and_every_leftover_process(start):
    script = ("import os, time\n"
              "if os.fork() == 0:\n"
              "    os.setsid(); time.sleep(600)\n"
              "time.sleep(600)\n")
    run = run_sandboxed(["python", "-I", "-c", script], limits=Limits(wall_seconds=1.5, cpu_seconds=5),
                        preload=STARTS[start])
    # Ended by the limit, long before the script's own sleeps: no bound that depends on machine speed.
    assert run.timed_out and run.wall_seconds < 600
    assert _live_processes_of(run.uid) == []


def _live_processes_of(uid):
    """Processes of ``uid`` that are not zombies (a killed orphan waits a moment for init to reap it)."""
    live = []
    for proc_dir in Path("/proc").iterdir():
        try:
            if proc_dir.name.isdigit() and proc_dir.stat().st_uid == uid:
                state = next(line for line in (proc_dir / "status").read_text().splitlines()
                             if line.startswith("State:"))
                if "zombie" not in state:
                    live.append(proc_dir.name)
        except (FileNotFoundError, ProcessLookupError, StopIteration):
            continue
    return live


STUBBORN = ("import os, signal, sys, time\n"
            "for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):\n"
            "    signal.signal(number, signal.SIG_IGN)\n"
            "for _ in range(3):\n"
            "    if os.fork() == 0:\n"
            "        os.setsid()\n"
            "        if os.fork() == 0:\n"
            "            time.sleep(600)\n"
            "        time.sleep(600)\n"
            "print('forked', flush=True)\n"
            "time.sleep(600)\n")


@needs_root
@pytest.mark.parametrize("start", sorted(STARTS))
def test_a_run_that_ignores_signals_and_forks_leaves_no_process_when_it_ends(start):
    run = run_sandboxed(["python", "-I", "-c", STUBBORN], limits=Limits(wall_seconds=3, cpu_seconds=5),
                        preload=STARTS[start])
    assert run.timed_out and "forked" in run.stdout, run.stderr
    assert _live_processes_of(run.uid) == []


CALLER = """
import sys
from grading.trusted.sandbox import Limits, run_sandboxed
preload = tuple(sys.argv[2:])
run_sandboxed(["python", "-I", "-c", sys.argv[1]], limits=Limits(wall_seconds=600, cpu_seconds=600), preload=preload,
              prepare=lambda slot: print(slot.uid, flush=True))
"""


@needs_root
@pytest.mark.parametrize("start", sorted(STARTS))
def test_a_killed_caller_takes_every_process_of_its_run_with_it(start):
    """As when jupyter_client SIGKILLs a kernel launcher whose kernel ignores SIGTERM: nothing of
    the run survives its caller, whether forked from a zygote or started as a fresh python."""
    import subprocess
    import sys
    import time

    caller = subprocess.Popen([sys.executable, "-c", CALLER, STUBBORN, *STARTS[start]], stdout=subprocess.PIPE,
                              text=True)
    uid = int(caller.stdout.readline())
    deadline = time.monotonic() + 120
    while len(_live_processes_of(uid)) < 7 and time.monotonic() < deadline:  # the student's 7 processes
        time.sleep(0.1)
    assert len(_live_processes_of(uid)) >= 7
    caller.kill()
    caller.wait()
    while _live_processes_of(uid) and time.monotonic() < deadline:  # the kernel reaps them asynchronously
        time.sleep(0.1)
    assert _live_processes_of(uid) == []


LEFTOVERS = r"""
import ctypes, errno, json, os
libc = ctypes.CDLL(None, use_errno=True)
seen = {}
seen["shm_key_seen"] = libc.shmget(0x5EED, 0, 0) >= 0    # one left by an earlier run?
segment = libc.shmget(0x5EED, 1 << 20, 0o1666)          # IPC_CREAT | 0666
seen["shm_created"] = segment >= 0
def attempt(name, action):
    try:
        action()
        seen[name] = "ok"
    except OSError as error:
        seen[name] = errno.errorcode.get(error.errno, str(error.errno))
for folder in ("/run/lock", "/tmp", "/var/tmp", "/dev/shm"):
    attempt("write " + folder, lambda folder=folder: open(os.path.join(folder, "left-behind"), "w").close())
def fill():
    try:
        with open("tmp/fill", "wb") as handle:
            for _ in range(64):
                handle.write(b"x" * (1 << 20))
    finally:
        os.remove("tmp/fill")
attempt("fill working directory", fill)
seen["processes_visible"] = sorted(int(name) for name in os.listdir("/proc") if name.isdigit())
with open("out/seen.json", "w") as handle:
    json.dump(seen, handle)
"""


def _host_shared_memory_of(uid):
    with open("/proc/sysvipc/shm") as table:
        header, *rows = [line.split() for line in table]
    return [row for row in rows if int(row[header.index("uid")]) == uid]


@needs_root
@pytest.mark.parametrize("start", sorted(STARTS))
def test_nothing_a_run_creates_outlives_it_and_its_writable_area_is_bounded(start):
    limits = Limits(disk_bytes=32 * 1024 * 1024, file_size_bytes=128 * 1024 * 1024)
    first = run_sandboxed(["python", "-I", "-c", LEFTOVERS], limits=limits, collect=["seen.json"],
                          preload=STARTS[start])
    seen = json.loads(first.outputs["seen.json"])
    assert seen["shm_key_seen"] is False and seen["shm_created"] is True                        # its own IPC namespace allows it...
    assert _host_shared_memory_of(first.uid) == []            # ...and it is gone with the run
    assert seen["processes_visible"] == [1, 2]                # own PID namespace and /proc: no host process
    for folder in ("/run/lock", "/tmp", "/var/tmp", "/dev/shm"):
        assert seen["write " + folder] in ("EROFS", "EACCES", "ENOENT"), (folder, seen)  # hidden, read-only
    assert seen["fill working directory"] == "ENOSPC"
    second = run_sandboxed(["python", "-I", "-c", LEFTOVERS], limits=limits, collect=["seen.json"],
                           preload=STARTS[start])
    assert json.loads(second.outputs["seen.json"])["shm_key_seen"] is False   # a later run cannot find it


NAMESPACES = r"""
import ctypes, errno, os, threading
libc = ctypes.CDLL(None, use_errno=True)
def refused(result):
    return "refused " + errno.errorcode[ctypes.get_errno()] if result != 0 else "allowed"
print("unshare user", refused(libc.unshare(0x10000000)))
print("unshare net", refused(libc.unshare(0x40000000)))
print("mount", refused(libc.mount(b"none", b"tmp", b"tmpfs", 0, None)))
pid = os.fork()
if pid == 0:
    os._exit(3)
print("fork", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
thread = threading.Thread(target=lambda: None)
thread.start(); thread.join()
print("thread ok")
"""


@needs_root
@pytest.mark.parametrize("start", sorted(STARTS))
def test_namespace_creation_and_mounts_are_refused_but_fork_and_threads_work(start):
    run = run_sandboxed(["python", "-I", "-c", NAMESPACES], preload=STARTS[start])
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["unshare user refused EPERM", "unshare net refused EPERM",
                                       "mount refused EPERM", "fork 3", "thread ok"]


def test_an_unknown_machine_gets_no_filter_and_no_run():
    from grading.trusted.sandbox.enter import seccomp_program

    with pytest.raises(OSError, match="no seccomp table for machine 'pdp11'"):
        seccomp_program("pdp11")
    assert seccomp_program("x86_64")[-1] == (0x06, 0, 0, 0x00050001)   # the last rule refuses with EPERM


def test_copying_a_submission_never_follows_links_or_opens_special_files(tmp_path):
    from grading.course.submission_files import copy_submission

    source, target = tmp_path / "submission", tmp_path / "copy"
    (source / "labs").mkdir(parents=True)
    target.mkdir()
    (tmp_path / "solution.py").write_text("SOLVED = True\n")
    (source / "labs" / "numpy_mlp.py").write_text("x = 1\n")
    os.symlink(tmp_path / "solution.py", source / "labs" / "pytorch_mlp.py")
    os.symlink("/dev/zero", source / "labs" / "log_linear.py")
    os.symlink(tmp_path, source / "linked_folder")
    os.mkfifo(source / "pipe")
    (source / bytes.fromhex("ff6e616d65").decode("utf-8", "surrogateescape")).write_bytes(b"odd name")
    (source / "labs" / "big.py").write_bytes(b"#" * 2000)
    owner = (os.getuid(), os.getgid())
    refused = copy_submission(source, target, max_bytes=1000, owner=owner)
    assert sorted(map(str, refused)) == [
        "labs/big.py (2000 bytes, over the limit of 1000 bytes for a submission)",
        "labs/log_linear.py (symbolic link)", "labs/pytorch_mlp.py (symbolic link)",
        "linked_folder (symbolic link)", "pipe (FIFO)"]
    assert sorted(os.listdir(target)) == sorted(["labs", "\udcffname"])
    assert os.listdir(target / "labs") == ["numpy_mlp.py"]


@needs_root
@pytest.mark.parametrize("start", sorted(STARTS))
def test_memory_limit_raises_memory_error_inside(start):
    script = "x = bytearray(2 * 1024**3)\n"
    run = run_sandboxed(["python", "-I", "-c", script], limits=Limits(memory_bytes=GIB), preload=STARTS[start])
    assert run.returncode == 1 and "MemoryError" in run.stderr


def test_without_root_isolation_is_refused_unless_asked_for(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(SandboxUnavailable, match="isolation needs root"):
        run_sandboxed(["python", "-c", "pass"])


def test_a_result_planted_as_a_symlink_is_not_followed(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "secret").write_text("gradebook")
    os.symlink(tmp_path / "secret", tmp_path / "out" / "status.json")
    with pytest.raises(ValueError, match="not a plain file"):
        read_back(tmp_path / "out", "status.json", 1000)


def _npz(**arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def test_status_must_carry_this_runs_token():
    good = json.dumps({"nonce": "a" * 32, "cases": {"c": {"ok": True}}, "cells": []}).encode()
    assert read_status(good, "a" * 32, ["c"])["cases"]["c"]["ok"] is True
    with pytest.raises(ResultRejected, match="token"):
        read_status(good, "b" * 32, ["c"])
    with pytest.raises(ResultRejected, match="not valid JSON"):
        read_status(b"All tests passed!", "a" * 32, ["c"])


def test_a_run_of_several_checks_reports_only_the_checks_it_finished():
    status = {"nonce": "a" * 32, "checks": {"first": {"cases": {"c1": {"ok": True}}, "cells": []},
                                            "unasked": {"cases": {}, "cells": []}}}
    raw = json.dumps(status).encode()
    read = read_check_statuses(raw, "a" * 32, {"first": ["c1"], "second": ["c2"]})
    assert list(read) == ["first"] and read["first"]["cases"]["c1"]["ok"] is True
    with pytest.raises(ResultRejected, match="token"):
        read_check_statuses(raw, "b" * 32, {"first": ["c1"]})
    flat = json.dumps({"nonce": "a" * 32, "cases": {"c1": {"ok": True}}}).encode()  # one-check layout
    with pytest.raises(ResultRejected, match="no per-check results"):
        read_check_statuses(flat, "a" * 32, {"first": ["c1"]})


def test_arrays_are_checked_for_pickles_dtype_shape_and_finiteness():
    raw = _npz(good=np.ones((2, 3)), nan=np.full((2, 3), np.nan), shape=np.ones((3, 2)),
               text=np.array(["a", "b"]), objects=np.array([object(), object()], dtype=object))
    expected = {"good": (2, 3), "nan": (2, 3), "shape": (2, 3), "text": (2,), "objects": (2,), "absent": (1,)}
    arrays, problems = read_arrays(raw, expected)
    assert list(arrays) == ["good"] and np.array_equal(arrays["good"], np.ones((2, 3)))
    assert "NaN" in problems["nan"] and "shape (3, 2)" in problems["shape"]
    assert "dtype <U1" in problems["text"]
    assert "not a plain numeric array" in problems["objects"]  # allow_pickle=False refused it
    assert "absent" not in problems
    with pytest.raises(ResultRejected, match="not an .npz"):
        read_arrays(b"PK-not-really", expected)


@needs_root
@pytest.mark.parametrize("start", sorted(STARTS))
def test_a_sandbox_that_cannot_be_set_up_never_runs_the_command(monkeypatch, start):
    from grading.trusted.sandbox import runner

    real_plan = runner.mount_plan

    def plan_with_a_missing_path(*args):
        hidden, kept, writable = real_plan(*args)
        return hidden, [*kept, "/tmp/backprop-labs-no-such-folder"], writable

    monkeypatch.setattr(runner, "mount_plan", plan_with_a_missing_path)
    run = run_sandboxed(["python", "-I", "-c", "open('out/ran', 'w').close()"], collect=["ran"],
                        preload=STARTS[start])
    assert run.setup_failed and "FileNotFoundError" in run.setup_error
    assert run.outputs["ran"] is None


@needs_root
def test_runs_started_side_by_side_from_threads_each_get_a_zygote_of_their_own():
    from concurrent.futures import ThreadPoolExecutor

    script = "import sys, time; time.sleep(0.5); sys.exit(int(sys.argv[1]))"

    def one(code):
        return run_sandboxed(["python", "-I", "-c", script, str(code)], preload=("numpy",))

    with ThreadPoolExecutor(max_workers=3) as pool:
        runs = list(pool.map(one, [3, 4, 5]))
    assert [run.returncode for run in runs] == [3, 4, 5]         # each run's own status came back
    assert len({run.forked_from for run in runs}) == 3            # three zygotes, none shared at once


@needs_root
def test_a_zygote_that_cannot_start_falls_back_to_a_fresh_python():
    run = run_sandboxed(["python", "-I", "-c", "import sys; sys.exit(7)"], preload=("no_such_module_here",))
    assert run.returncode == 7


def test_a_zygote_that_does_not_answer_in_time_is_a_zygote_error(tmp_path, monkeypatch):
    """A run whose zygote gives no pid in time (stuck, or a machine that loaded) is told ZygoteError, on which
    the runner starts a fresh python: the run is never lost to a time-out."""
    import socket
    import subprocess as process

    from grading.trusted.sandbox import zygote

    def no_answer(self, key, timeout):
        raise process.TimeoutExpired(self.what, timeout)

    monkeypatch.setattr(zygote._Replies, "next", no_answer)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listening:
        listening.bind(str(tmp_path / "socket"))
        listening.listen(1)
        with pytest.raises(zygote.ZygoteError, match="timed out"):
            zygote.fork_run(str(tmp_path / "socket"), tmp_path / "spec.json", "out", "err")

def _run_in_sandboxed_kernel(folder, source):
    import nbformat
    from nbclient import NotebookClient

    from grading.trusted.sandbox.kernel import SandboxedKernelManager

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    NotebookClient(notebook, kernel_name="python3", kernel_manager_class=SandboxedKernelManager, timeout=60,
                   resources={"metadata": {"path": str(folder)}}).execute()
    return "".join(output.get("text", "") for output in notebook.cells[0].outputs)


@needs_root
def test_a_kernel_forked_from_the_zygote_sees_what_a_fresh_kernel_sees(tmp_path, monkeypatch):
    """The notebook's folder is importable (students import their labs/ package) and sys.path,
    the flags and the user are those of a kernel started the usual way."""
    import contextlib

    from grading.trusted.sandbox import kernel

    (tmp_path / "student_module.py").write_text("ANSWER = 42\n")
    source = ("import os, sys, student_module\n"
              "print(student_module.ANSWER, os.getuid() != 0, sys.flags.safe_path, sys.flags.no_user_site)\n"
              "print(sys.path)\n"
              "print('torch' in sys.modules)")
    forked = _run_in_sandboxed_kernel(tmp_path, source).splitlines()
    monkeypatch.setattr(kernel, "leased_kernel_zygote", contextlib.nullcontext)  # no zygote: a fresh python
    fresh = _run_in_sandboxed_kernel(tmp_path, source).splitlines()
    assert forked[0] == "42 True False 1" and fresh[0] == "42 True False 0"   # -s: no user site-packages
    assert forked[1] == fresh[1]
    assert (forked[2], fresh[2]) == ("True", "False")        # torch came with the zygote, not with the fresh python


def kernel_script(statement, shut_down):
    """A program that starts a sandboxed kernel in the folder ``argv[1]``, runs ``statement`` in it and
    prints the first line the kernel prints; then shuts the kernel down, or (``shut_down=False``) keeps
    it running until the program is killed."""
    ending = ("    client.stop_channels()\n    await manager.shutdown_kernel(now=True)\nasyncio.run(run())\n"
              if shut_down else "asyncio.run(run())\ntime.sleep(600)\n")
    return f"""
import asyncio, sys, time
from grading.trusted.sandbox.kernel import SandboxedKernelManager

async def run():
    manager = SandboxedKernelManager(kernel_name="python3")
    await manager.start_kernel(cwd=sys.argv[1])
    client = manager.client()
    client.start_channels()
    await client.wait_for_ready(timeout=120)
    client.execute({statement!r})
    while (message := await client.get_iopub_msg(timeout=120))["msg_type"] != "stream":
        pass
    print(message["content"]["text"].strip(), flush=True)
""" + ending


KERNEL_MANAGER = kernel_script("import os; print(os.getuid())", shut_down=False)   # the kernel says whom it runs as


@needs_root
def test_a_sandboxed_kernel_ends_when_its_kernel_managers_process_is_killed(tmp_path):
    """A grading worker killed with its run (SIGKILL, no shutdown) takes its notebook kernel along:
    the launcher, in a session of its own, would otherwise keep it running."""
    import subprocess
    import sys
    import time

    manager = subprocess.Popen([sys.executable, "-c", KERNEL_MANAGER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    uid = int(manager.stdout.readline())
    assert pwd.getpwuid(uid).pw_name.startswith("backprop-sbx") and _live_processes_of(uid)
    manager.kill()
    manager.wait()
    deadline = time.monotonic() + 120
    while _live_processes_of(uid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _live_processes_of(uid) == []


def test_a_sandbox_user_is_created_even_while_another_run_holds_the_password_files_lock(monkeypatch):
    """Runs starting side by side on a fresh machine create their users at once: useradd refuses while
    another holds /etc/passwd's lock, and the run waits and tries again; any other refusal is named."""
    import subprocess as process

    from grading.trusted.sandbox import accounts

    calls = []

    def useradd(command, **_):
        calls.append(command)
        if len(calls) < 3:
            return process.CompletedProcess(command, 1, "", "useradd: cannot lock /etc/passwd; try again later.\n")
        return process.CompletedProcess(command, 0, "", "")

    def getpwnam(name):
        if len(calls) < 3:
            raise KeyError(name)
        return ("entry of", name)

    monkeypatch.setattr(accounts.os, "geteuid", lambda: 0)
    monkeypatch.setattr(accounts.pwd, "getpwnam", getpwnam)
    monkeypatch.setattr(accounts.subprocess, "run", useradd)
    assert accounts.ensure_user("backprop-sbx-new") == ("entry of", "backprop-sbx-new") and len(calls) == 3

    calls.clear()
    monkeypatch.setattr(accounts.subprocess, "run", lambda command, **_: calls.append(command) or
                        process.CompletedProcess(command, 4, "", "useradd: UID 999 is not unique\n"))
    with pytest.raises(accounts.SandboxUnavailable, match="could not create sandbox user backprop-sbx-new: useradd: UID"):
        accounts.ensure_user("backprop-sbx-new")
    assert len(calls) == 1



def test_sandbox_users_are_created_one_at_a_time(monkeypatch):
    """The course's runs take turns creating users (a lock of their own, no time limit), so on a loaded
    machine none runs out of retries waiting for another run's useradd; a user the run before created is
    taken as it is."""
    import fcntl
    import subprocess as process

    from grading.trusted.sandbox import accounts

    created, held = set(), []

    def useradd(command, **_):
        with open("/run/backprop-labs-sandbox/useradd.lock", "a") as probe:
            try:
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
                held.append(False)   # nobody held the turn during this useradd
            except BlockingIOError:
                held.append(True)
        created.add(command[-1])
        return process.CompletedProcess(command, 0, "", "")

    def getpwnam(name):
        if name not in created:
            raise KeyError(name)
        return ("entry of", name)

    monkeypatch.setattr(accounts.os, "geteuid", lambda: 0)
    monkeypatch.setattr(accounts.pwd, "getpwnam", getpwnam)
    monkeypatch.setattr(accounts.subprocess, "run", useradd)
    assert accounts.ensure_user("backprop-sbx-a") == ("entry of", "backprop-sbx-a")
    assert held == [True]
    assert accounts.ensure_user("backprop-sbx-a") == ("entry of", "backprop-sbx-a") and held == [True]

BYTECODE_PROBE = """
import os, sys
copied = sorted(os.listdir("labs"))
sys.path.insert(0, os.getcwd())
import labs.numpy_mlp as module
print(module.VALUE, copied)
"""


@needs_root
@pytest.mark.parametrize("start", sorted(STARTS))
def test_bytecode_beside_a_module_never_reaches_the_sandbox(tmp_path, start):
    """An unchecked pyc in __pycache__ (never compared with its source) and a sourceless .pyc would
    run code that is not in the .py the feedback shows: the copy into the sandbox leaves them out."""
    import py_compile

    submission = tmp_path / "submission"
    (submission / "labs" / "__pycache__").mkdir(parents=True)
    (submission / "labs" / "__init__.py").write_text("")
    (submission / "labs" / "numpy_mlp.py").write_text("VALUE = 'source'\n")
    (tmp_path / "hidden.py").write_text("VALUE = 'bytecode'\n")
    cached = submission / "labs" / "__pycache__" / f"numpy_mlp.{sys.implementation.cache_tag}.pyc"
    py_compile.compile(tmp_path / "hidden.py", cached, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    py_compile.compile(tmp_path / "hidden.py", submission / "labs" / "other.pyc")
    run = run_sandboxed(["python", "-I", "-c", BYTECODE_PROBE], submission=submission, preload=STARTS[start])
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "source ['__init__.py', 'numpy_mlp.py']"
    assert run.skipped_files == []   # left out without a line: bytecode is never the student's work


IPYTHON_PROFILE_KERNEL = kernel_script(
    "import os; print(globals().get('STARTUP', 'no startup file ran'), "
    "os.listdir(os.environ.get('IPYTHONDIR', os.path.expanduser('~/.ipython'))) != [], os.environ['HOME'] == os.getcwd())",
    shut_down=True)


@needs_root
def test_an_ipython_profile_in_the_submission_does_not_run_in_the_sandboxed_kernel(tmp_path):
    """The kernel's home is the submission's copy: its .ipython/profile_default/startup/ scripts would
    run at kernel start. IPython's folder is a fresh one in the sandbox's tmp."""
    import subprocess

    startup = tmp_path / ".ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-grader.py").write_text("STARTUP = 'the startup file ran'\n")
    (tmp_path / ".ipython" / "profile_default" / "ipython_kernel_config.py").write_text(
        "c.InteractiveShellApp.exec_lines = [\"STARTUP = 'the config file ran'\"]\n")
    kernel = subprocess.run([sys.executable, "-c", IPYTHON_PROFILE_KERNEL, str(tmp_path)], capture_output=True,
                            text=True, timeout=300)
    assert kernel.returncode == 0, kernel.stderr[-3000:]
    # IPython made its own profile there; the home is still the submission's copy
    assert kernel.stdout.strip() == "no startup file ran True True"
