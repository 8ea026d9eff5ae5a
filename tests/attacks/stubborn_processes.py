# Leave processes behind that ignore SIGINT and SIGTERM and left the process group, then leave.
import ctypes as _ctypes
import os as _os
import signal as _signal
import time as _time


def _linger(self, input, output):
    for number in (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP):
        _signal.signal(number, _signal.SIG_IGN)
    for _ in range(3):
        if _os.fork() == 0:
            _os.setsid()
            _ctypes.CDLL(None).prctl(15, b"bpl-lingering", 0, 0, 0)  # PR_SET_NAME: the test looks for it
            if _os.fork() == 0:
                _time.sleep(3600)
            _time.sleep(3600)
    _os._exit(0)


NumpyMLP.backpropagation = _linger
