"""The sweep report: built at the end of a real (tiny) sweep, checked as files and in a real browser."""
from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from omegaconf import OmegaConf
from PIL import Image

from conftest import TINY, assert_one_line_error, load, make_cfg, run, run_inproc, snapshot, sweep_args
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


def section(page: str, name: str) -> str:
    return page.split(f'<section id="{name}">')[1].split("</section>")[0]


def test_sweep_writes_a_self_contained_report(swept):
    tmp, _, _ = swept
    d = tmp / "e2e"
    page = (d / "report.html").read_text()  # written by the sweeper's on_sweep_end hook
    for name in SECTIONS:
        assert f'<section id="{name}">' in page
    assert "file:" not in page and "http" not in page  # nothing to fetch: opens from disk
    images = embedded_images(page)
    assert all(i.size[0] > 100 for i in images)
    for name, png in (("history", "history"), ("accuracy_vs_params", "accuracy_vs_params"), ("curves", "top5_curves")):
        assert len(embedded_images(section(page, name))) == 1, name
        Image.open(d / "report" / f"{png}.png").load()
    # 5 complete trials: importances are drawn, unless the 1-epoch trials on 512 images all end at the
    # same validation accuracy (some CPUs' numbers do, others' do not): then the section says so
    importances = section(page, "importances")
    assert len(embedded_images(importances)) == 1 or (
        "have the same validation accuracy" in importances and "no variance to attribute" in importances)
    assert len(images) == 3 + len(embedded_images(importances))
    board = pd.read_csv(d / "leaderboard.csv")
    counts = board.status.value_counts()
    assert f"{counts['complete']} complete" in page and f"{counts.get('rejected', 0)} rejected" in page
    assert "Total params:" in page  # the best trial's model summary, with the dropout it trained with
    assert "BitsDropout" in section(page, "model")  # conf/trainer's fast_dropout: the summary showed torch's Dropout
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
    (["board", "--storage", "sqlite:///missing.db"], ["--storage", "missing.db", "no such SQLite file"]),
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
    proc = run(["mnist_sweep.report", "nowhere"], cwd=tmp_path, process=True)
    assert_one_line_error(proc, "nowhere")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_progress_lines_per_trial(tmp_path):
    proc = run(sweep_args(tmp_path, "prog", 2, "model.c3=choice(8,16)"), cwd=tmp_path)
    assert proc.returncode == 0
    out = proc.stdout + proc.stderr
    assert re.search(r"\[1/2\] trial \d+ complete, val_acc \d+\.\d\d%, best \d+\.\d\d% \(trial \d+\), ETA (\d+ (min|s)|\?)", out), out[-3000:]
    assert re.search(r"\[2/2\] trial \d+ complete, .* ETA done", out)


