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
import html
import json
import logging
import sys
import warnings
from pathlib import Path
from typing import Any

import matplotlib
import pandas as pd
from omegaconf import OmegaConf
from optuna.exceptions import ExperimentalWarning

from mnist_sweep import leaderboard, plots, results
from mnist_sweep.errors import CliParser, LeaderboardError, exit_code_of

log = logging.getLogger(__name__)
SECTIONS = ["leaderboard", "history", "accuracy_vs_params", "importances", "curves", "model"]


MIN_IMPORTANCE_TRIALS = 5  # a random forest fitted to fewer complete trials ranks noise


def find_study(sweep_dir: Path, storage: str | None, study_name: str | None) -> Any:
    """The sweep's Optuna study: ``--storage`` (with ``--study`` or the only study in it), else the
    storage recorded in the sweep dir (``leaderboard.find_storage``). Never creates a database:
    a LeaderboardError when nothing is found or it cannot be opened."""
    if storage is not None:
        return leaderboard.load_study(storage, study_name)
    found = leaderboard.find_storage(sweep_dir)
    if found is None:
        raise LeaderboardError(
            f"{sweep_dir}: no Optuna storage recorded for this sweep (no {leaderboard.STORAGE_RECORD}, no trial "
            ".hydra/hydra.yaml, no optuna.db); give --storage URL [--study NAME], or --no-study to build the "
            "report from leaderboard.csv alone"
        )
    url, name, source = found
    return leaderboard.load_study(url, study_name or name, flag=f"the storage recorded in {source}:",
                                  fix=f"{leaderboard.RECORDED_FIX}, or --no-study to build the report from leaderboard.csv alone")


def metric_name(best: tuple[dict, Any] | None) -> str:
    """What the study's (first) objective is, in words: from the best trial's config and result."""
    key = "val_acc"
    if best:
        objectives = best[1].trainer.get("objectives") if "trainer" in best[1] else None
        key = str(objectives[0]) if objectives else str(best[0].get("selection_metric", "val_acc"))
    return {"val_acc": "validation accuracy", "test_acc": "test accuracy (trainer.select_on=test)"}.get(key, key)


def _best_trial_files(board: pd.DataFrame) -> tuple[dict, Any] | None:
    """(result.json, config) of the best complete trial, if its dir is still there."""
    for _, row in board[board.status == "complete"].iterrows():
        d = Path(str(row.trial_dir))
        if (d / "result.json").exists() and (d / ".hydra" / "config.yaml").exists():
            return json.loads((d / "result.json").read_text()), OmegaConf.load(d / ".hydra" / "config.yaml")
    return None


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
        return None, (f"only {n} complete trial{'s' if n != 1 else ''}; importances need at least "
                      f"{MIN_IMPORTANCE_TRIALS} (a model fitted to fewer ranks noise)")
    multi = len(study.directions) > 1
    values = {t.values[0] for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))}
    if len(values) == 1:
        return None, f"all {n} complete trials have the same {target} ({values.pop():.4f}): no variance to attribute"
    evaluator = FanovaImportanceEvaluator(seed=0)  # Optuna's default evaluator
    warnings.filterwarnings("ignore", category=ExperimentalWarning)
    try:
        with matplotlib.rc_context():  # optuna switches the global style to ggplot
            ax = ovm.plot_param_importances(
                study, evaluator=evaluator, target=(lambda t: t.values[0]) if multi else None, target_name=target,
            )
            ax.set_title(f"hyperparameter importances for {target} (fANOVA, {n} complete trials)")
            if not ax.patches:
                return None, "no parameter was sampled in every complete trial"
            out = plots.optuna_axes(ax, path)
    except (ValueError, RuntimeError) as e:
        return None, f"not computable: {e}"
    note = (f"Optuna's fANOVA evaluator (its default): the share of the variance of {target} over the {n} "
            "complete trials that each parameter explains; parameters sampled only in some trials "
            "(conditional ones) are left out")
    return out, note


def _img(path: Path | None, alt: str, note: str = "") -> str:
    if path is None:
        return f"<p class=note>{html.escape(alt)}: {html.escape(note or 'not enough data')}</p>"
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">' + (f"<p class=note>{html.escape(note)}</p>" if note else "")


