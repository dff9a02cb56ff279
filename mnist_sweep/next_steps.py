"""What a finished command prints last: where its output went and what to do next, as commands
that can be pasted (``python -m ...``, quoted)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from mnist_sweep.commandline import pasteable
from mnist_sweep.leaderboard import FILENAME, read
from mnist_sweep.text import percent, plural, spread


def next_steps(out_dir: Path, result: dict[str, Any]) -> list[str]:
    """Where a run's files went and what to do with them (pasteable commands)."""
    acc = f"test {percent(result['test_acc_final'])}"
    if result.get("val_acc") is not None:
        acc = f"val {percent(result['val_acc'])}, {acc}"
    files = ["result.json", "metrics.csv"] + [f for f in ("curves.png", "model.pt") if (out_dir / f).exists()]
    lines = [f"run dir: {out_dir} ({acc}, {result['params']:,} params; {', '.join(files)})",
             f"keep it as an experiment: {export_command(out_dir)}"]
    if not has_model(out_dir):
        return lines + ["predict needs model.pt, which trainer.save_checkpoint=false did not write"]
    return lines + [f"classify images: {pasteable('mnist_sweep.predict', out_dir, 'IMAGE.png')}",
                    f"check on the test set: {pasteable('mnist_sweep.predict', out_dir, '--test')}"]


def export_command(run_dir: object, *rank: str, from_dir: object = None) -> str:
    """export's command for a run (or a sweep's ``rank``: ``from_dir`` its trial dir), as README's step 4 teaches
    it: the experiment file and, where the run kept its weights (model.pt), the ONNX file with it."""
    onnx = ["--onnx", "NAME.onnx"] if has_model(run_dir if from_dir is None else from_dir) else []
    return pasteable("mnist_sweep.export", run_dir, *rank, "--out", "conf/experiment/NAME.yaml", *onnx)


def has_model(run_dir: object) -> bool:
    """Whether predict can be suggested for a run or trial dir: its model.pt is there (not with
    trainer.save_checkpoint=false, nor for a pruned trial or another machine's)."""
    return isinstance(run_dir, (str, Path)) and (Path(run_dir) / "model.pt").is_file()


def closing_lines(sweep_dir: Path) -> list[str]:
    """What a finished sweep prints last: the best trial in one line, where the leaderboard and
    report are, and the commands that come next (each one pasteable)."""
    sweep_dir = Path(sweep_dir)
    board_path, report_path = sweep_dir / FILENAME, sweep_dir / "report.html"
    report = [f"report: {report_path}"] if report_path.exists() else []  # written even with no trial complete
    if not board_path.exists():
        return [f"sweep dir: {sweep_dir} (no {FILENAME}: hydra.sweeper.on_trial_end is off)", *report]
    board = read(board_path)
    done = board[board.status == "complete"]
    if done.empty:
        return [f"no trial completed; leaderboard: {board_path}", *report]
    best, lines = done.iloc[0], []
    if "feasible" in done and not (done.feasible == True).any():  # noqa: E712 - a column of True/False/NaN
        lines.append("no trial reached trainer.target_acc yet; the closest:")
    acc = ", ".join(f"{c} {percent(best[c])}" for c in ("val_acc", "test_acc_final") if c in best and pd.notna(best[c]))
    if "n_seeds" in best and pd.notna(best.n_seeds) and pd.notna(best.get("val_mean")):
        sem = f" ± {spread(best.val_sem)} (sem)" if pd.notna(best.get("val_sem")) else ""
        acc += f", val mean over {plural(int(best.n_seeds), 'seed')} {percent(best.val_mean)}{sem}"
    size = f", {int(best.params):,} params" if pd.notna(best.params) else ""
    where = f" ({best.trial_dir})" if isinstance(best.trial_dir, str) else " (no trial dir: another machine's?)"
    lines += [f"best: trial {int(best.trial)}: {acc}{size}{where}", f"leaderboard: {board_path}", *report]
    lines += _commands(sweep_dir, done)
    return lines


def _there(trial_dir: object) -> bool:
    """Whether a row's trial dir holds the config that reproduce and export read."""
    return isinstance(trial_dir, str) and (Path(trial_dir) / ".hydra" / "config.yaml").is_file()


def _commands(sweep_dir: Path, done: pd.DataFrame) -> list[str]:
    """The next commands, for the best finished trial whose dir is there: one deleted by hand (or
    another machine's) is said, and skipped (reproduce, export and predict on it failed)."""
    lines, best = [], done.iloc[0]
    there = done[done.trial_dir.map(_there)]
    if there.empty:
        lines.append("no finished trial's dir is here (deleted, or another machine's?): reproduce, export and "
                     "predict need one")
    elif (pick := there.iloc[0]).trial != best.trial:
        lines.append(f"trial {int(best.trial)}'s dir is not here (deleted, or another machine's?); the commands "
                     f"below are for trial {int(pick.trial)} (rank {int(pick['rank'])}), the best whose dir is")
    lines += ["next:", f"  {pasteable('mnist_sweep.leaderboard', sweep_dir)}"]
    if there.empty:
        return lines
    rank = ["--rank", str(int(pick["rank"]))]  # read() guarantees the column
    return lines + [f"  {pasteable('mnist_sweep.reproduce', sweep_dir, *rank)}",
                    f"  {export_command(sweep_dir, *rank, from_dir=pick.trial_dir)}",
                    *([f"  {pasteable('mnist_sweep.predict', pick.trial_dir, 'IMAGE.png')}"]
                      if has_model(pick.trial_dir) else [])]


def confirmed_lines(out: Path, df: pd.DataFrame) -> list[str]:
    """What confirm prints last, after its table: where each seed's run is (its weights among its
    files) and, for the best mean's first seed with a model.pt, the export --onnx and predict commands
    (an app's file: any seed's run dir works alike; none is picked by its test accuracy)."""
    seeds = sorted((c for c in df.columns if c.startswith("seed_")), key=lambda c: int(c[5:]))
    dirs = [out / str(row.config) / c for _, row in df.iterrows() for c in seeds if pd.notna(row[c])]
    if not dirs:
        return []
    lines = [f"runs: {out}/CONFIG/seed_N, one run dir each (model.pt, result.json, metrics.csv), e.g. {dirs[0]}"]
    pick = next((d for d in dirs if has_model(d)), None)
    if pick is None:
        return lines + ["no run kept its weights (model.pt: trainer.save_checkpoint=false), so none can be exported"]
    best = f"{pick.parent.name} has the best mean; " if len(df) > 1 and pick.parent.name == str(df.config.iloc[0]) else ""
    return lines + [f"ship one as ONNX ({best}any seed's run dir works alike): "
                    f"{pasteable('mnist_sweep.export', pick, '--onnx', f'{pick.parent.name}.onnx')}",
                    f"classify images with it: {pasteable('mnist_sweep.predict', pick, 'IMAGE.png')}"]
