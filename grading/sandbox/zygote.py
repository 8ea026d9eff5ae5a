"""A warm interpreter that forks sandboxed Python runs: ``import torch`` once per worker, not per student.

The trusted checks of every student start a fresh Python that imports numpy and torch
(about 0.9 s of CPU, most of the check's cost). A zygote is a clean root process,
``python -I zygote.py MODULE...``, that imports those modules and nothing of the course
(no solutions, no gradebook, no other student: forking copies its memory), then serves
requests on a pipe, one at a time. For each it forks a child that:

1. starts its own session (the caller kills the run by process group, as for ``enter.py``);
2. takes stdin (a pipe holding the request's input), stdout and stderr (the run's files)
   and closes every other descriptor, the zygote's pipe included;
3. enters the sandbox with :func:`enter.enter`, the very steps ``enter.py`` takes;
4. runs what ``python -I SCRIPT ARGS`` (or ``-c CODE``) would run, in the warm interpreter,
   with the spec's environment and ``sys.argv``, and exits with its status.

A setup failure is reported as ``enter.py`` reports it (``setup_error`` beside the spec,
exit status 120). The zygote answers ``{"pid": N}`` once the child runs and
``{"returncode": R}`` when it ends (negative: killed by signal ``-R``, like ``Popen``).
This file is a script (stdlib and ``enter`` only) and the caller's side:
:class:`Zygote` starts one and hands out :class:`ZygoteRun` handles.
"""
import json
import os
import select
import subprocess
import sys
import threading

if __package__:
    from . import enter
else:  # run as the zygote script (python -I: its own folder is not on sys.path)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import enter
    del sys.path[0]  # the scripts it runs get the sys.path of `python -I SCRIPT`

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
        enter.enter(spec)
    except BaseException as error:  # noqa: BLE001 - refuse to run the student's code
        try:
            enter.report_setup_error(request["spec"], error)
        finally:
            os._exit(enter.SETUP_FAILED)
    os._exit(_run_script(spec))


def _run_script(spec):
    """Run ``python -I SCRIPT ARGS`` or ``python -I -c CODE ARGS`` (``spec['argv']``) in this
    interpreter; returns the exit status."""
    import runpy
    import traceback

    arguments = spec["argv"][2:]
    os.environ.clear()
    os.environ.update(spec["env"])
    if arguments[0] == "-c":
        code, sys.argv = arguments[1], ["-c", *arguments[2:]]
    else:
        code, sys.argv = None, [os.path.abspath(arguments[0]), *arguments[1:]]
    sys.stdin = sys.__stdin__ = open(0, "r", closefd=False)
    sys.stdout = sys.__stdout__ = open(1, "w", buffering=1, closefd=False)
    sys.stderr = sys.__stderr__ = open(2, "w", buffering=1, closefd=False)
    status = 0
    try:
        if code is None:
            runpy.run_path(sys.argv[0], run_name="__main__")
        else:
            exec(compile(code, "<string>", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
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


def serve(preload):
    """The zygote's loop: import ``preload``, then fork one child per request line."""
    import importlib

    for module in preload:
        importlib.import_module(module)
    # The control pipe moves off 0 and 1, which the children take over.
    requests = os.fdopen(os.dup(0), "r")
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0), os.dup2(null, 1)
    replies.write(json.dumps({"ready": True}) + "\n")
    for line in requests:
        request = json.loads(line)
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
        replies.write(json.dumps({"pid": pid}) + "\n")
        _, status = os.waitpid(pid, 0)
        replies.write(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}) + "\n")


# ------------------------------------------------------------------- the caller's side


class ZygoteRun:
    """A run forked by the zygote, with the part of ``Popen`` the sandbox runner uses."""

    def __init__(self, zygote, pid):
        self.zygote, self.pid, self.returncode = zygote, pid, None

    def wait(self, timeout=None):
        if self.returncode is None:
            self.returncode = self.zygote._reply("returncode", timeout)
        return self.returncode

    def kill(self):
        for kill, target in ((os.killpg, self.pid), (os.kill, self.pid)):  # before setsid, no group yet
            try:
                kill(target, 9)
            except (ProcessLookupError, PermissionError):
                pass


class ZygoteError(RuntimeError):
    """The zygote did not start or stopped answering."""


class Zygote:
    """One zygote process (root) with ``preload`` imported; one run at a time."""

    def __init__(self, preload, environment):
        self.preload = tuple(preload)
        self.process = subprocess.Popen(
            [sys.executable, "-I", os.path.abspath(__file__), *self.preload], env=environment,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True, text=True, bufsize=1)
        self.lock = threading.Lock()
        self._buffer = ""
        self._reply("ready", timeout=120)

    @property
    def alive(self):
        return self.process.poll() is None

    def start(self, spec_path, stdout_path, stderr_path, stdin_data=b""):
        """Fork a run of the spec; returns a :class:`ZygoteRun` (call ``wait`` before the next start)."""
        request = {"spec": str(spec_path), "stdout": str(stdout_path), "stderr": str(stderr_path),
                   "stdin": (stdin_data or b"").decode("latin-1")}
        try:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError) as error:
            raise ZygoteError(f"the zygote is gone: {error}") from error
        return ZygoteRun(self, self._reply("pid", timeout=60))

    def _reply(self, key, timeout):
        """The next reply's ``key``; ``subprocess.TimeoutExpired`` after ``timeout`` seconds."""
        stream = self.process.stdout
        while "\n" not in self._buffer:
            ready, _, _ = select.select([stream], [], [], timeout)
            if not ready:
                raise subprocess.TimeoutExpired(self.process.args, timeout)
            chunk = os.read(stream.fileno(), 65536).decode()
            if not chunk:
                raise ZygoteError(f"the zygote ended (exit status {self.process.poll()})")
            self._buffer += chunk
        line, self._buffer = self._buffer.split("\n", 1)
        reply = json.loads(line)
        if key not in reply:
            raise ZygoteError(f"unexpected reply from the zygote: {reply}")
        return reply[key]

    def close(self):
        if self.alive:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()


if __name__ == "__main__":
    serve(sys.argv[1:])
