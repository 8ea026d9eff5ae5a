"""The students' distribution: the ``backprop-labs-student`` wheel, without the solutions.

The released notebooks import ``backprop_labs``, ``labs`` and ``grading`` (the test-cell
helpers and the gradient checker); the repository's own distribution also ships
``labs_solutions``, so students must not install it. :func:`build_student_wheel` stages
those three packages (never ``labs_solutions``, nor the source notebooks with their hidden
tests) with a ``pyproject.toml`` of their own and builds a wheel with ``pip wheel``.
Students install it with ``pip install backprop_labs_student-*.whl``.
"""
import configparser
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from backprop_labs.paths import REPOSITORY_ROOT

DIST_NAME = "backprop-labs-student"
STUDENT_PACKAGES = ("backprop_labs", "labs", "grading")
PYPROJECT = '''\
[build-system]
requires = ["setuptools>=68", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "{version}"
description = "Backpropagation labs for students: the lab package, the data readers and the gradient checker (no solutions)"
requires-python = "{python_requires}"
dependencies = {dependencies}

[tool.setuptools.packages.find]
include = {includes}
'''


def _setup_cfg():
    config = configparser.ConfigParser()
    config.read(REPOSITORY_ROOT / "setup.cfg", encoding="utf-8")
    return config


def pyproject_text():
    """The student distribution's ``pyproject.toml``: version and dependencies from ``setup.cfg``."""
    config = _setup_cfg()
    dependencies = [line.strip() for line in config["options"]["install_requires"].splitlines() if line.strip()]
    return PYPROJECT.format(name=DIST_NAME, version=config["metadata"]["version"],
                            python_requires=config["options"]["python_requires"],
                            dependencies="[" + ", ".join(f'"{d}"' for d in dependencies) + "]",
                            includes="[" + ", ".join(f'"{p}*"' for p in STUDENT_PACKAGES) + "]")


def stage(folder):
    """Copy the student packages and the ``pyproject.toml`` into ``folder``; return it."""
    folder = Path(folder)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in STUDENT_PACKAGES:
        shutil.copytree(REPOSITORY_ROOT / package, folder / package, ignore=ignore)
    (folder / "pyproject.toml").write_text(pyproject_text(), encoding="utf-8")
    return folder


def build_student_wheel(out_dir):
    """Build the student wheel into ``out_dir`` (offline: this environment's setuptools); its path."""
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="student-dist-") as staging:
        stage(staging)
        completed = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                                    "--wheel-dir", str(out_dir), staging], capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"pip wheel failed (exit {completed.returncode}):\n{completed.stderr[-3000:]}")
    wheels = sorted(out_dir.glob(f"{DIST_NAME.replace('-', '_')}-*.whl"))
    return wheels[-1]