@pytest.mark.slow
def test_pareto_mode_marks_the_front(tmp_path):
    proc = run(sweep_args(tmp_path, "mo", 4, "hparams_search=pareto", "model.c3=choice(8,16,24)",
                          "model.c4=choice(8,16)", report=True), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    study = load(tmp_path, "mo")
    assert len(study.directions) == 2
    front = {t.number for t in study.best_trials if t.user_attrs["status"] != "duplicate"}
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
    n_images = len(embedded_images(report.read_text()))  # 3 or 4: importances depend on the numbers (see above)
    assert [int(w) > 0 for w in widths.group(1).split(",")] == [True] * n_images and n_images >= 3
    assert int(rows.group(1)) == min(10, len(pd.read_csv(tmp / "e2e" / "leaderboard.csv")))
    shot = tmp_path / "report.png"
    subprocess.run([CHROMIUM, *common, f"--screenshot={shot}", "--window-size=1200,3000", report.as_uri()],
                   capture_output=True, timeout=120)
    Image.open(shot).load()
    assert Image.open(shot).size == (1200, 3000)


# ------------------------------------------------------------------ issue 15: truthful, data-scaled, findable
from mnist_sweep import plots  # noqa: E402
from mnist_sweep import report as report_mod  # noqa: E402
from image_stats import axes_boxes, colored, inside, rgb  # noqa: E402


@pytest.fixture(scope="module")
def tiny_report(tiny_sweep, tmp_path_factory):
    """``report`` run by a user from a directory that is not the sweep's (its storage is the relative
    sqlite:///db/optuna.db there): it must find the study through the recorded storage."""
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    proc = run(["mnist_sweep.report", str(tiny_sweep.dir)], cwd=elsewhere)
    assert proc.returncode == 0, proc.stderr
    assert list(elsewhere.iterdir()) == []  # nothing created where it ran
    return tiny_sweep.dir / "report.html"


@pytest.mark.slow
def test_report_from_elsewhere_has_every_section(tiny_report):
    page = tiny_report.read_text()
    for name in ("history", "accuracy_vs_params", "curves"):
        assert len(embedded_images(section(page, name))) == 1, name
    importances = section(page, "importances")  # 5 complete trials: computed from the study
    assert "over the 5 complete trials" in importances or "all 5 complete trials have the same" in importances
    assert len(embedded_images(importances)) == ("over the 5 complete trials" in importances)
    assert "From the Optuna study" in page


def _below(a, box) -> int:
    """Saturated pixels under the axes (where the legend goes)."""
    return int(colored(a)[box[1] + 3:, box[2]:box[3]].sum())


@pytest.mark.slow
def test_every_plot_has_drawn_data(tiny_sweep, tiny_report):
    """What holds whatever the trials' numbers (they differ between CPUs): each plot draws data
    inside its axes and its legend under them. Which series lies on top: test_coinciding_series_stay_visible."""
    d = tiny_sweep.dir / "report"
    a = rgb(d / "top5_curves.png")  # a 1-epoch sweep at 30-80%: far below the old fixed 97-100% axis
    (box,) = axes_boxes(a)
    assert inside(a, box, colored(a)) > 20 and _below(a, box) > 0  # markers inside (even all on one spot), legend outside
    a = rgb(d / "accuracy_vs_params.png")
    val_box, test_box = axes_boxes(a)
    crimson = colored(a, "#dc143c")
    assert inside(a, val_box, crimson) > 30  # the Pareto front (one diamond at least): on the validation panel ...
    assert inside(a, test_box, crimson) == 0  # ... and nowhere on the test panel
    assert inside(a, test_box, colored(a, "#1f77b4")) > 10  # complete trials' test accuracies
    if (d / "importances.png").exists():  # drawn unless all 5 trials have the same validation accuracy
        assert colored(rgb(d / "importances.png")).sum() > 500  # optuna's own bars (ggplot style: no black frame)
    assert colored(rgb(d / "history.png")).sum() > 100  # optuna's ggplot style has no black frame: dots and best line
    trial = tiny_sweep.dir / f"trial_{int(tiny_sweep.board.trial.iloc[0]):04d}"
    a = rgb(trial / "curves.png")  # a single run's curves
    loss_box, acc_box = axes_boxes(a)
    assert _below(a, acc_box) > 0 and _below(a, loss_box) > 0  # legends under the axes: inside is data only
    assert inside(a, acc_box, colored(a)) > 10 and inside(a, loss_box, colored(a)) > 10


SERIES_COLORS = {"train": "#1f77b4", "val": "#ff7f0e", "test": "#2ca02c"}


@pytest.mark.parametrize("epochs", [1, 4])
def test_coinciding_series_stay_visible(tmp_path, epochs):
    """Validation == test (1-epoch runs often end so): both stay visible, as does train where it
    coincides with them too (the last epoch here); every series' colour inside both axes."""
    up = [0.2 * (i + 1) for i in range(epochs)]
    down = [1.5 / (i + 1) for i in range(epochs)]
    train_acc = [a - 0.1 for a in up[:-1]] + up[-1:]
    train_loss = [x + 0.4 for x in down[:-1]] + down[-1:]
    m = pd.DataFrame({"epoch": range(1, epochs + 1), "train_loss": train_loss, "val_loss": down, "test_loss": down,
                      "train_acc": train_acc, "val_acc": up, "test_acc": up})
    a = rgb(plots.curves(m, tmp_path / "curves.png"))
    loss_box, acc_box = axes_boxes(a)
    for name, color in SERIES_COLORS.items():
        assert inside(a, acc_box, colored(a, color)) > 10, name
        assert inside(a, loss_box, colored(a, color)) > 10, name


def test_report_page_is_escaped(tmp_path):
    """The template autoescapes: a sweep dir name and a hyperparameter value are shown, never run."""
    d = tmp_path / 'a<b>&"c'
    d.mkdir()
    pd.DataFrame({"rank": [1], "trial": [0], "status": ["rejected"], "params": [50000], "val_acc": [None],
                  "test_acc_final": [None], "hp.model.act": ["<script>x</script>"], "trial_dir": [None]}
                 ).to_csv(d / "leaderboard.csv", index=False)
    page = report_mod.build(d, use_study=False).read_text()
    assert "<title>Sweep report: a&lt;b&gt;&amp;&#34;c</title>" in page and "<script>" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page and "<td>rejected</td>" in page
    assert page.count("built with --no-study") == 2 and "no trial has been trained yet" in page
    assert page.startswith("<!doctype html>") and page.endswith("</body></html>\n")


def _figure_of(monkeypatch):
    """Capture the figure a plots function saves."""
    saved = {}

    def keep(fig, path):
        saved["fig"] = fig
        return path

    monkeypatch.setattr(plots, "_save", keep)
    return saved


def test_curves_axes_fit_the_data_with_integer_epochs(monkeypatch, tmp_path):
    saved = _figure_of(monkeypatch)
    m = pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [2.2, 1.0, 0.5], "val_loss": [2.0, 0.9, 0.4],
                      "test_loss": [2.0, 0.9, 0.4], "train_acc": [0.12, 0.7, 0.9], "val_acc": [0.3, 0.8, 0.95],
                      "test_acc": [0.31, 0.81, 0.96]})
    plots.curves(m, tmp_path / "c.png")
    _, acc = saved["fig"].axes[:2]
    lo, hi = acc.get_ylim()
    assert lo <= 12 and 96 <= hi <= 100.5  # epoch 1's training accuracy (12%) is inside
    assert list(acc.get_xticks()) == [1, 2, 3] and acc.get_xlim()[0] < 1


