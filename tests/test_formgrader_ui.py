"""nbgrader's own web UI on a course graded with the trusted checks.

A small class (honest, partly right, cheat) is graded by ``backprop-labs grade``; formgrader is then
served as the course would serve it (``jupyter server`` from the course folder, with the nbgrader
server extension that the ``course`` extra enables) on 127.0.0.1, and its pages are read in headless
Chromium: the assignment is listed, both submissions tables show each student's trusted score, and
the students page shows the names ``course roster`` imported. formgrader's Autograde button is refused
before nbgrader touches a file: its dialog opens with the reason, in lines the dialog shows whole, and
the student keeps the trusted score and the graded copy.
The cheat's notebook makes every one of its own tests pass, so plain nbgrader (graded here too, on a
copy of the course) gives it full marks; formgrader must show the trusted 0. Screenshots are kept in
``out/test-artifacts/formgrader/``.
"""
import csv
import http.client
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from chromium import ARTIFACTS, browser, open_page  # noqa: F401 (the fixture)
from grading.cli import main
from grading.course.preprocessors import trusted_refusal
from trusted_class import build_demo_class, graded_files

pytestmark = [pytest.mark.corpus, pytest.mark.slow]
ASSIGNMENT = "backprop_mlp"
HONEST, PARTLY_RIGHT, CHEAT = "s00_honest", "s01_sigmoid_only", "s02_cheat"
SCREENSHOTS = ARTIFACTS / "formgrader"
SERVER_START_SECONDS = 180  # upper bounds for a loaded machine, not guesses of the time: we poll
REQUEST_SECONDS = 60        # one status request (5 s was shorter than a loaded server's first answers)
SERVER_STOP_SECONDS = 180


def _scores(csv_path):
    with open(csv_path, encoding="utf-8", newline="") as handle:
        return {row["student_id"]: (float(row["score"]), float(row["max_score"])) for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def graded(tmp_path_factory, books):
    """The course graded with the trusted checks, and the cheat's score under plain nbgrader."""
    root = tmp_path_factory.mktemp("formgrader")
    course = build_demo_class(root, ["honest", "sigmoid_only", "cheat"])
    plain = root / "plain-course"
    shutil.copytree(course, plain, symlinks=True)  # collected, not graded
    status = main(["grade", str(course), ASSIGNMENT, "--csv", str(root / "trusted.csv")])
    problems = root / "trusted-problems.csv"
    assert status == 0, problems.read_text(encoding="utf-8") if problems.exists() else "no problems file"
    assert main(["grade", str(plain), ASSIGNMENT, "--csv", str(root / "plain.csv"), "--in-kernel",
                 "--student", CHEAT]) == 0
    return course, _scores(root / "trusted.csv"), _scores(root / "plain.csv")[CHEAT]


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _server_answers(port, token):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_SECONDS)
    try:
        connection.request("GET", "/api/status", headers={"Authorization": f"token {token}"})
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


