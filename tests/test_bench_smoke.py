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
EXPECTED_ROWS = ["1a", "1b", "1c", "1d", "1e", "1f", "1g", "1h", "1i", "2", "2b", "2c", "2d", "3", "4a", "4b", "5", "6", "7"]
# Rows that need nothing but this repository.
ALWAYS_MEASURED = {"1a", "1b", "1c", "1d", "1e", "1f", "1g", "1h", "1i", "2", "2b", "2c", "2d", "3", "4a", "4b"}
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


# Row 5's guards, on made-up gradebook scores and environments: no grading run needed.

def test_honest_controls_below_full_marks_are_named():
    from bench.autograde_parallel import honest_shortfalls

    scores = {"s00_honest": {"a": (2.0, 2.0), "b": (3.0, 3.0)},
              "s01_stub": {"a": (0.0, 2.0), "b": (0.0, 3.0)},          # a stub may score 0
              "s03_honest": {"a": (0.0, 2.0), "b": (0.0, 3.0)},        # graded as the stubs
              "s04_honest": {}}                                          # no graded cell at all
    assert honest_shortfalls(scores) == {"s03_honest": (0.0, 5.0), "s04_honest": (0.0, 0.0)}


def test_a_run_whose_honest_control_scored_zero_fails_loudly(monkeypatch):
    import bench.autograde_parallel as row5
    import grading.course.pipeline as course

    monkeypatch.setattr(course, "cell_scores", lambda course_dir, assignment: {
        "s00_honest": {"a": (2.0, 2.0)}, "s03_honest": {"a": (0.0, 2.0)}})
    with pytest.raises(RuntimeError, match="s03_honest: 0 of 2"):
        row5.require_full_marks_for_honest("course", "trusted N=2", ["s00_honest", "s03_honest"])
    with pytest.raises(RuntimeError, match="s07_honest: not in the gradebook"):
        row5.require_full_marks_for_honest("course", "trusted N=2", ["s00_honest", "s07_honest"])


def test_the_grading_children_get_no_stubs_on_pythonpath_and_the_thread_policy(monkeypatch, tmp_path):
    import os

    from bench.autograde_parallel import grading_environment

    with_stubs = tmp_path / "clone"
    (with_stubs / "labs").mkdir(parents=True)
    (with_stubs / "labs" / "__init__.py").write_text("")
    other = tmp_path / "other"
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(with_stubs), str(other)]))
    monkeypatch.delenv("BACKPROP_LABS_THREADS", raising=False)
    with grading_environment() as dropped:
        assert dropped == [str(with_stubs)]
        assert os.environ["PYTHONPATH"] == str(other)
        assert os.environ["OPENBLAS_NUM_THREADS"] == "1" and os.environ["OMP_NUM_THREADS"] == "1"
    assert os.environ["PYTHONPATH"] == os.pathsep.join([str(with_stubs), str(other)])


def test_the_table_is_written_only_when_asked(monkeypatch, tmp_path, capsys):
    import bench.__main__ as command

    monkeypatch.setattr(command, "run_benchmarks", lambda settings, report, only=None: [])
    monkeypatch.setattr(command, "REPOSITORY_ROOT", tmp_path)
    assert command.main(["--quick"]) == 0
    assert not (tmp_path / "BENCHMARKS.md").exists() and "# Benchmarks" in capsys.readouterr().out
    assert command.main(["--quick", "--write"]) == 0
    assert (tmp_path / "BENCHMARKS.md").read_text(encoding="utf-8").startswith("# Benchmarks")


def test_threads_reach_child_processes(monkeypatch):
    import os

    from backprop_labs.threads import LIBRARY_THREAD_VARIABLES, THREADS_VARIABLE, ask_child_processes_for

    for name in (THREADS_VARIABLE, *LIBRARY_THREAD_VARIABLES):
        monkeypatch.setenv(name, "")   # restored after the test
    ask_child_processes_for(1)
    child = subprocess.run([sys.executable, "-c", "from backprop_labs.threads import requested_threads; "
                            "import os; print(requested_threads(), os.environ['OPENBLAS_NUM_THREADS'])"],
                           cwd=REPOSITORY_ROOT, capture_output=True, text=True, env=dict(os.environ), timeout=120)
    assert child.stdout.split() == ["1", "1"], child.stderr