def test_pareto_front_is_drawn_on_the_split_it_is_computed_on(monkeypatch, tmp_path):
    saved = _figure_of(monkeypatch)
    board = pd.DataFrame({  # trial 1 is best on validation, trial 2 on test
        "trial": [0, 1, 2, 3], "status": ["complete"] * 3 + ["rejected"], "params": [5000, 9000, 9000, 30000],
        "val_acc": [0.90, 0.95, 0.93, None], "test_acc_final": [0.91, 0.92, 0.97, None],
    })
    plots.accuracy_vs_params(board, tmp_path / "a.png", 20_000, 0.994)
    val_ax, test_ax = saved["fig"].axes[:2]
    (front,) = [l for l in val_ax.get_lines() if "Pareto" in l.get_label()]
    assert "validation" in front.get_label() and "validation" in val_ax.get_ylabel()
    assert list(front.get_xdata()) == [5000, 9000] and list(front.get_ydata()) == pytest.approx([90, 95])
    assert not [l for l in test_ax.get_lines() if "Pareto" in l.get_label()]
    assert "test" in test_ax.get_ylabel()
    assert test_ax.get_ylim()[0] <= 91 and test_ax.get_ylim()[1] < 99.4  # scaled to the data: target out of range
    assert any("target 99.4% is above" in t.get_text() for t in test_ax.texts)


def test_importances_need_five_complete_trials(tmp_path):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: t.suggest_float("x", 0, 1) + t.suggest_float("y", 0, 0.1), n_trials=4)
    path, note = report_mod._importances(study, tmp_path / "i.png", "validation accuracy", "")
    assert path is None and "only 4 complete trials" in note and "at least 5" in note
    study.optimize(lambda t: t.suggest_float("x", 0, 1) + t.suggest_float("y", 0, 0.1), n_trials=1)
    path, note = report_mod._importances(study, tmp_path / "i.png", "validation accuracy", "")
    assert path is not None and path.exists() and "5 complete trials" in note and "fANOVA" in note