@pytest.fixture(scope="module")
def formgrader(graded, tmp_path_factory):
    """``jupyter server`` in the course folder, on 127.0.0.1 with a token; its base URL."""
    course = graded[0]
    home = tmp_path_factory.mktemp("jupyter-home")  # no user configuration or runtime files of this machine
    environment = {**os.environ, "JUPYTER_CONFIG_DIR": str(home / "config"),
                   "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "JUPYTER_DATA_DIR": str(home / "data")}
    port, token = _free_port(), secrets.token_hex(16)
    log = open(home / "server.log", "wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "server", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         "--ServerApp.port_retries=0", "--allow-root", f"--ServerApp.root_dir={course}",
         f"--IdentityProvider.token={token}"],
        cwd=course, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while not _server_answers(port, token):
            assert server.poll() is None, f"jupyter server exited:\n{(home / 'server.log').read_text()}"
            assert time.monotonic() < deadline, f"jupyter server not answering:\n{(home / 'server.log').read_text()}"
            time.sleep(0.2)  # the polling interval
        yield f"http://127.0.0.1:{port}", token
    finally:
        server.send_signal(signal.SIGTERM)  # jupyter server's own clean shutdown
        try:
            server.wait(timeout=SERVER_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()
    assert server.returncode == 0, (home / "server.log").read_text()


@pytest.fixture
def page(browser, formgrader):  # noqa: F811 (browser is the imported fixture)
    base, token = formgrader
    view = open_page(browser, viewport={"width": 1400, "height": 900})
    view.goto(f"{base}/formgrader?token={token}")  # the token's cookie authorizes the later pages
    yield view
    view.close()


def _table(view, url, screenshot, prepare=None):
    """The page's table once formgrader's script has filled it in: one ``{column: text}`` per row."""
    view.goto(url)
    view.locator("table tbody tr td a").first.wait_for()  # the page's bound (chromium.BROWSER_MS)
    if prepare is not None:
        prepare(view)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    view.screenshot(path=str(SCREENSHOTS / screenshot), full_page=True)
    columns = [text.strip() for text in view.locator("table thead th").all_inner_texts()]
    return [dict(zip(columns, (text.strip() for text in row.locator("td").all_inner_texts())))
            for row in view.locator("table tbody tr").all()]


def _shown(score):
    """A score as formgrader's pages write it (rounded to 2 places, no trailing zeros)."""
    value, maximum = score
    return f"{round(value, 2):g} / {round(maximum, 2):g}"


def test_the_trusted_scores_differ_from_plain_nbgrader(graded):
    _, trusted, plain_cheat = graded
    assert trusted[HONEST][0] == trusted[HONEST][1] == 10.0
    assert 0.0 < trusted[PARTLY_RIGHT][0] < trusted[PARTLY_RIGHT][1]
    assert trusted[CHEAT][0] == 0.0 and plain_cheat == (10.0, 10.0)


def test_formgrader_lists_the_assignment(page, formgrader):
    rows = _table(page, f"{formgrader[0]}/formgrader/manage_assignments", "manage-assignments.png")
    [row] = [row for row in rows if row["Name"] == ASSIGNMENT]
    assert row["# Submissions"] == "3", row


def test_formgrader_manage_submissions_shows_the_trusted_scores(page, formgrader, graded):
    _, trusted, _ = graded
    rows = _table(page, f"{formgrader[0]}/formgrader/manage_submissions/{ASSIGNMENT}", "manage-submissions.png")
    shown = {row["Student ID"]: row["Score"] for row in rows}
    assert shown == {student: _shown(score) for student, score in trusted.items()}


def test_formgrader_gradebook_shows_the_trusted_scores(page, formgrader, graded):
    _, trusted, _ = graded
    rows = _table(page, f"{formgrader[0]}/formgrader/gradebook/{ASSIGNMENT}/{ASSIGNMENT}", "gradebook.png",
                  prepare=lambda view: view.click("#toggle_names"))
    shown = {row["Submission ID"]: row["Overall Score"] for row in rows}  # names shown: the students' ids
    assert shown == {student: _shown(score) for student, score in trusted.items()}
    assert shown[CHEAT] != _shown(graded[2])
    assert (SCREENSHOTS / "gradebook.png").stat().st_size > 10_000


# The lines of ``lines`` (each found in the text of ``element``, a ``<pre>``) that lie wholly within
# the element's visible box: text past its right edge needs scrolling sideways, or cannot be seen.
LINES_SEEN_WHOLE = """(element, lines) => {
    const text = element.firstChild, box = element.getBoundingClientRect();
    const left = box.left + element.clientLeft, right = left + element.clientWidth;
    return lines.filter(line => {
        const start = text.data.indexOf(line);
        if (start < 0) return false;
        const range = document.createRange();
        range.setStart(text, start);
        range.setEnd(text, start + line.length);
        return [...range.getClientRects()].every(rect => rect.left >= left && rect.right <= right);
    });
}"""


def test_formgrader_autograde_click_is_refused_readably_and_keeps_the_trusted_score(page, formgrader, graded):
    # The cheat: plain nbgrader would give it full marks, so an autograde that went through shows here.
    course, trusted, _ = graded
    files = graded_files(course)
    assert f"autograded/{CHEAT}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb" in files
    url = f"{formgrader[0]}/formgrader/manage_submissions/{ASSIGNMENT}"
    before = {row["Student ID"]: row for row in _table(page, url, "autograde-before-click.png")}
    assert before[CHEAT]["Score"] == _shown(trusted[CHEAT]) and before[CHEAT]["Status"] != "needs autograding"

    row = page.locator("table tbody tr").filter(has=page.locator("td.student-id", has_text=CHEAT))
    row.locator("td.autograde a").click()
    modal = page.locator(".modal.in .modal-dialog")    # formgrader shows it when nbgrader's answer arrives
    modal.wait_for()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "autograde-refused.png"), full_page=True, animations="disabled")
    assert modal.locator(".modal-title").inner_text() == "Error"
    # What the instructor reads first: formgrader's sentence, then nbgrader's log, which opens with the
    # refusal, and only then the traceback.
    refusal = trusted_refusal(course, ASSIGNMENT, [CHEAT])
    panels = modal.locator(".panel")
    assert panels.locator(".panel-heading").all_inner_texts() == ["Log Output", "Traceback"]
    log = panels.nth(0).locator("pre")
    lines = [line.strip() for line in refusal.splitlines()]   # nbgrader's log indents the lines after the first
    assert [line.strip() for line in log.inner_text().splitlines()][:len(lines)] == [f"[ERROR] {lines[0]}", *lines[1:]]
    assert panels.nth(1).locator("pre").inner_text().rstrip().endswith(refusal)
    # formgrader does not wrap the log: each line of the refusal but a path is seen whole, without scrolling.
    prose = [line for line in lines if str(course) not in line]
    assert len(prose) >= 2 and log.evaluate(LINES_SEEN_WHOLE, prose) == prose

    page.keyboard.press("Escape")
    after = {row["Student ID"]: row for row in _table(page, url, "autograde-after-click.png")}  # reloaded
    assert after[CHEAT]["Score"] == _shown(trusted[CHEAT]) and after[CHEAT]["Status"] == before[CHEAT]["Status"]
    assert graded_files(course) == files   # the graded copy and the feedback, as they were


def test_formgrader_shows_the_names_of_the_roster(page, formgrader, graded, tmp_path):
    # Last: the names change how the gradebook page above shows its students.
    roster = tmp_path / "roster.csv"
    roster.write_text(f"id,first_name,last_name,email\n{HONEST},Ada,Lovelace,ada@example.org\n"
                      f"{PARTLY_RIGHT},John,Smith,john@example.org\n", encoding="utf-8")
    assert main(["course", "roster", str(graded[0]), str(roster)]) == 0
    rows = _table(page, f"{formgrader[0]}/formgrader/manage_students", "manage-students.png")
    shown = {row["Student ID"]: (row["Name"], row["Email"]) for row in rows}
    assert shown[HONEST] == ("Lovelace, Ada", "ada@example.org")
    assert shown[PARTLY_RIGHT] == ("Smith, John", "john@example.org")
    assert shown[CHEAT][0] == "None, None"   # not in the roster: what formgrader showed for everyone before


@pytest.fixture(autouse=True, scope="module")
def _clean_artifacts():
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)  # this module's screenshots only
    yield
