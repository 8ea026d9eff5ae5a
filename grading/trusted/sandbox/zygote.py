"""A warm interpreter that forks sandboxed Python runs: ``import torch`` once per worker, not per student.

The trusted checks of every student start a fresh Python that imports numpy and torch
(about 0.9 s of CPU, most of the check's cost), and so does every notebook kernel. A zygote
is a clean root process, ``python FLAGS zygote.py SOCKET MODULE...``, that imports those
modules and nothing of the course (no solutions, no gradebook, no other student: forking
copies its memory), then serves requests on a Unix socket in a root-only folder, one at a
time, from root only: the grading process itself, or the kernel launcher that
jupyter_client starts. For each request it forks a child that:

1. starts its own session (the caller kills the run by process group, as for ``enter.py``);
2. takes stdin (a pipe holding the request's input), stdout and stderr (the run's files)
   and closes every other descriptor, the zygote's socket included;
3. enters the sandbox with :func:`enter.enter`, the very steps ``enter.py`` takes;
4. runs what ``python [-I] SCRIPT ARGS`` (or ``-c CODE``, ``-m MODULE``) would run, in the warm
   interpreter, with the spec's environment and ``sys.argv``, and exits with its status.

A setup failure is reported as ``enter.py`` reports it (``setup_error`` beside the spec,
exit status 120). The zygote answers ``{"pid": N}`` once the child runs and
``{"returncode": R}`` when it ends (negative: killed by signal ``-R``, like ``Popen``); a
caller that goes away takes its run with it. The zygote ends when the process that started
it ends. This file is a script (stdlib and ``enter`` only) and the caller's side:
:class:`Zygote` starts one, :func:`fork_run` asks one for a run (a :class:`ZygoteRun`).
"""
import json
import os
import select
import shutil
import socket
import struct
import subprocess
import sys
import threading
import uuid

if __package__:
    from grading.trusted.sandbox import enter
else:  # run as the zygote script
    _HERE = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, _HERE)
    import enter
    sys.path[:] = [path for path in sys.path if path != _HERE]  # the runs get the sys.path of their command

# ------------------------------------------------------------------- the zygote (script) side


def _child(request, stdin_read):
    """In the forked child: never returns."""
    try:
        os.setsid()
        stdout = os.open(request["stdout"], os.O_WRONLY | os.O_APPEND)
        stderr = os.open(request["stderr"], os.O_WRONLY | os.O_APPEND)
        for fd, target in ((stdin_read, 0), (stdout, 1), (stderr, 2)):
            os.dup2(fd, target)
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))
        spec = enter.read_spec(request["spec"])
        enter.enter(spec, request["spec"])
    except BaseException as error:  # noqa: BLE001 - refuse to run the student's code
        try:
            enter.report_setup_error(request["spec"], error)
        finally:
            os._exit(enter.SETUP_FAILED)
    os._exit(_run_script(spec))


def _run_script(spec):
    """Run the spec's ``python [-I] (-c CODE | -m MODULE | SCRIPT) ARGS`` in this interpreter, with
    the ``sys.path`` that command would have; returns the exit status."""
    import runpy
    import traceback

    arguments = spec["argv"][1:]
    isolated = arguments[:1] == ["-I"]
    arguments = arguments[1:] if isolated else arguments
    os.environ.clear()
    os.environ.update(spec["env"])
    if arguments[0] == "-c":
        sys.argv = ["-c", *arguments[2:]]
        run = lambda: exec(compile(arguments[1], "<string>", "exec"),  # noqa: E731
                           {"__name__": "__main__", "__builtins__": __builtins__})
        first_path = ""
    elif arguments[0] == "-m":
        sys.argv = [arguments[1], *arguments[2:]]
        run = lambda: runpy.run_module(arguments[1], run_name="__main__", alter_sys=True)  # noqa: E731
        first_path = os.getcwd()
    else:
        sys.argv = [os.path.abspath(arguments[0]), *arguments[1:]]
        run = lambda: runpy.run_path(sys.argv[0], run_name="__main__")  # noqa: E731
        first_path = os.path.dirname(sys.argv[0])
    if not isolated:  # python without -I puts "" (-c), the working directory (-m) or the script's folder first
        sys.path.insert(0, first_path)
    sys.stdin = sys.__stdin__ = open(0, "r", closefd=False)
    sys.stdout = sys.__stdout__ = open(1, "w", buffering=1, closefd=False)
    sys.stderr = sys.__stderr__ = open(2, "w", buffering=1, closefd=False)
    status = 0
    try:
        run()
    except SystemExit as exit:
        status = exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
        if not isinstance(exit.code, (int, type(None))):
            print(exit.code, file=sys.stderr)
    except BaseException:  # noqa: BLE001 - the exit status says it failed, as for a fresh python
        traceback.print_exc()
        status = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001
            pass
    return status


