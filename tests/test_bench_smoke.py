"""The benchmark command runs end to end on tiny settings and writes a complete table.

Speed targets are not asserted here (they live in BENCHMARKS.md), and nothing here depends on
the machine's speed or load: this checks that every row is measured, or says why not, and that
each measured row has a well-formed, non-negative ratio or says it is unreliable (with the load).
"""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.table import HEADER

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
EXPECTED_ROWS = ["1a", "1b", "1c", "1d", "1e", "1f", "1g", "1h", "2", "2b", "2c", "2d", "3", "4a", "4b", "5", "6"]
# Rows that need nothing but this repository.
ALWAYS_MEASURED = {"1a", "1b", "1c", "1d", "1e", "1f", "1g", "1h", "2", "2b", "2c", "2d", "3", "4a", "4b"}
LOAD = re.compile(r"^\d+\.\d$|^nan$")
NUMBER = re.compile(r"^\d[\d,]*(\.\d+)?(e[+-]\d+)? ")
UNRELIABLE = re.compile(r"^unreliable \(load (\d+\.\d\d|nan)\)$")
NEGATIVE = re.compile(r"(^|\s)-\d")
HANG_GUARD = 900  # seconds: only stops a hung run; the quick bench takes about 20 s on 2 idle cores


def table_rows(markdown):
    lines = [line for line in markdown.splitlines() if line.startswith("|")]
    split = lambda line: [cell.strip() for cell in line.strip("|").split(" | ")]  # noqa: E731
    header = split(lines[0])
    return header, [dict(zip(header, split(line))) for line in lines[2:]]


def test_quick_bench_writes_every_row_with_a_ratio(tmp_path):
    output = tmp_path / "BENCHMARKS.md"
    finished = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--output", str(output)],
        cwd=REPOSITORY_ROOT, capture_output=True, text=True, timeout=HANG_GUARD,
    )
    assert finished.returncode == 0, finished.stderr[-2000:]
    header, rows = table_rows(output.read_text(encoding="utf-8"))
    assert "ratio" in header and "target" in header and "load" in header
    assert [row["#"] for row in rows] == EXPECTED_ROWS
    for row in rows:
        assert not row["measured"].startswith("error"), row
        assert LOAD.match(row["load"]), row  # every row says how loaded the machine was
        assert not NEGATIVE.search(" ".join([row["measured"], row["compared with (same run)"], row["ratio"]])), row
        if row["#"] in ALWAYS_MEASURED:
            if UNRELIABLE.match(row["ratio"]):  # the repetitions disagreed: no figure, no verdict
                assert row["met"] == "", row
            else:
                assert NUMBER.match(row["ratio"]), row
                assert row["met"] in ("yes", "**no**", ""), row
        else:  # rows that depend on other commands, or on a recorded suite run, say why they are empty
            why_empty = ("not available yet", "not measured", "skipped with --quick")
            assert NUMBER.match(row["ratio"]) or row["measured"].startswith(why_empty), row
    # Without --suite the suite is not run, and no old figure is presented as measured.
    suite = next(row for row in rows if row["#"] == "6")
    assert suite["measured"].startswith("not measured") and suite["met"] == "", suite
    # The header names the BLAS kernel the figures depend on.
    assert "BLAS:" in output.read_text(encoding="utf-8")


# Row 3's logic on made-up round times: no clock involved, so no dependence on speed or load.

def _row3(monkeypatch, tmp_path, backward_rounds, forward_rounds):
    import bench.backward_forward as row3
    from bench.settings import Settings
    from bench.tiny_corpus import write_tiny_corpus

    monkeypatch.setattr(row3, "interleaved", lambda contenders, repeats: {
        "forward": forward_rounds, "backward": backward_rounds})
    monkeypatch.setattr(row3, "load_average", lambda: 3.5)
    (row,) = row3.measure(Settings.quick_settings(write_tiny_corpus(tmp_path)))
    return row


def test_row3_gives_the_median_round_ratio_when_rounds_agree(monkeypatch, tmp_path):
    row = _row3(monkeypatch, tmp_path, [2.0e-3, 2.1e-3, 1.9e-3], [1.0e-3, 1.0e-3, 1.0e-3])
    assert row.ratio == pytest.approx(2.0) and row.unreliable_load is None
    cells = dict(zip(HEADER, row.cells()))
    assert cells["ratio"] == "2 forward passes" and cells["met"] == "yes"


def test_row3_says_unreliable_with_the_load_when_rounds_disagree(monkeypatch, tmp_path):
    row = _row3(monkeypatch, tmp_path, [0.5e-3, 2.0e-3, 6.0e-3, 1.0e-3], [1.0e-3, 1.0e-3, 1.0e-3, 1.0e-3])
    cells = dict(zip(HEADER, row.cells()))
    assert cells["ratio"] == "unreliable (load 3.50)" and cells["met"] == ""
    assert UNRELIABLE.match(cells["ratio"]) and row.met is None


def test_row3_times_the_backward_pass_alone_with_the_same_gradients(tmp_path):
    import numpy as np

    from bench.backward_forward import backward_only
    from bench.settings import Settings
    from bench.tiny_corpus import write_tiny_corpus

    settings = Settings.quick_settings(write_tiny_corpus(tmp_path))
    model, batch = settings.numpy_mlp(), settings.first_batch()
    calls = []
    model_forward = model.forward_keeping_activations
    model.forward_keeping_activations = lambda x: calls.append(1) or model_forward(x)
    shortcut = backward_only(model, batch["input"])
    assert len(calls) == 1  # the one forward pass, outside any timing
    gradients = shortcut.backpropagation(batch["input"], batch["output"])
    assert len(calls) == 1  # backpropagation of the copy ran no forward pass
    for ours, full in zip(gradients, model.backpropagation(batch["input"], batch["output"])):
        for gradient, expected in zip(ours, full):
            np.testing.assert_array_equal(gradient, expected)


def test_relative_spread():
    from bench.timing import relative_spread

    assert relative_spread([1.0]) == 0.0
    assert relative_spread([1.0, 1.0, 1.0]) == 0.0
    assert relative_spread([0.9, 1.0, 1.1]) == pytest.approx(0.05)
    assert relative_spread([-1.0, -1.0]) == float("inf")