def build(sweep_dir: str | Path, study: Any | None = None, storage: str | None = None, study_name: str | None = None,
          use_study: bool = True) -> Path:
    """Write ``report.html`` and ``report/*.png`` in the sweep dir; returns the HTML path. Without
    ``study``, it is found as ``find_study`` does (``use_study=False``: leaderboard.csv alone)."""
    sweep_dir = Path(sweep_dir)
    board = leaderboard.read(sweep_dir)
    no_study = "built with --no-study, from leaderboard.csv alone: this section needs the Optuna study"
    if study is None and use_study:
        study = find_study(sweep_dir, storage, study_name)  # raises before anything is written
    if study is not None:  # rebuild from the storage: fresh statuses and the pareto column
        board = leaderboard.frame(leaderboard.rows_from_study(study))
    out = sweep_dir / "report"
    out.mkdir(exist_ok=True)
    best = _best_trial_files(board)
    budget = int(best[1].model.get("max_params") or 20_000) if best else 20_000
    target = float(best[0].get("target_acc", 0.994)) if best else 0.994
    objective = metric_name(best)
    selection = "test_acc_final" if objective.startswith("test") else "val_acc"

    history, hist_note = _history(study, out / "history.png", objective, no_study)
    trained = board[pd.to_numeric(board.get("test_acc_final"), errors="coerce").notna()] if len(board) else board
    scatter, scatter_note = None, "no trial has been trained yet"
    if len(trained):
        scatter = plots.accuracy_vs_params(board, out / "accuracy_vs_params.png", budget, target,
                                           selection="test_acc_final" if selection == "test_acc_final" else "val_acc")
        scatter_note = ("left: validation accuracy, the split the sweep selects on, with the Pareto front of "
                        "(validation accuracy, parameters) over complete trials; right: final-epoch test accuracy of "
                        "the same trials, reported and never used for selection")
    importances, imp_note = _importances(study, out / "importances.png", objective, no_study)
    top5 = {}
    complete = board[board.status == "complete"]
    for _, row in complete.head(5).iterrows():
        m = Path(str(row.trial_dir)) / "metrics.csv"
        if m.exists():
            top5[f"trial {row.trial}"] = pd.read_csv(m)
    curves, curves_note = None, "no complete trial yet"
    if top5:
        curves = plots.top_curves(top5, out / "top5_curves.png")
        curves_note = "" if len(top5) == min(5, len(complete)) else \
            f"{min(5, len(complete)) - len(top5)} of the top complete trials have no metrics.csv (trial dir deleted?)"
    elif len(complete):
        curves_note = "the top complete trials' metrics.csv files are missing (trial dirs deleted or moved?)"
    summary = "no complete trial (or its .hydra/config.yaml and result.json are missing)"
    if best:
        from mnist_sweep import model as mmodel

        summary = mmodel.summary(mmodel.build(OmegaConf.to_container(best[1].model, resolve=True)))

    counts = board.status.value_counts()
    cols = [c for c in leaderboard.CORE if c in board.columns] + sorted(c for c in board.columns if c.startswith("hp."))
    top = board.head(10)[cols].astype(object)
    top = top.map(lambda v: "" if pd.isna(v) else f"{v:.4g}" if isinstance(v, float) else v)  # no <NA>, short floats
    table = top.to_html(index=False, classes="board")
    status_line = ", ".join(f"{counts.get(s, 0)} {s}" for s in ("complete", "pruned", "rejected", "failed", "running"))
    title = f"Sweep report: {sweep_dir.name}"
    source = "the Optuna study" if study is not None else "leaderboard.csv (--no-study)"
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1100px}} img{{max-width:100%;border:1px solid #ddd}}
table.board{{border-collapse:collapse;font-size:12px}} table.board td,table.board th{{border:1px solid #ccc;padding:2px 6px}}
.note{{color:#666;font-size:13px}} pre{{background:#f6f6f6;padding:1em;font-size:12px;overflow-x:auto}}</style></head>
<body><h1>{html.escape(title)}</h1>
<section id="leaderboard"><h2>Leaderboard (top 10)</h2><p id="status-counts">{len(board)} trials: {status_line}</p>{table}
<p class=note>From {html.escape(source)}. Sorted by the selection metric ({html.escape(objective)}); test accuracy is reported, never used to select unless trainer.select_on=test. pareto: not dominated in ({html.escape(objective)}, parameters) among complete trials.</p></section>
<section id="history"><h2>Optimization history ({html.escape(objective)})</h2>{_img(history, "optimization history", hist_note)}</section>
<section id="accuracy_vs_params"><h2>Validation and test accuracy vs parameters</h2>{_img(scatter, "accuracy vs parameters", scatter_note)}</section>
<section id="importances"><h2>Hyperparameter importances</h2>{_img(importances, "hyperparameter importances", imp_note)}</section>
<section id="curves"><h2>Top 5 trials: accuracy per epoch</h2>{_img(curves, "top 5 curves", curves_note)}</section>
<section id="model"><h2>Best trial's model</h2><pre>{html.escape(summary)}</pre></section>
</body></html>
"""
    path = sweep_dir / "report.html"
    results.atomic_write(path, lambda p: p.write_text(page))
    return path


def write_for_sweep(study: Any, sweep_dir: Path) -> None:
    """The sweeper's on_sweep_end hook; a failed report never fails a finished sweep."""
    try:
        log.info("report: %s", build(sweep_dir, study=study))
    except Exception as e:  # noqa: BLE001
        log.warning("report not written: %s: %s", type(e).__name__, e)


def _run(args: argparse.Namespace) -> None:
    if args.no_study and (args.storage or args.study):
        raise LeaderboardError("--no-study: cannot be combined with --storage/--study")
    print(f"written {build(args.path, storage=args.storage, study_name=args.study, use_study=not args.no_study)}")


def main(argv: list[str] | None = None) -> int:
    p = CliParser(prog="python -m mnist_sweep.report", description=__doc__.splitlines()[0])
    p.add_argument("path", help="sweep dir (holding leaderboard.csv)")
    p.add_argument("--storage", help=f"Optuna storage URL (default: the one recorded in the sweep dir's "
                   f"{leaderboard.STORAGE_RECORD}, else a trial's .hydra/hydra.yaml, else <sweep dir>/optuna.db)")
    p.add_argument("--study", help="study name (default: the recorded one, else the only study in the storage)")
    p.add_argument("--no-study", action="store_true",
                   help="build from leaderboard.csv alone (no optimization history or importances)")
    return exit_code_of(lambda: _run(p.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
