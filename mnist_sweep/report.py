"""A sweep you can look at: ``report.html`` (images embedded, opens from disk) plus its PNGs.

``python -m mnist_sweep.report SWEEP_DIR`` (also written at the end of every sweep) shows the
leaderboard's top 10 with status counts, the optimization history, test accuracy against
parameter count with the budget and target lines and the Pareto front, hyperparameter
importances (Optuna's default fANOVA evaluator), the validation and test curves of
the top 5 trials, and the best trial's model summary.

The study is found through the storage the sweep recorded (``storage.json``, else a trial's
``.hydra/hydra.yaml``, else ``<sweep dir>/optuna.db``) from any working directory; when it cannot
be opened the command says so in one ``error:`` line and writes nothing (``--no-study`` builds the
report from ``leaderboard.csv`` alone, each study-based section saying why it is missing).
"""
from __future__ import annotations

import argparse
import base64
import logging
import os
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import pandas as pd
from omegaconf import OmegaConf
from optuna.exceptions import ExperimentalWarning

from mnist_sweep import leaderboard, plots, results, sweeps
from mnist_sweep.board_paths import a_url, sweep_holding, sweeps_here
from mnist_sweep.commandline import CliParser, exit_code_of
from mnist_sweep.errors import LeaderboardError
from mnist_sweep.moved import rebase
from mnist_sweep.output_files import Outputs
from mnist_sweep.text import ACCURACIES, metric, plural

log = logging.getLogger(__name__)
SECTIONS = ["leaderboard", "history", "accuracy_vs_params", "importances", "curves", "model"]
MIN_IMPORTANCE_TRIALS = 5  # a random forest fitted to fewer complete trials ranks noise
NO_STUDY_FIX = ", or --no-study to build the report from leaderboard.csv alone"


def find_study(sweep_dir: Path, storage: str | None, study_name: str | None) -> Any:
    """The sweep's Optuna study: ``--storage`` (with ``--study`` or the only study in it), else the
    storage recorded in the sweep dir (``sweeps.find_storage``). Never creates a database:
    a LeaderboardError when nothing is found or it cannot be opened."""
    if storage is not None:
        return sweeps.load_study(storage, study_name)
    return sweeps.study_of_sweep(sweep_dir, study_name, give="give --storage URL [--study NAME]", also=NO_STUDY_FIX)


def metric_name(best: tuple[dict, Any] | None) -> str:
    """What the study's (first) objective is, in words: from the best trial's config and result."""
    key = "val_acc"
    if best:
        objectives = best[1].trainer.get("objectives") if "trainer" in best[1] else None
        key = str(objectives[0]) if objectives else str(best[0].get("selection_metric", "val_acc"))
    return {"val_acc": "validation accuracy", "test_acc": "test accuracy (trainer.select_on=test)"}.get(key, key)


def _history(study: Any, path: Path, target: str, no_study: str) -> tuple[Path | None, str]:
    import optuna.visualization.matplotlib as ovm
    from optuna.trial import TrialState

    warnings.filterwarnings("ignore", category=ExperimentalWarning)
    if study is None:
        return None, no_study
    if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        return None, "no complete trial in the study yet"
    multi = len(study.directions) > 1
    with matplotlib.rc_context():  # optuna switches the global style to ggplot
        ax = ovm.plot_optimization_history(study, target=(lambda t: t.values[0]) if multi else None, target_name=target)
        return plots.optuna_axes(ax, path), f"each complete trial's {target} and the best so far"


