"""What a newcomer gets from a fresh clone: the README's two commands exist, CI runs the same
command, and data/ holds every file the suite reads, committed, with its SHA-256 sum verifying.

The checks run on a ``git clone`` of this repository (so a file present here but not committed,
or excluded by .gitignore, fails them). Outside a git checkout (e.g. an unpacked source archive)
they run on the working tree instead, and say so with a warning rather than skipping.
"""
import hashlib
import re
import shutil
import subprocess
import warnings
from pathlib import Path

import pytest

from backprop_labs.datasets import advertising, amazon, load_advertising, load_amazon_books
from backprop_labs.paths import DATA_DIR_VARIABLE, SUMS_FILE, known_sums, require_data_file

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent


def _is_git_checkout(root):
    if shutil.which("git") is None:
        return False
    top = subprocess.run(["git", "-C", str(root), "rev-parse", "--show-toplevel"],
                         capture_output=True, text=True)
    return top.returncode == 0 and Path(top.stdout.strip()).resolve() == root


@pytest.fixture(scope="module")
def fresh_tree(tmp_path_factory):
    """A fresh clone of the committed repository, or the working tree when this is no checkout."""
    if not _is_git_checkout(REPOSITORY_ROOT):
        warnings.warn(f"{REPOSITORY_ROOT} is not a git checkout: the newcomer checks look at the working "
                      f"tree, so they cannot tell whether the files are committed")
        return REPOSITORY_ROOT
    clone = tmp_path_factory.mktemp("newcomer") / "backprop-labs"
    cloned = subprocess.run(["git", "clone", "--quiet", str(REPOSITORY_ROOT), str(clone)],
                            capture_output=True, text=True)
    assert cloned.returncode == 0, f"git clone failed: {cloned.stderr}"
    return clone


def _readme_commands(tree):
    """The commands of the README's 'Two commands' code block."""
    readme = (tree / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL).group(1)
    return [line.split("#", 1)[0].strip() for line in block.splitlines() if line.split("#", 1)[0].strip()]


def test_the_readme_two_commands_are_makefile_targets(fresh_tree):
    commands = _readme_commands(fresh_tree)
    assert commands == ["make demo", "make test"]
    makefile = (fresh_tree / "Makefile").read_text(encoding="utf-8")
    for target in ("demo", "test"):
        assert re.search(rf"^{target}:", makefile, re.MULTILINE), f"the Makefile has no '{target}' target"
    if shutil.which("make"):
        for command in commands:  # -n: print what would run, run nothing
            dry_run = subprocess.run([*command.split(), "-n"], cwd=fresh_tree, capture_output=True, text=True)
            assert dry_run.returncode == 0, f"{command} -n: {dry_run.stderr}"


def test_ci_runs_exactly_the_newcomer_command(fresh_tree):
    ci = fresh_tree / ".ci" / "run"
    assert ci.stat().st_mode & 0o111, ".ci/run is not executable"
    lines = [line.strip() for line in ci.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    assert lines[-1] == "exec make test"
    assert not any(re.match(rf"(export\s+)?{DATA_DIR_VARIABLE}=", line) for line in lines), \
        "CI must not point the data directory elsewhere: it runs what a newcomer runs"


def test_data_holds_every_file_the_suite_reads_with_verifying_sums(fresh_tree):
    data = fresh_tree / "data"
    sums = known_sums(data)
    assert sums, f"no {SUMS_FILE} in {data}"
    for name, expected in sums.items():
        path = data / name
        assert path.is_file(), f"{SUMS_FILE} lists {name}, which the clone does not have (not committed?)"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == expected, f"{name}: checksum mismatch"
    # Every file the readers resolve in the clone's data/ is one the sums cover.
    read = [*amazon.books_files(data),
            require_data_file(advertising.RELATIVE_PATH, "Advertising data", advertising.HOW_TO_GET, data)]
    for path in read:
        assert path.relative_to(data).as_posix() in sums, f"{path} is read but not listed in {SUMS_FILE}"
    # And they load from the clone, each sum checked by the reader itself.
    books = load_amazon_books(data)
    assert (books.num_features, books.size("train"), books.size("test")) == (13989, 1600, 400)
    assert load_advertising(data).features.shape == (200, 3)


def test_the_student_install_takes_the_cpu_only_torch_before_the_wheel(fresh_tree):
    """README 'What students install': on Linux, torch from PyPI is the CUDA build (6.0 GB measured with
    its NVIDIA packages), so the block installs torch from PyTorch's CPU index before the wheel, whose
    `torch>=2.1` that torch then satisfies. Read only: nothing is downloaded."""
    readme = (fresh_tree / "README.md").read_text(encoding="utf-8")
    section = readme.split("### What students install", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL).group(1)
    installs = [line.split("#", 1)[0].split() for line in block.splitlines() if line.startswith("pip install")]
    assert installs[0] == ["pip", "install", "torch", "--index-url", "https://download.pytorch.org/whl/cpu"]
    assert any(word.endswith(".whl") for word in installs[1]), installs
    assert "macOS and Windows" in section  # and what to do there
