"""A sweep you can look at: ``report.html`` (images embedded, opens from disk) plus its PNGs.

``python -m mnist_sweep.report SWEEP_DIR`` (also written at the end of every sweep) shows the
leaderboard's top 10 with status counts, the optimization history, test accuracy against
parameter count with the budget and target lines and the Pareto front, hyperparameter
importances (Optuna's mean-decrease-impurity evaluator), the validation and test curves of
the top 5 trials, and the best trial's model summary.
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

from mnist_sweep import leaderboard, plots
from mnist_sweep.errors import CliParser, LeaderboardError, exit_code_of

log = logging.getLogger(__name__)
SECTIONS = ["leaderboard", "history", "accuracy_vs_params", "importances", "curves", "model"]


def find_study(sweep_dir: Path, storage: str | None, study_name: str | None) -> Any | None:
    """The sweep's Optuna study: ``--storage/--study``, else the one study in ``<sweep_dir>/optuna.db``."""
    import optuna

    if storage is None:
        db = sweep_dir / "optuna.db"
        if not db.exists():
            return None
        storage = f"sqlite:///{db}"
    if study_name is None:
        names = [s.study_name for s in optuna.get_all_study_summaries(storage)]
        if len(names) != 1:
            raise LeaderboardError(f"{storage}: holds {len(names)} studies ({', '.join(names)}); pick one with --study")
        study_name = names[0]
    return leaderboard.load_study(storage, study_name)


def _best_trial_files(board: pd.DataFrame) -> tuple[dict, Any] | None:
    """(result.json, config) of the best complete trial, if its dir is still there."""
    for _, row in board[board.status == "complete"].iterrows():
        d = Path(str(row.trial_dir))
        if (d / "result.json").exists() and (d / ".hydra" / "config.yaml").exists():
            return json.loads((d / "result.json").read_text()), OmegaConf.load(d / ".hydra" / "config.yaml")
    return None


def _history(study: Any, path: Path) -> Path | None:
    import optuna.visualization.matplotlib as ovm
    from optuna.trial import TrialState

    warnings.filterwarnings("ignore", category=ExperimentalWarning)
    if study is None or not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        return None
    multi = len(study.directions) > 1
    with matplotlib.rc_context():  # optuna switches the global style to ggplot
        ax = ovm.plot_optimization_history(
            study, target=(lambda t: t.values[0]) if multi else None, target_name="validation accuracy"
        )
        return plots.optuna_axes(ax, path)


def _importances(study: Any, path: Path) -> tuple[Path | None, str]:
    from optuna.importance import MeanDecreaseImpurityImportanceEvaluator, get_param_importances
    from optuna.trial import TrialState

    if study is None:
        return None, "no Optuna storage found next to the leaderboard (give --storage and --study)"
    if len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))) < 2:
        return None, "needs at least two complete trials"
    multi = len(study.directions) > 1
    try:  # fANOVA, optuna 2.10's default evaluator, crashes with current scikit-learn
        importances = get_param_importances(
            study, evaluator=MeanDecreaseImpurityImportanceEvaluator(seed=0),
            target=(lambda t: t.values[0]) if multi else None,
        )
    except (ValueError, RuntimeError) as e:
        return None, f"not computable: {e}"
    if not importances:
        return None, "no parameter was sampled in every complete trial"
    note = ("mean decrease in impurity of a random forest fitted to (parameters, validation accuracy) over "
            "complete trials; parameters sampled only in some trials (conditional ones) are left out")
    return plots.importances(importances, path), note


def _img(path: Path | None, alt: str, note: str = "") -> str:
    if path is None:
        return f"<p class=note>{html.escape(alt)}: {html.escape(note or 'not enough data')}</p>"
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">' + (f"<p class=note>{html.escape(note)}</p>" if note else "")


def build(sweep_dir: str | Path, study: Any | None = None, storage: str | None = None, study_name: str | None = None) -> Path:
    """Write ``report.html`` and ``report/*.png`` in the sweep dir; returns the HTML path."""
    sweep_dir = Path(sweep_dir)
    board = leaderboard.read(sweep_dir)
    if study is None:
        study = find_study(sweep_dir, storage, study_name)
    if study is not None:  # rebuild from the storage: fresh statuses and the pareto column
        board = leaderboard.frame(leaderboard.rows_from_study(study))
    out = sweep_dir / "report"
    out.mkdir(exist_ok=True)
    best = _best_trial_files(board)
    budget = int(best[1].model.get("max_params") or 20_000) if best else 20_000
    target = float(best[0].get("target_acc", 0.994)) if best else 0.994

    history = _history(study, out / "history.png")
    scatter = plots.accuracy_vs_params(board, out / "accuracy_vs_params.png", budget, target)
    importances, imp_note = _importances(study, out / "importances.png")
    top5 = {}
    for _, row in board[board.status == "complete"].head(5).iterrows():
        m = Path(str(row.trial_dir)) / "metrics.csv"
        if m.exists():
            top5[f"trial {row.trial}"] = pd.read_csv(m)
    curves = plots.top_curves(top5, out / "top5_curves.png") if top5 else None
    summary = "no complete trial"
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
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1100px}} img{{max-width:100%;border:1px solid #ddd}}
table.board{{border-collapse:collapse;font-size:12px}} table.board td,table.board th{{border:1px solid #ccc;padding:2px 6px}}
.note{{color:#666;font-size:13px}} pre{{background:#f6f6f6;padding:1em;font-size:12px;overflow-x:auto}}</style></head>
<body><h1>{html.escape(title)}</h1>
<section id="leaderboard"><h2>Leaderboard (top 10)</h2><p id="status-counts">{len(board)} trials: {status_line}</p>{table}
<p class=note>Sorted by the selection metric (validation accuracy); test accuracy is reported, never used to select. pareto: not dominated in (validation accuracy, parameters).</p></section>
<section id="history"><h2>Optimization history</h2>{_img(history, "optimization history")}</section>
<section id="accuracy_vs_params"><h2>Test accuracy vs parameters</h2>{_img(scatter, "accuracy vs parameters")}</section>
<section id="importances"><h2>Hyperparameter importances</h2>{_img(importances, "hyperparameter importances", imp_note)}</section>
<section id="curves"><h2>Top 5 trials: accuracy per epoch</h2>{_img(curves, "top 5 curves")}</section>
<section id="model"><h2>Best trial's model</h2><pre>{html.escape(summary)}</pre></section>
</body></html>
"""
    path = sweep_dir / "report.html"
    tmp = path.with_name(".report.html.tmp")
    tmp.write_text(page)
    tmp.replace(path)
    return path


def write_for_sweep(study: Any, sweep_dir: Path) -> None:
    """The sweeper's on_sweep_end hook; a failed report never fails a finished sweep."""
    try:
        log.info("report: %s", build(sweep_dir, study=study))
    except Exception as e:  # noqa: BLE001
        log.warning("report not written: %s: %s", type(e).__name__, e)


def _run(args: argparse.Namespace) -> None:
    print(f"written {build(args.path, storage=args.storage, study_name=args.study)}")


def main(argv: list[str] | None = None) -> int:
    p = CliParser(prog="python -m mnist_sweep.report", description=__doc__.splitlines()[0])
    p.add_argument("path", help="sweep dir (holding leaderboard.csv)")
    p.add_argument("--storage", help="Optuna storage URL (default: <sweep dir>/optuna.db)")
    p.add_argument("--study", help="study name (default: the only study in the storage)")
    return exit_code_of(lambda: _run(p.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