def _reply(replies, message):
    """Send one reply; False if the caller is gone (its end closed: nothing to report to)."""
    try:
        replies.write(json.dumps(message) + "\n")
        replies.flush()
        return True
    except OSError:  # BrokenPipeError, ConnectionResetError: never a traceback on the grader's terminal
        return False


def _wait_or_end(pid, caller_fd):
    """Wait for the run ``pid``; if the caller's end becomes readable first (it closed: the caller
    died, e.g. a kernel launcher killed by jupyter_client), kill the run. Killing the run's first
    process ends its whole PID namespace (see :mod:`enter`). Returns the wait status."""
    watched = os.pidfd_open(pid)
    try:
        ready, _, _ = select.select([watched, caller_fd], [], [])
        if watched not in ready:
            _kill_run(pid)
    finally:
        os.close(watched)
    return os.waitpid(pid, 0)[1]


def _kill_run(pid):
    for kill, target in ((os.killpg, pid), (os.kill, pid)):  # before the child's setsid, no group yet
        try:
            kill(target, 9)
        except (ProcessLookupError, PermissionError):
            pass


def _serve_one(request, replies, caller_fd):
    """Fork the run of one request; reply its pid, then its exit status."""
    stdin_read, stdin_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(stdin_write)
        _child(request, stdin_read)
    os.close(stdin_read)
    try:
        os.write(stdin_write, request["stdin"].encode("latin-1"))
    except BrokenPipeError:
        pass
    os.close(stdin_write)
    if _reply(replies, {"pid": pid}):
        status = _wait_or_end(pid, caller_fd)
    else:
        _kill_run(pid)
        status = os.waitpid(pid, 0)[1]
    _reply(replies, {"returncode": os.waitstatus_to_exitcode(status)})


def _preload(modules):
    import importlib

    for module in modules:
        importlib.import_module(module)


def serve(path, preload):
    """Import ``preload``, then fork one run per connection on the socket ``path``: one
    connection at a time, from root only. Ends, removing the socket's folder, when stdin
    closes (the process that started it ended)."""
    _preload(preload)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    os.chmod(path, 0o600)
    server.listen(8)
    owner = os.dup(0)
    null = os.open(os.devnull, os.O_RDWR)
    os.write(1, (json.dumps({"ready": True}) + "\n").encode())
    os.dup2(null, 0), os.dup2(null, 1)  # the runs take 0-2 over; the zygote keeps none of its caller's
    try:
        while True:
            ready, _, _ = select.select([server, owner], [], [])
            if owner in ready and not os.read(owner, 1):
                return
            if server in ready:
                _accept(server)
    finally:
        shutil.rmtree(os.path.dirname(path), ignore_errors=True)


def _accept(server):
    connection, _ = server.accept()
    with connection:
        credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        if struct.unpack("3i", credentials)[1] != 0:  # the spec says whom to run as: only root may ask
            return
        try:
            stream = connection.makefile("rw", buffering=1)
            line = stream.readline()
            if line:
                _serve_one(json.loads(line), stream, connection.fileno())
        except (OSError, ValueError):  # a caller that went away or sent garbage: the next one
            return


# ------------------------------------------------------------------- the caller's side

SOCKETS_ROOT = "/run/backprop-labs-zygotes"


