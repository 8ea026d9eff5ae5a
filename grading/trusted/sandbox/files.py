"""Reading back what the student side wrote, without following the student's links.

The walk and copy of a submission into the sandbox live in :mod:`grading.course.submission_files`
(collection uses the same one); here: the result files, read as root from the sandbox's output folder.
"""
import os
from pathlib import Path

from grading.course.submission_files import open_regular


def read_back(directory, name, max_bytes):
    """Bytes of the regular file ``directory/name`` written by the student side, or ``None``.

    Opened with ``O_NOFOLLOW`` relative to a directory descriptor, so a symlink planted in
    place of the result (pointing at the gradebook, say) is refused, not read as root.
    Raises ``ValueError`` naming the problem if the file is not a plain file or too big.
    """
    try:
        directory_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as error:  # ELOOP: the folder itself was replaced by a symlink
        raise ValueError(f"{Path(directory).name}/ is not a plain folder ({error.strerror})") from None
    try:
        try:
            handle = open_regular(name, directory_fd)
        except FileNotFoundError:
            return None
        except OSError as error:  # a link (ELOOP), a FIFO or a device planted in place of the result
            raise ValueError(f"{name} is not a plain file ({error.strerror or 'not a regular file'})") from None
        with handle:
            size = os.fstat(handle.fileno()).st_size
            if size > max_bytes:
                raise ValueError(f"{name} holds {size} bytes, more than the {max_bytes} accepted")
            return handle.read(max_bytes + 1)[:max_bytes]
    finally:
        os.close(directory_fd)