def test_only_carries_the_other_benchmarks_rows_over_from_the_file(monkeypatch, tmp_path, capsys):
    """``--only 3``: row 3 measured now; the rows of every other benchmark kept from the file as they were
    printed (a cell holding ``|`` included), marked as carried over, in table order."""
    import bench.__main__ as command
    from bench.table import Row, Target, render

    earlier = render([Row("1a", "check", measured="a | b", baseline="x", ratio=2.0, target=Target("<=", 5)),
                      Row("3", "old row 3", measured="old", ratio=9.0),
                      Row("7b", "class", measured="c", ratio=1.5, note="n")],
                     ["# Benchmarks", "", "Measured 2026-01-02 by `python -m bench`.", ""], 7)
    (tmp_path / "BENCHMARKS.md").write_text(earlier, encoding="utf-8")
    asked = []
    monkeypatch.setattr(command, "run_benchmarks", lambda settings, report, only=None: asked.append(only) or [
        Row("3", "new row 3", measured="new", ratio=0.5)])
    monkeypatch.setattr(command, "REPOSITORY_ROOT", tmp_path)
    assert command.main(["--quick", "--only", "3", "--write"]) == 0
    assert asked == [["3"]]
    _, rows = table_rows((tmp_path / "BENCHMARKS.md").read_text(encoding="utf-8"))
    assert [(row["#"], row["benchmark"]) for row in rows] == [("1a", "check"), ("3", "new row 3"), ("7b", "class")]
    assert rows[0]["measured"] == "a \\| b" and rows[0]["met"] == "yes"
    assert rows[0]["notes"] == "carried over unchanged from the table measured 2026-01-02"
    assert rows[2]["notes"].startswith("n; carried over") and "carried" not in rows[1]["notes"]
    # Carried again by a later run: the row keeps the date it was measured, said once.
    assert command.main(["--quick", "--only", "3", "--write"]) == 0
    _, again = table_rows((tmp_path / "BENCHMARKS.md").read_text(encoding="utf-8"))
    assert again[0]["notes"] == "carried over unchanged from the table measured 2026-01-02"
    assert again[2]["notes"] == "n; carried over unchanged from the table measured 2026-01-02"


def test_the_class_projection_follows_the_measured_figures():
    """Rows 7-7e from made-up figures (no clock): 10 students in 40 s on 1 worker and 25 s on 2
    (efficiency 80 %), 1.0 GiB then 1.5 GiB peak, 2 MiB of disk per student; 48 CPU seconds on 1 worker:
    1.2 cores busy, so 2 workers on 2 cores reach at most 2 / 1.2."""
    from bench import class_scale
    from bench.timing import paired_ratio

    gib, mib = 2 ** 30, 2 ** 20
    figures = {
        "students": 10, "rounds": 1, "honest": 4, "kinds": ["honest", "stub"],
        "figures": {"floor": {"seconds": [20.0], "rss": [0.8 * gib], "zygotes": [3]},
                    "grade N=1": {"seconds": [40.0], "rss": [1.0 * gib], "zygotes": [3], "cpu": [48.0]},
                    "grade N=2": {"seconds": [25.0], "rss": [1.5 * gib], "zygotes": [6]}},
        "disk_per_student": 2 * mib, "course_bytes": 0,
        "grade_over_floor": paired_ratio([40.0], [20.0]), "grade2_over_floor": paired_ratio([25.0], [20.0]),
        "workers": paired_ratio([40.0], [25.0]), "load_before": (3.0, 2.0, 1.0), "load_after": (4.0, 2.5, 1.5),
        "cores": 2}
    projected = class_scale.project(figures, submissions=1000, workers=(1, 2, 8))
    assert projected["efficiency"] == pytest.approx(0.8)
    assert projected["by_workers"][1]["seconds"] == pytest.approx(4000.0)
    assert projected["by_workers"][2]["seconds"] == pytest.approx(4000.0 / 1.6)
    assert projected["by_workers"][8]["seconds"] == pytest.approx(4000.0 / 6.4)
    assert projected["by_workers"][8]["peak_bytes"] == pytest.approx(1.0 * gib + 7 * 0.5 * gib)
    assert projected["by_workers"][2]["disk_bytes"] == 2000 * mib
    rows = class_scale.rows(figures)
    assert [row.key for row in rows] == ["7", "7b", "7c", "7d", "7e"]
    assert rows[0].ratio == pytest.approx(2.0) and rows[0].met is False     # 2x the floor: above 1.5
    assert rows[1].ratio == pytest.approx(1.6) and rows[1].met is False     # 1.6x: below 1.8
    assert "load average (1, 5, 15 min) 3.00, 2.00, 1.00 before" in rows[0].note
    assert "1 worker kept 1.20 cores busy on average" in rows[1].note and "at most 1.67x" in rows[1].note
    assert rows[4].measured.startswith("10 min, peak 4.5 GiB, disk 2.0 GiB"), rows[4].measured
    # The machine's own 1 -> 2 processes throughput (2 x 1.0 s of work in 1.1 s: 1.82x) bounds 7b's 1.6x.
    figures["machine"] = {"from memory": (1.0, 1.1, paired_ratio([2.0], [1.1])),
                          "in cache": (1.0, 1.0, paired_ratio([2.0], [1.0]))}
    rows = class_scale.rows(figures)
    assert [row.key for row in rows] == ["7", "7b", "7f", "7c", "7d", "7e"]
    assert rows[2].ratio == pytest.approx(2 / 1.1) and rows[2].target is None
    assert "7b reached 88% of this" in rows[2].note and "in cache: 2.00x" in rows[2].note, rows[2].note