class ZygoteError(RuntimeError):
    """The zygote did not start or stopped answering."""


class _Replies:
    """The zygote's JSON-line replies on a file descriptor."""

    def __init__(self, fd, what):
        self.fd, self.what, self.buffer = fd, what, ""

    def next(self, key, timeout):
        """The next reply's ``key``; ``subprocess.TimeoutExpired`` after ``timeout`` seconds."""
        while "\n" not in self.buffer:
            ready, _, _ = select.select([self.fd], [], [], timeout)
            if not ready:
                raise subprocess.TimeoutExpired(self.what, timeout)
            chunk = os.read(self.fd, 65536).decode()
            if not chunk:
                raise ZygoteError(f"the zygote ({self.what}) stopped answering")
            self.buffer += chunk
        line, self.buffer = self.buffer.split("\n", 1)
        reply = json.loads(line)
        if key not in reply:
            raise ZygoteError(f"unexpected reply from the zygote: {reply}")
        return reply[key]


class ZygoteRun:
    """A run forked by a zygote, with the part of ``Popen`` the sandbox runner uses."""

    def __init__(self, connection, replies, pid, zygote_pid):
        self.connection, self.replies, self.pid, self.zygote_pid = connection, replies, pid, zygote_pid
        self.returncode = None

    def wait(self, timeout=None):
        if self.returncode is None:
            self.returncode = self.replies.next("returncode", timeout)
            self.connection.close()
        return self.returncode

    def kill(self):
        _kill_run(self.pid)


def fork_run(path, spec_path, stdout_path, stderr_path, stdin_data=b""):
    """Have the zygote listening on ``path`` fork a run of the spec; returns a :class:`ZygoteRun`
    (wait for it before the next run of that zygote). :class:`ZygoteError` when none answers."""
    request = json.dumps({"spec": str(spec_path), "stdout": str(stdout_path), "stderr": str(stderr_path),
                          "stdin": (stdin_data or b"").decode("latin-1")}) + "\n"
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(path)
        connection.sendall(request.encode())
        replies = _Replies(connection.fileno(), path)
        credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        return ZygoteRun(connection, replies, replies.next("pid", timeout=60), struct.unpack("3i", credentials)[0])
    except (OSError, subprocess.TimeoutExpired) as error:
        # No pid within a minute: the zygote is stuck (or the machine is that loaded). The caller starts a
        # fresh python instead, as for a zygote that is gone: the run is slower, never lost.
        connection.close()
        raise ZygoteError(f"no zygote at {path}: {error}") from error


class Zygote:
    """A zygote process of this process with ``preload`` imported, listening on :attr:`path` (in a
    root-only folder); any root process may fork runs from it, one at a time, with :func:`fork_run`.
    ``flags``: the interpreter's, which its runs inherit (``-I`` for ``python -I`` runs, ``-E -s``
    for runs that put their working directory on ``sys.path``, as IPython kernels do). It ends
    when this process ends; :attr:`lock` is held by whoever uses it (see ``runner.leased_zygote``)."""

    def __init__(self, preload, flags, environment):
        os.makedirs(SOCKETS_ROOT, mode=0o700, exist_ok=True)
        folder = os.path.join(SOCKETS_ROOT, uuid.uuid4().hex)
        os.mkdir(folder, mode=0o700)  # root only: whoever reaches the socket chooses whom a run runs as
        self.path = os.path.join(folder, "socket")
        self.process = subprocess.Popen([sys.executable, *flags, os.path.abspath(__file__), self.path, *preload],
                                        env=environment, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        close_fds=True)
        try:
            _Replies(self.process.stdout.fileno(), "zygote").next("ready", timeout=120)
        except (ZygoteError, subprocess.TimeoutExpired) as error:
            self.process.kill()
            self.process.wait()
            shutil.rmtree(folder, ignore_errors=True)
            raise ZygoteError(f"the zygote did not start: {error}") from error
        self.process.stdout.close()
        self.lock = threading.Lock()

    @property
    def alive(self):
        return self.process.poll() is None


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2:])