def test_shared_values_and_the_table_show_accuracies_as_percentages(tmp_path):
    """The importances note and the top-10 table read accuracies as the console does (text.metric):
    'the same validation accuracy (97.50%)' and '99.41%'; they read '0.9750' and '0.9941'."""
    import warnings

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(["val_acc"])
    study.optimize(lambda t: t.suggest_float("x", 0, 1) * 0 + 0.975, n_trials=5)
    path, note = report_mod._importances(study, tmp_path / "i.png", "validation accuracy", "")
    assert path is None and "have the same validation accuracy (97.50%)" in note, note
    board = pd.DataFrame({"rank": [1], "trial": [3], "params": [17290], "val_acc": [0.9941], "test_acc_final": [0.99],
                          "wall_s": [12.34567], "hp.optimizer.lr": [0.0012345]})
    cells = re.findall(r"<td>([^<]*)</td>", report_mod._table(board))
    assert cells == ["1", "3", "17290", "99.41%", "99.00%", "12.35", "0.001234"], cells

@pytest.mark.slow
def test_no_storage_is_one_error_line_and_nothing_written(tiny_sweep, tmp_path):
    d = tmp_path / "copied"
    d.mkdir()
    shutil.copy(tiny_sweep.dir / "leaderboard.csv", d)  # a sweep dir without its storage record or trials
    proc = run(["mnist_sweep.report", str(d)], cwd=tmp_path)
    assert_one_line_error(proc, str(d), "no Optuna storage recorded", "--storage", "--no-study")
    assert sorted(p.name for p in d.iterdir()) == ["leaderboard.csv"]
    (d / "storage.json").write_text(f'{{"study_name": "tiny", "storage": "sqlite:///{tmp_path}/moved.db", "cwd": "/"}}')
    proc = run(["mnist_sweep.report", str(d)], cwd=tmp_path)
    assert_one_line_error(proc, "storage.json", "no such SQLite file")
    assert not (tmp_path / "moved.db").exists() and not (d / "report.html").exists()
    (d / "storage.json").unlink()
    assert report_mod.main([str(d), "--no-study"]) == 0  # from leaderboard.csv alone; sections say why
    page = (d / "report.html").read_text()
    assert page.count("built with --no-study") == 2  # history and importances
    assert len(embedded_images(page)) == 2  # accuracy vs params, and top 5 curves from the trial dirs


def made_sweep(d):
    """A sweep dir without a study (built with --no-study): one complete trial with its files."""
    trial = d / "trial_0000"
    (trial / ".hydra").mkdir(parents=True)
    OmegaConf.save(make_cfg(*TINY), trial / ".hydra" / "config.yaml")
    (trial / "result.json").write_text('{"status": "complete", "test_acc_final": 0.5, "val_acc": 0.5}')
    pd.DataFrame({"epoch": [1, 2], "val_acc": [0.4, 0.5], "test_acc": [0.4, 0.5]}).to_csv(trial / "metrics.csv", index=False)
    pd.DataFrame([{"rank": 1, "trial": 0, "status": "complete", "params": 5000, "val_acc": 0.5,
                   "test_acc_final": 0.5, "trial_dir": str(trial)}]).to_csv(d / "leaderboard.csv", index=False)
    return trial


