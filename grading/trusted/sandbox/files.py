"""Moving files across the sandbox boundary without following the student's symlinks."""
import os
import shutil
import stat
from pathlib import Path


class SubmissionTooLarge(ValueError):
    """The submission folder holds more bytes than a sandbox run accepts."""


def copy_submission(source, destination, owner, max_bytes):
    """Copy the regular files and folders of ``source`` into ``destination``, owned by ``owner``.

    Symlinks, devices and sockets are skipped (a link to ``source/`` or the gradebook must
    not be followed by the root-owned copier); returns the skipped relative paths.
    """
    source, destination = Path(source), Path(destination)
    skipped, total = [], 0
    for directory, subdirectories, filenames in os.walk(source, followlinks=False):
        relative_dir = Path(directory).relative_to(source)
        for name in list(subdirectories) + filenames:
            path = Path(directory) / name
            relative = relative_dir / name
            info = path.lstat()
            target = destination / relative
            if stat.S_ISDIR(info.st_mode):
                target.mkdir(mode=0o700, exist_ok=True)
            elif stat.S_ISREG(info.st_mode):
                total += info.st_size
                if total > max_bytes:
                    raise SubmissionTooLarge(f"the submission holds more than {max_bytes} bytes")
                shutil.copyfile(path, target, follow_symlinks=False)
                os.chmod(target, 0o600)
            else:
                skipped.append(str(relative))
                continue
            os.chown(target, *owner, follow_symlinks=False)
        subdirectories[:] = [d for d in subdirectories if (Path(directory) / d).is_dir()
                             and not (Path(directory) / d).is_symlink()]
    return skipped


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
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=directory_fd)
        except FileNotFoundError:
            return None
        except OSError as error:
            raise ValueError(f"{name} is not a plain file ({error.strerror})") from None
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise ValueError(f"{name} is not a plain file")
            if info.st_size > max_bytes:
                raise ValueError(f"{name} holds {info.st_size} bytes, more than the {max_bytes} accepted")
            return handle.read(max_bytes + 1)[:max_bytes]
    finally:
        os.close(directory_fd)
