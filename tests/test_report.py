"""The sweep report: built at the end of a real (tiny) sweep, checked as files and in a real browser."""
from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess

import pandas as pd
import pytest
from PIL import Image

from conftest import assert_one_line_error, load, run, run_inproc, snapshot, sweep_args
from mnist_sweep.report import SECTIONS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def embedded_images(page: str) -> list[Image.Image]:
    out = []
    for data in re.findall(r'src="data:image/png;base64,([^"]+)"', page):
        img = Image.open(io.BytesIO(base64.b64decode(data)))
        img.load()  # raises if the PNG does not decode
        out.append(img)
    return out


def test_sweep_writes_a_self_contained_report(swept):
    tmp, _, _ = swept
    d = tmp / "e2e"
    page = (d / "report.html").read_text()  # written by the sweeper's on_sweep_end hook
    for section in SECTIONS:
        assert f'<section id="{section}">' in page
    assert "file:" not in page and "http" not in page  # nothing to fetch: opens from disk
    images = embedded_images(page)
    assert len(images) == 4 and all(i.size[0] > 100 for i in images)
    for png in ("history", "accuracy_vs_params", "importances", "top5_curves"):
        Image.open(d / "report" / f"{png}.png").load()
    board = pd.read_csv(d / "leaderboard.csv")
    counts = board.status.value_counts()
    assert f"{counts['complete']} complete" in page and f"{counts.get('rejected', 0)} rejected" in page
    assert "Total params:" in page  # the best trial's model summary
    body = page.split("<tbody>")[1].split("</tbody>")[0]
    assert body.count("<tr>") == min(10, len(board))  # the top 10


def test_report_cli_rebuilds_and_reports_bad_paths(swept, tmp_path):
    tmp, _, _ = swept
    proc = run(["mnist_sweep.report", str(tmp / "e2e")], cwd=tmp)
    assert proc.returncode == 0, proc.stderr
    assert_one_line_error(run(["mnist_sweep.report", str(tmp_path)], cwd=tmp_path), "no leaderboard.csv")


@pytest.mark.parametrize("args, needles", [
    (["nowhere"], ["nowhere"]),
    (["empty_dir"], ["empty_dir", "no leaderboard.csv"]),
    (["board", "--storage", "sqlite:///missing.db"], ["--storage", "missing.db", "no such database file"]),
    (["board", "--storage", "postgresql://me:hunter2@h/db"], ["--storage", "me:***@h/db", "clear text"]),
    ([""], ["path", "expected a path"]),
])
def test_report_bad_paths_one_line(tmp_path, args, needles):
    """In-process (main(argv)); the report is read-only: no file or database appears."""
    (tmp_path / "empty_dir").mkdir()
    (tmp_path / "board").mkdir()
    (tmp_path / "board" / "leaderboard.csv").write_text("rank,trial,status,trial_dir\n1,0,complete,/nowhere\n")
    before = snapshot(tmp_path)
    proc = run_inproc(["mnist_sweep.report", *args], cwd=tmp_path)
    assert_one_line_error(proc, *needles)
    assert snapshot(tmp_path) == before and "hunter2" not in proc.stderr


def test_report_refusal_as_a_subprocess(tmp_path):
    proc = run(["mnist_sweep.report", "nowhere"], cwd=tmp_path)
    assert_one_line_error(proc, "nowhere")
    assert list(tmp_path.iterdir()) == []


def test_progress_lines_per_trial(tmp_path):
    proc = run(sweep_args(tmp_path, "prog", 2, "model.c3=choice(8,16)"), cwd=tmp_path)
    assert proc.returncode == 0
    out = proc.stdout + proc.stderr
    assert re.search(r"\[1/2\] trial \d+ complete, metric 0\.\d{4}, best 0\.\d{4} \(trial \d+\), ETA \d+ min", out), out[-3000:]
    assert re.search(r"\[2/2\] trial \d+ complete, .* ETA done", out)


def test_pareto_mode_marks_the_front(tmp_path):
    proc = run(sweep_args(tmp_path, "mo", 4, "hparams_search=pareto", "model.c3=choice(8,16,24)",
                          "model.c4=choice(8,16)"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    study = load(tmp_path, "mo")
    assert len(study.directions) == 2
    front = {t.number for t in study.best_trials}
    board = pd.read_csv(tmp_path / "mo" / "leaderboard.csv")
    marked = set(board.loc[board.pareto.astype(bool), "trial"])
    assert marked == front and len(front) >= 1
    assert (tmp_path / "mo" / "report.html").exists()


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_report_in_a_real_browser(swept, tmp_path):
    tmp, _, _ = swept
    report = tmp / "e2e" / "report.html"
    probe = tmp_path / "probe.html"  # a copy with a probe script: what loaded, how many rows
    probe.write_text(report.read_text().replace("</body>", """<script>
window.addEventListener('load', () => {
  document.body.setAttribute('data-widths', [...document.images].map(i => i.naturalWidth).join(','));
  document.body.setAttribute('data-rows', document.querySelectorAll('table.board tbody tr').length);
});</script></body>"""))
    common = [*FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=10000"]
    dom = subprocess.run([CHROMIUM, *common, "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=120)
    widths = re.search(r'data-widths="([^"]*)"', dom.stdout)
    rows = re.search(r'data-rows="(\d+)"', dom.stdout)
    assert widths and rows, dom.stderr[-2000:]
    assert [int(w) > 0 for w in widths.group(1).split(",")] == [True] * 4
    assert int(rows.group(1)) == min(10, len(pd.read_csv(tmp / "e2e" / "leaderboard.csv")))
    shot = tmp_path / "report.png"
    subprocess.run([CHROMIUM, *common, f"--screenshot={shot}", "--window-size=1200,3000", report.as_uri()],
                   capture_output=True, timeout=120)
    Image.open(shot).load()
    assert Image.open(shot).size == (1200, 3000)