def test_unwritable_outputs_are_refused_before_anything_is_written(tmp_path):
    """report.html a directory, report/ a file, a PNG's name a directory: one line, the old report untouched."""
    d = tmp_path / "sw"
    made_sweep(d)
    assert run_inproc(["mnist_sweep.report", str(d), "--no-study"], cwd=tmp_path).returncode == 0
    (d / "report.html").rename(d / "page")
    (d / "report.html").mkdir()
    before = snapshot(tmp_path)
    assert_one_line_error(run_inproc(["mnist_sweep.report", str(d), "--no-study"], cwd=tmp_path),
                          f"{d / 'report.html'}: is a directory, not a file", "remove or rename it")
    assert snapshot(tmp_path) == before  # no PNG rewritten, no temporary file left
    (d / "report.html").rmdir()
    (d / "page").rename(d / "report.html")
    shutil.rmtree(d / "report")
    (d / "report").write_text("")
    before = snapshot(tmp_path)
    assert_one_line_error(run_inproc(["mnist_sweep.report", str(d), "--no-study"], cwd=tmp_path),
                          f"{d / 'report'}: is a file, not the report's image dir")
    assert snapshot(tmp_path) == before
    (d / "report").unlink()
    (d / "report" / "history.png").mkdir(parents=True)
    assert_one_line_error(run_inproc(["mnist_sweep.report", str(d), "--no-study"], cwd=tmp_path),
                          "history.png: is a directory, not an image")


def test_a_leaderboard_csv_stands_for_its_sweep_dir(tmp_path):
    d = tmp_path / "sw"
    made_sweep(d)
    proc = run_inproc(["mnist_sweep.report", str(d / "leaderboard.csv"), "--no-study"], cwd=tmp_path)
    assert proc.returncode == 0 and f"written {d / 'report.html'}" in proc.stdout, proc.stderr
    (d / "other.csv").write_text("")
    assert_one_line_error(run_inproc(["mnist_sweep.report", str(d / "other.csv")], cwd=tmp_path),
                          f"other.csv: is a file, not a sweep dir; give its sweep dir, {d}")  # as the leaderboard names it
    (tmp_path / "loose.csv").write_text("")  # beside no sweep: no dir to name
    assert_one_line_error(run_inproc(["mnist_sweep.report", "loose.csv"], cwd=tmp_path),
                          "loose.csv: is a file, not a sweep dir; give the sweep dir (the dir of its leaderboard.csv)")


