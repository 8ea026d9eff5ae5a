"""A path longer than PATH_MAX (4096 bytes): 25 folders of 200-byte names inside ``labs/``, made
through folder descriptors as a student's script can. Its copy ended collection with a raw
``OSError`` (File name too long), and no student of the class was graded. The folder whose path
passes the limit is not entered and is named in this student's feedback and the instructor's summary.
"""
import os

LEVELS, NAME_BYTES = 25, 200


def change(notebook, folder):
    """Edit the submitted notebook (its JSON as a dict); ``folder`` is the submission folder."""
    fd = os.open(folder / "labs", os.O_RDONLY | os.O_DIRECTORY)
    for level in range(LEVELS):
        name = f"{level:03d}".ljust(NAME_BYTES, "d")
        os.mkdir(name, dir_fd=fd)
        inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = inner
    os.close(os.open("deep.py", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=fd))
    os.close(fd)
