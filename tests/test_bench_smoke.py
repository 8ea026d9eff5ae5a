"""The benchmark command runs end to end on tiny settings and writes a complete table.

Speed targets are not asserted here (they live in BENCHMARKS.md); this checks that every
row is measured, or says why not, and that each measured row has a ratio.
"""
import re
import subprocess
import sys
from pathlib import Path

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
EXPECTED_ROWS = ["1a", "1b", "1c", "2", "2b", "2c", "2d", "3", "4a", "4b", "5", "6"]
ALWAYS_MEASURED = {"1a", "1b", "1c", "2", "2b", "2c", "2d", "3", "4a", "4b"}  # need nothing but this repository
NUMBER = re.compile(r"^\d[\d,]*(\.\d+)?(e[+-]\d+)? ")


def table_rows(markdown):
    lines = [line for line in markdown.splitlines() if line.startswith("|")]
    split = lambda line: [cell.strip() for cell in line.strip("|").split(" | ")]  # noqa: E731
    header = split(lines[0])
    return header, [dict(zip(header, split(line))) for line in lines[2:]]


def test_quick_bench_writes_every_row_with_a_ratio(tmp_path):
    output = tmp_path / "BENCHMARKS.md"
    finished = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--output", str(output)],
        cwd=REPOSITORY_ROOT, capture_output=True, text=True, timeout=120,
    )
    assert finished.returncode == 0, finished.stderr[-2000:]
    header, rows = table_rows(output.read_text(encoding="utf-8"))
    assert "ratio" in header and "target" in header
    assert [row["#"] for row in rows] == EXPECTED_ROWS
    for row in rows:
        assert not row["measured"].startswith("error"), row
        if row["#"] in ALWAYS_MEASURED:
            assert NUMBER.match(row["ratio"]), row
            assert row["met"] in ("yes", "**no**", ""), row
        else:  # rows that depend on other commands, or on a recorded suite run, say why they are empty
            why_empty = ("not available yet", "not measured yet", "skipped with --quick")
            assert NUMBER.match(row["ratio"]) or row["measured"].startswith(why_empty), row
    # The header names the BLAS kernel the figures depend on.
    assert "BLAS:" in output.read_text(encoding="utf-8")