@pytest.mark.parametrize("given, says", [
    ("empty", "empty: no leaderboard.csv in this directory; give a sweep dir (outputs/sweeps/NAME)"),
    (".", ".: holds the sweep dirs sw; give one of them"),
])
def test_a_dir_without_a_leaderboard_suggests_only_what_report_takes(tmp_path, given, says):
    """It said 'give a sweep dir (outputs/sweeps/NAME) or a CSV' (the leaderboard's line), and a CSV
    was then refused as 'a file, not a sweep dir'; a dir of sweep dirs said 'give one or more of them'."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "sw").mkdir()
    (tmp_path / "sw" / "leaderboard.csv").write_text("rank,trial,status,trial_dir\n")
    before = snapshot(tmp_path)
    line = assert_one_line_error(run_inproc(["mnist_sweep.report", given, "--no-study"], cwd=tmp_path), "error: " + says)
    assert "CSV" not in line and "one or more" not in line and snapshot(tmp_path) == before


CUT_METRICS = ["epoch,val_acc,test_acc\n1,0.4,0.4\n2,0.5,0.", "epoch,val_acc,test_acc\n1,0.4\n2,0.5,0.5\n"]


@pytest.mark.parametrize("name, text", [("metrics.csv", "{bad"), ("metrics.csv", 'a,b\n1,2,3\n"'),
                                        ("metrics.csv", ""), ("result.json", "{bad"), (".hydra/config.yaml", "[x")]
                         + [("metrics.csv", cut) for cut in CUT_METRICS])  # cut off: curves drawn from empty fields
def test_a_trial_with_a_damaged_file_is_warned_about_by_name(tmp_path, caplog, name, text):
    d = tmp_path / "sw"
    trial = made_sweep(d)
    (trial / name).write_text(text)
    proc = run_inproc(["mnist_sweep.report", str(d), "--no-study"], cwd=tmp_path)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert f"{trial / name}: " in caplog.text and "left out of the report" in caplog.text, caplog.text
    assert "(ValueError: not valid JSON" not in caplog.text  # a reason in words is not wrapped once more


def test_an_image_is_replaced_whole_or_not_at_all(tmp_path, monkeypatch):
    """plots wrote curves.png and the report's PNGs in place: a kill or a full disk mid-write left a
    cut-off image under the real name. Now a temporary name in the same dir, then a rename."""
    import errno

    import matplotlib.figure

    m = pd.DataFrame({"epoch": [1, 2], "train_loss": [1.0, 0.5], "val_loss": [1.0, 0.6], "test_loss": [1.0, 0.6],
                      "train_acc": [0.5, 0.7], "val_acc": [0.5, 0.6], "test_acc": [0.5, 0.6]})
    path = plots.curves(m, tmp_path / "curves.png")
    before = path.read_bytes()

    def cut_off(self, fname, **kwargs):
        Path(fname).write_bytes(before[:100])  # half an image, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", cut_off)
    with pytest.raises(OSError) as e:
        plots.curves(m, path)
    assert e.value.filename == str(path)  # names the image, not its temporary name
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["curves.png"]


def test_a_killed_reports_leftovers_are_removed_by_the_next_after_an_hour(tmp_path):
    """A SIGKILL mid-report left .report.XXXX/ (its new images) and .report.html.XXXX.tmp behind for good."""
    import os
    import time

    d = tmp_path / "sw"
    made_sweep(d)
    old, fresh, page = d / ".report.killed", d / ".report.running", d / ".report.html.killed.tmp"
    for p in (old, fresh):
        p.mkdir()
        (p / "history.png").write_bytes(b"\x89PNG")
    page.write_text("<!doctype")
    for p in (old, page):
        os.utime(p, (time.time() - 2 * 3600,) * 2)
    assert run_inproc(["mnist_sweep.report", str(d), "--no-study"], cwd=tmp_path).returncode == 0
    assert not old.exists() and not page.exists() and (fresh / "history.png").exists()  # a report running now keeps its own
    assert sorted(p.name for p in d.iterdir() if p.name.startswith(".")) == [".report.running"]


def test_a_sweep_dir_on_a_read_only_mount_is_not_told_to_fix_permissions(tmp_path, monkeypatch, capsys):
    """A sweep dir on a read-only mount (a copy on a read-only share, a bind mount -o ro) said 'not writable;
    fix its permissions', which no chmod does: it names the read-only file system and the copy to make. A
    dir the user may not write keeps the permissions fix. (Root writes anywhere: os.access says no here.)"""
    import os
    import types

    d = tmp_path / "sw"
    made_sweep(d)
    real_access, real_statvfs = os.access, os.statvfs
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if Path(p) == d else real_access(p, mode, **kw))
    for flag, says in [(os.ST_RDONLY, "not writable (a read-only file system); copy the sweep dir to a writable one "
                                      "and run report on the copy"), (0, "not writable; fix its permissions")]:
        monkeypatch.setattr(os, "statvfs", lambda p, flag=flag: types.SimpleNamespace(f_flag=flag) if Path(p) == d
                            else real_statvfs(p))
        assert report_mod.main([str(d), "--no-study"]) == 2
        assert capsys.readouterr().err.strip().splitlines() == [f"error: {d}: {says}"]
    assert sorted(p.name for p in d.iterdir()) == ["leaderboard.csv", "trial_0000"]


def test_a_locale_that_is_not_utf8_still_writes_the_page(tmp_path):
    """In a non-UTF-8 locale (ASCII here, Python's UTF-8 mode off; Latin-1 lacks the page's characters too)
    report.html was written in the locale's encoding: a UnicodeEncodeError traceback (the page's own characters),
    the old page kept. It is UTF-8, as its <meta charset> says."""
    d = tmp_path / "sw"
    made_sweep(d)
    proc = run(["mnist_sweep.report", str(d), "--no-study"], cwd=tmp_path, process=True,
               env={"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0"})
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    page = (d / "report.html").read_text(encoding="utf-8")
    assert '<meta charset="utf-8"><title>Sweep report: sw<' in page and not page.isascii()
