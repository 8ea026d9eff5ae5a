"""Resource limits of one sandboxed run."""
from dataclasses import dataclass

MIB = 1 << 20
GIB = 1 << 30


@dataclass(frozen=True)
class Limits:
    """What one run may use; exceeding any of these ends it with a message naming the limit.

    ``memory_bytes`` bounds the address space (importing torch alone reserves about
    0.7 GiB); ``processes`` bounds processes *and threads* of the run's user; ``disk_bytes``
    bounds the working directory (the only writable place), half of it for the copied submission.
    """

    wall_seconds: float = 120.0
    cpu_seconds: int = 60
    memory_bytes: int = 3 * GIB
    processes: int = 64
    file_size_bytes: int = 64 * MIB
    open_files: int = 256
    disk_bytes: int = 256 * MIB   # the working directory's tmpfs: the copied submission and all writes

    def rlimits(self):
        """The table ``enter.py`` applies with ``setrlimit`` (soft, hard)."""
        return {
            # The soft CPU limit sends SIGXCPU; the hard one, a second later, SIGKILL.
            "cpu_seconds": [self.cpu_seconds, self.cpu_seconds + 1],
            "address_space": self.memory_bytes,
            "processes": self.processes,
            "file_size": self.file_size_bytes,
            "open_files": self.open_files,
            "core_size": 0,
        }

    def describe(self):
        return (f"{self.wall_seconds:g} s wall clock, {self.cpu_seconds} s CPU, "
                f"{self.memory_bytes / GIB:g} GiB memory, {self.processes} processes")
