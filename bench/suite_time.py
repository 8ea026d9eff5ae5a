"""Row 6: wall time of the full test suite, ``pytest -n 2`` as ``make test`` runs it.

Running the suite takes minutes, so it runs only with ``--suite``, which also records the
figure in ``bench/suite_time.json``. Without ``--suite`` the row says "not measured" and its
notes quote the last recorded figure and its date, with no verdict.
"""
import datetime
import json
import subprocess
import sys
import time

from .settings import REPOSITORY_ROOT
from .table import Row, Target, seconds

BUDGET_SECONDS = 15 * 60  # the suite's budget on 2 cores
COMMAND = ["-m", "pytest", "-n", "2", "-q", "-p", "no:cacheprovider"]


def measure(settings):
    what = "full test suite, `pytest -n 2`"
    target = Target("<", BUDGET_SECONDS, "s")
    if not settings.run_suite:
        try:
            record = json.loads(settings.suite_record.read_text(encoding="utf-8"))
            last = f"last recorded {record['date']}: {seconds(record['seconds'])} ({record['summary']})"
        except FileNotFoundError:
            last = "no run recorded"
        return [Row("6", what, status="not measured (run `python -m bench --suite`)", target=target, note=last)]
    record = run_suite(settings.suite_record)
    if record["exit_code"] != 0:
        failed = "; ".join(record.get("failed", [])[:5])
        raise RuntimeError(f"the test suite failed ({record['summary']}{': ' + failed if failed else ''}): "
                           f"its time is not a benchmark")
    return [Row("6", what, measured=seconds(record["seconds"]),
                baseline=f"budget {seconds(BUDGET_SECONDS)}", ratio=record["seconds"] / BUDGET_SECONDS,
                ratio_unit="of budget", target=target, checked=record["seconds"],
                note=f"run now, {record['summary']}")]


def run_suite(record_path):
    """Run the suite once, record ``{seconds, date, summary, exit_code}`` and return it."""
    start = time.perf_counter()
    finished = subprocess.run([sys.executable, *COMMAND], cwd=REPOSITORY_ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    lines = [line for line in finished.stdout.splitlines() if line.strip()]
    failures = [line for line in lines if line.startswith(("FAILED ", "ERROR "))]
    record = {
        "seconds": round(elapsed, 1),
        "date": datetime.date.today().isoformat(),
        "summary": lines[-1].strip("= ") if lines else f"no output, exit code {finished.returncode}",
        "exit_code": finished.returncode,
        "failed": [line.split(" - ")[0] for line in failures],
        # pytest's short summary (-ra) gives each failure's message after " - ": kept, to tell why.
        "reasons": [line[:400] for line in failures if " - " in line],
    }
    record_path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return record