def _importances(study: Any, path: Path, target: str, no_study: str) -> tuple[Path | None, str]:
    """Optuna's own importance plot with its default evaluator (fANOVA), named on the plot."""
    import optuna.visualization.matplotlib as ovm
    from optuna.importance import FanovaImportanceEvaluator
    from optuna.trial import TrialState

    if study is None:
        return None, no_study
    n = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
    if n < MIN_IMPORTANCE_TRIALS:
        return None, (f"only {plural(n, 'complete trial')}; importances need at least "
                      f"{MIN_IMPORTANCE_TRIALS} (a model fitted to fewer ranks noise)")
    multi = len(study.directions) > 1
    values = {t.values[0] for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))}
    if len(values) == 1:
        shared = metric((study.metric_names or [""])[0], values.pop())
        return None, f"all {plural(n, 'complete trial')} have the same {target} ({shared}): no variance to attribute"
    evaluator = FanovaImportanceEvaluator(seed=0)  # Optuna's default evaluator
    warnings.filterwarnings("ignore", category=ExperimentalWarning)
    try:
        with matplotlib.rc_context():  # optuna switches the global style to ggplot
            ax = ovm.plot_param_importances(
                study, evaluator=evaluator, target=(lambda t: t.values[0]) if multi else None, target_name=target,
            )
            ax.set_title(f"hyperparameter importances for {target} (fANOVA, {plural(n, 'complete trial')})")
            if not ax.patches:
                return None, "no parameter was sampled in every complete trial"
            out = plots.optuna_axes(ax, path)
    except (ValueError, RuntimeError) as e:
        return None, f"not computable: {e}"
    note = (f"Optuna's fANOVA evaluator (its default): the share of the variance of {target} over the {n} "
            "complete trials that each parameter explains; parameters sampled only in some trials "
            "(conditional ones) are left out")
    return out, note


@dataclass(frozen=True)
class Figure:
    """A section's image (base64 PNG, None when there is none) and the note under it, or why it is missing."""

    data: str | None
    note: str = ""

    @classmethod
    def of(cls, path: Path | None, note: str) -> Figure:
        return cls(base64.b64encode(path.read_bytes()).decode() if path is not None else None, note)


def _scatter(board: pd.DataFrame, path: Path, best: tuple[dict, Any] | None, objective: str) -> tuple[Path | None, str]:
    acc = pd.to_numeric(board["test_acc_final"], errors="coerce") if "test_acc_final" in board else None
    if acc is None or not acc.notna().any():
        return None, "no trial has been trained yet"
    budget = int(best[1].model.get("max_params") or 20_000) if best else 20_000
    target = float(best[0].get("target_acc", 0.994)) if best else 0.994
    selection = "test_acc_final" if objective.startswith("test") else "val_acc"
    out = plots.accuracy_vs_params(board, path, budget, target, selection=selection)
    return out, ("left: validation accuracy, the split the sweep selects on, with the Pareto front of "
                 "(validation accuracy, parameters) over complete trials; right: final-epoch test accuracy of "
                 "the same trials, reported and never used for selection")


def _curves(board: pd.DataFrame, path: Path) -> tuple[Path | None, str]:
    top5 = sweeps.top_metrics(board, 5)
    shown = min(5, int((board.status == "complete").sum()))
    if top5:
        note = "" if len(top5) == shown else (f"{shown - len(top5)} of the top complete trials have no readable "
                                              "metrics.csv (trial dir deleted, or the file damaged)")
        return plots.top_curves(top5, path), note
    if shown:
        return None, "the top complete trials' metrics.csv files are missing or damaged (trial dirs deleted or moved?)"
    return None, "no complete trial yet"


def _summary(best: tuple[dict, Any] | None) -> str:
    if not best:
        return "no complete trial (or its .hydra/config.yaml and result.json are missing)"
    from mnist_sweep import model as mmodel

    fast = bool(best[1].get("trainer", {}).get("fast_dropout", False))  # as it trained: absent, torch's dropout
    return mmodel.summary(mmodel.build(OmegaConf.to_container(best[1].model, resolve=True), fast_dropout=fast))


def figures(board: pd.DataFrame, study: Any | None, best: tuple[dict, Any] | None, out: Path) -> dict[str, Figure]:
    """Each image section's figure, written as ``out/*.png``."""
    objective = metric_name(best)
    no_study = "built with --no-study, from leaderboard.csv alone: this section needs the Optuna study"
    return {
        "history": Figure.of(*_history(study, out / "history.png", objective, no_study)),
        "accuracy_vs_params": Figure.of(*_scatter(board, out / "accuracy_vs_params.png", best, objective)),
        "importances": Figure.of(*_importances(study, out / "importances.png", objective, no_study)),
        "curves": Figure.of(*_curves(board, out / "top5_curves.png")),
    }


def _table(board: pd.DataFrame) -> str:
    """The top 10 rows as an HTML table (pandas escapes the cells): no <NA>, accuracies as
    percentages (text.metric), other floats short; a distilled sweep's teacher column (its trials' paths)."""
    cols = [c for c in [*leaderboard.CORE, "teacher"] if c in board.columns] + sorted(c for c in board.columns if c.startswith("hp."))
    top = board.head(10)[cols].astype(object)
    top = top.apply(lambda col: col.map(lambda v: "" if pd.isna(v) else _cell(str(col.name), v)))
    return top.to_html(index=False, classes="board")


def _cell(col: str, v: Any) -> Any:
    """One table cell: an accuracy as ``99.41%``, another float as ``.4g`` gives it."""
    return v if not isinstance(v, float) else metric(col, v) if col in ACCURACIES else f"{v:.4g}"


def render(name: str, board: pd.DataFrame, figs: dict[str, Figure], objective: str, summary: str,
           from_study: bool) -> str:
    """The page, from ``templates/report.html`` (autoescaped)."""
    import jinja2
    from markupsafe import Markup

    env = jinja2.Environment(loader=jinja2.PackageLoader("mnist_sweep", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    counts = board.status.value_counts()
    return env.get_template("report.html").render(
        title=f"Sweep report: {name}",
        n_trials=len(board),
        status_line=", ".join(f"{counts.get(s, 0)} {s}" for s in ("complete", "pruned", "rejected", "failed", "running")),
        table=Markup(_table(board)),
        source="the Optuna study" if from_study else "leaderboard.csv (--no-study)",
        objective=objective, figures=figs, summary=summary,
    )


PAGE, IMAGES = "report.html", "report"  # in the sweep dir: the page and the dir of its PNGs
PNGS = ("history.png", "accuracy_vs_params.png", "importances.png", "top5_curves.png")


def sweep_dir_of(path: str | Path) -> Path:
    """The sweep dir a report is built in: ``path``, or the dir of a leaderboard.csv given instead."""
    if url := a_url(str(path), "a sweep dir"):  # Path() would collapse its slashes
        raise LeaderboardError(url)
    p = Path(path)
    if p.is_file():
        if p.name == leaderboard.FILENAME:
            return p.parent
        here = sweep_holding(p)  # report.html, optuna.db, ...: the sweep dir the leaderboard names too
        give = f"its sweep dir, {here}" if here else f"the sweep dir (the dir of its {leaderboard.FILENAME})"
        raise LeaderboardError(f"{p}: is a file, not a sweep dir; give {give}")
    return p


def check_outputs(sweep_dir: Path) -> None:
    """Everything the report writes can be written, checked before anything is: the page is a file
    (or absent), the image dir a dir, each PNG a file, the dirs writable."""
    page, images = sweep_dir / PAGE, sweep_dir / IMAGES
    fix = "remove or rename it (the report writes its own there)"
    if page.exists() and not page.is_file():
        raise LeaderboardError(f"{page}: is a directory, not a file; {fix}")
    if images.exists() and not images.is_dir():
        raise LeaderboardError(f"{images}: is a file, not the report's image dir; {fix}")
    for png in (images / name for name in PNGS):
        if png.exists() and not png.is_file():
            raise LeaderboardError(f"{png}: is a directory, not an image; {fix}")
    for d in (sweep_dir, images):
        if d.is_dir() and not os.access(d, os.W_OK | os.X_OK):  # a read-only mount: no permission makes it writable
            fix = (" (a read-only file system); copy the sweep dir to a writable one and run report on the copy"
                   if os.statvfs(d).f_flag & os.ST_RDONLY else "; fix its permissions")
            raise LeaderboardError(f"{d}: not writable{fix}")


def build(sweep_dir: str | Path, study: Any | None = None, storage: str | None = None, study_name: str | None = None,
          use_study: bool = True, outputs: Outputs | None = None) -> Path:
    """Write ``report.html`` and ``report/*.png`` in the sweep dir (or the dir of a leaderboard.csv
    given); returns the HTML path. Without ``study``, it is found as ``find_study`` does
    (``use_study=False``: leaderboard.csv alone). Every check and every figure comes first (the
    figures in a temporary dir): a failure leaves the old report as it was."""
    sweep_dir = sweep_dir_of(sweep_dir)
    board = leaderboard.read(sweep_dir, takes="a sweep dir (outputs/sweeps/NAME)")  # it takes no other CSV
    check_outputs(sweep_dir)
    if study is None and use_study:
        study = find_study(sweep_dir, storage, study_name)  # raises before anything is written
    if study is not None:  # rebuild from the storage: fresh statuses and the pareto column
        board = rebase(leaderboard.frame(leaderboard.rows_from_study(study, sweep_dir)), sweep_dir, say=False)  # read() said so
    best = sweeps.best_trial_files(board)
    results.remove_stale(sweep_dir.glob(f".{IMAGES}.*"))  # what a killed report left
    (outputs or Outputs()).start(sweep_dir / PAGE, sweep_dir / IMAGES)  # as they are before any is written
    with tempfile.TemporaryDirectory(dir=sweep_dir, prefix=f".{IMAGES}.") as tmp:
        page = render(sweep_dir.name, board, figures(board, study, best, Path(tmp)), metric_name(best),
                      _summary(best), from_study=study is not None)
        out = sweep_dir / IMAGES
        out.mkdir(exist_ok=True)
        for png in sorted(Path(tmp).glob("*.png")):
            os.replace(png, out / png.name)
    path = sweep_dir / PAGE
    results.atomic_write(path, lambda p: p.write_text(page, encoding="utf-8", errors="surrogateescape"))  # its charset
    return path


def write_for_sweep(study: Any, sweep_dir: Path) -> None:
    """The sweeper's on_sweep_end hook; a failed report never fails a finished sweep. Its path is
    logged at DEBUG: the sweep's closing lines name it (it was printed twice)."""
    try:
        log.debug("report: %s", build(sweep_dir, study=study))
    except Exception as e:  # noqa: BLE001
        log.warning("report not written: %s: %s", type(e).__name__, e)


def _run(args: argparse.Namespace, outputs: Outputs) -> None:
    if args.no_study and (args.storage or args.study):
        raise LeaderboardError("--no-study: cannot be combined with --storage/--study")
    print(f"written {build(args.path, storage=args.storage, study_name=args.study, use_study=not args.no_study, outputs=outputs)}")


def main(argv: list[str] | None = None) -> int:
    p = CliParser(prog="python -m mnist_sweep.report", description=__doc__.splitlines()[0], missing=sweeps_here)
    p.add_argument("path", help="a sweep dir (outputs/sweeps/NAME) or its leaderboard.csv")
    p.add_argument("--storage", help=f"Optuna storage URL (default: the one recorded in the sweep dir's "
                   f"{sweeps.STORAGE_RECORD}, else a trial's .hydra/hydra.yaml, else <sweep dir>/optuna.db)")
    p.add_argument("--study", help="study name (default: the recorded one, else the only study in the storage)")
    p.add_argument("--no-study", action="store_true",
                   help="build from leaderboard.csv alone (no optimization history or importances)")
    args, outputs = p.parse_args(argv), Outputs()
    return exit_code_of(lambda: _run(args, outputs), None, outputs.interrupted_line)  # the files as they are then


if __name__ == "__main__":
    sys.exit(main())
