"""Re-run a leaderboard trial or one run dir from its saved config and compare every epoch's metrics.

``python -m mnist_sweep.reproduce LEADERBOARD.csv --rank 1`` (or ``--trial N``, or a sweep dir) trains
the trial's ``.hydra/config.yaml`` again in a new output dir; ``... reproduce RUN_DIR`` one run dir's (a
``trial_NNNN``, a ``seed_N`` in it, a train run's dir). It prints recorded and reproduced metrics side
by side, and exits 1 if any differs. On the same machine they match exactly.
"""
from __future__ import annotations

if __name__ == "__main__":  # SIGTERM as Ctrl-C before the imports below and main's flags (seconds), then main
    from mnist_sweep import children as _children
    _children.started(lambda: __import__("mnist_sweep.reproduce", fromlist=["main"]).main())

import argparse
import sys
import threading
import time
from pathlib import Path

import pandas as pd

from mnist_sweep import PROJECT_ROOT, results, teacher_file
from mnist_sweep.board_paths import sweeps_here, sweeps_in, unwritten_table
from mnist_sweep.children import Children
from mnist_sweep.commandline import CliParser, exit_code_of, shell_command
from mnist_sweep.config.syntax import hydra_value, searchpath_override
from mnist_sweep.differences import COMPARED, compare, epoch_counts, printed, why_they_may_differ
from mnist_sweep.errors import (LeaderboardError, MnistSweepError, ReproductionMismatch, UsageError, empty_or_binary,
                                 not_an_output_dir)
from mnist_sweep.experiments import precision_pin
from mnist_sweep.leaderboard import FILENAME, read
from mnist_sweep.rundir import check_out, in_a_run, runs_in
from mnist_sweep.saved_trial import no_pick, pick_row, run_config_dir, trial_config_dir
from mnist_sweep.csv_rows import read_csv_once, short_row
from mnist_sweep.text import plural


def trial_files(row: pd.Series, board: pd.DataFrame | None = None) -> tuple[Path, pd.DataFrame]:
    """(saved config dir, recorded metrics) of a leaderboard row to reproduce."""
    config_dir = trial_config_dir(row, board)
    return config_dir, recorded_metrics(config_dir.parent, f"trial {row['trial']} ({row['status']}): ")


def run_files(run_dir: Path) -> tuple[Path, pd.DataFrame]:
    """(saved config dir, recorded metrics) of a run dir whose result.json says it finished (or was pruned)."""
    return run_config_dir(run_dir), recorded_metrics(run_dir)


def recorded_metrics(run_dir: Path, label: str = "") -> pd.DataFrame:
    """A run's metrics.csv, with an epoch and every compared column (else one line, ``label`` first)."""
    path = run_dir / "metrics.csv"
    fix = "restore it from a copy of the run dir, or pick another trial or run; cannot reproduce it"
    try:
        metrics, data = read_csv_once(path)
        missing = [c for c in ["epoch", *COMPARED] if c not in metrics.columns]
        if missing or metrics.empty:
            raise ValueError(f"no column {', '.join(missing)}" if missing else "no epoch recorded")
        metrics[["epoch", *COMPARED]].apply(pd.to_numeric)
    except (OSError, ValueError, UnicodeDecodeError) as e:
        why = "missing" if isinstance(e, FileNotFoundError) else empty_or_binary(path, "a CSV") or \
            (f"unreadable or damaged ({e})" if str(e) else "unreadable")
        raise LeaderboardError(f"{label}{path}: {why.splitlines()[0]}; {fix}") from None
    if why := short_row(data):  # its missing fields read as empty: trained, then 'metrics differ'
        raise LeaderboardError(f"{label}{path}: {why}; {fix}")
    return metrics


_HYDRA = threading.Lock()  # Hydra's compose API is process-global; confirm composes from two threads


def resolved(select: list[str], overrides: list[str]) -> dict:
    """The config ``python -m mnist_sweep.train <select> <overrides>`` would run, resolved."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    if select[:1] == ["--config-path"]:
        config_dir, name, rest = select[1], select[3], select[4:]
    else:
        config_dir, name, rest = str(PROJECT_ROOT / "conf"), "config", select
    if rest[:1] == ["--config-dir"]:  # searched after conf/, as train's (confirm's --experiment exported elsewhere)
        rest = [searchpath_override([rest[1]]), *rest[2:]]
    with _HYDRA, initialize_config_dir(version_base="1.3", config_dir=config_dir):
        cfg = compose(name, overrides=[*rest, *overrides])
    return OmegaConf.to_container(cfg, resolve=True)


def selection(config_dir: Path) -> list[str]:
    """The train arguments that compose a trial's saved config exactly: conf/ with the trial's own
    overrides (``.hydra/overrides.yaml``) when they resolve to that very config, so that further
    overrides are typed by the schema and a group option switches as on any command line; else
    (conf/ changed since, another config dir) the saved config itself, ``--config-path``; and the
    data (and the trainer.teacher) the run read where its relative data.root, read from here, would be another directory."""
    from omegaconf import OmegaConf

    saved = ["--config-path", str(config_dir.resolve()), "--config-name", "config"]
    root = [*data_root_from_here(config_dir.parent), *teacher_from_here(config_dir.parent)]
    try:
        own = [str(o) for o in OmegaConf.to_container(OmegaConf.load(config_dir / "overrides.yaml"))]
        return [*(own if resolved(own, []) == resolved(saved, []) else saved), *root]
    except Exception:  # noqa: BLE001 - no or damaged overrides.yaml, overrides conf/ no longer takes
        return [*saved, *root]


def data_root_from_here(run_dir: Path) -> list[str]:
    """The data.root override that reads the data the run read (``results.run_data_root``): where
    its relative one, read from here, is another dir; the default root where that is not on this machine."""
    root = results.read_config(run_dir).data.get("root")
    if (where := results.run_data_root(run_dir, root)) is None:
        return [] if root is None else ["data.root=null"]
    return [run_dir_override(where, "data.root")] if where != root and Path(where) != Path.cwd() / root else []


def teacher_dir(run_dir: Path, given: str) -> Path:
    """A run's trainer.teacher as the run read it: a relative one from the dir the run started in (``hydra.runtime.cwd``
    in its ``.hydra/hydra.yaml``), as its data.root; where that is not recorded, from the current dir."""
    from omegaconf import OmegaConf

    if Path(given).expanduser().is_absolute():
        return Path(given).expanduser()
    try:
        cwd = OmegaConf.select(OmegaConf.load(run_dir / ".hydra" / "hydra.yaml"), "hydra.runtime.cwd")
    except Exception:  # noqa: BLE001 - missing, unreadable or damaged: the run's start dir is unknown
        cwd = None
    return Path(cwd) / given if isinstance(cwd, str) and Path(cwd).is_absolute() else Path(given)


def teacher_from_here(run_dir: Path) -> list[str]:
    """The trainer.teacher override that reads the teacher the run read, where its relative one, read from here,
    would be another dir."""
    given = results.read_config(run_dir).get("trainer", {}).get("teacher")
    if not isinstance(given, str) or (where := teacher_dir(run_dir, given)) == Path.cwd() / given:
        return []
    return [run_dir_override(where, "trainer.teacher")] if where != Path(given).expanduser() else []


def same_teacher(label: str, run_dir: Path) -> None:
    """A distilled run (result.json's teacher) re-runs only with the teacher it learnt from: its model.pt where the run
    read it, with the sha256 recorded; else one line before the re-run (another teacher's metrics would differ)."""
    rec = results.read(run_dir).get("teacher")
    if not isinstance(rec, dict):
        return
    weights = teacher_dir(run_dir, str(rec.get("path"))) / "model.pt"
    if why := teacher_file.change(weights, str(rec.get("sha256"))):
        raise MnistSweepError(f"{label}: trainer.teacher: {why}, so it cannot be reproduced; restore the teacher's run dir "
                              "as it was, or train the run again with a teacher that is there")


def run_dir_override(path: Path | str, key: str = "hydra.run.dir") -> str:
    """``KEY=PATH`` (hydra.run.dir, data.root) as one Hydra override that reads back as ``path`` whatever it
    holds (a space, a comma, ``=``, quotes): quoted, with Hydra's escapes, unless it is plain. Unquoted,
    such a path was a grammar error in the re-run ('^'), after confirm had created its --out."""
    return f"{key}={hydra_value(str(path))}"


VALUE_FLAGS = ("--config-path", "-cp", "--config-name", "-cn", "--config-dir", "-cd")


def train_command(*args: str) -> list[str]:
    """``python -m mnist_sweep.train args`` with each override's key once: where a key is set twice
    (a trial's own trainer.progress=False, then the re-run's trainer.progress=false) the last stays,
    in its place, as Hydra applies them; a flag and its value are kept as they are."""
    def key(i: int) -> str | None:  # an override's key, with its +/~ prefix; None for a flag or its value
        plain = "=" in args[i] and not args[i].startswith("-") and not (i and args[i - 1] in VALUE_FLAGS)
        return args[i].split("=", 1)[0] if plain else None

    last = {key(i): i for i in range(len(args))}
    return [sys.executable, "-m", "mnist_sweep.train", *(a for i, a in enumerate(args) if key(i) is None or last[key(i)] == i)]


def rerun(config_dir: Path, out_dir: Path, extra: list[str], select: list[str]) -> pd.DataFrame:
    """Train the saved config (``select``: its ``selection``) in ``out_dir`` (a subprocess: a fresh, single-run Hydra app;
    SIGTERM, Ctrl-C or a hang-up stops it with this process, and the interrupt is raised once it has ended)."""
    cmd = train_command(*select, run_dir_override(out_dir), "trainer.progress=false", *extra)
    print("$ " + shell_command(cmd), flush=True)
    proc = Children().run_one(cmd)  # in its own process group: it went on training alone after a SIGTERM
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1].removeprefix("error: ")  # its own line, quoted once
        raise MnistSweepError(f"{config_dir}: the re-run failed with exit code {proc.returncode}: {last}")
    return pd.read_csv(out_dir / "metrics.csv")


def target(args: argparse.Namespace) -> tuple[str, Path, pd.DataFrame, str]:
    """(label, saved config dir, recorded metrics, default --out name): a leaderboard row (sweep dir or
    CSV, --rank or --trial) or one run dir (with ``.hydra/``: a trial's, a seed's, a train run's)."""
    p = Path(args.path)
    if not (p / ".hydra").is_dir():
        if (p / results.FILENAME).is_file():  # a run that saved no config (hydra.output_subdir=null, refused since)
            raise MnistSweepError(f"{p / '.hydra'}: missing, so the run's config is unknown (hydra.output_subdir=null?); "
                                  "cannot reproduce it: train it again with the config it had")
        if not p.exists() or (p.is_dir() and not (p / FILENAME).exists()):  # in a run dir (RUN/.hydra): it is named
            what = "no such file or directory" if not p.exists() else f"no {FILENAME} and no .hydra/ in this directory"
            sweep = p.is_dir() and unwritten_table(p)  # its trial in flight is no run to give
            sweep = sweep or (p.is_dir() and (s := sweeps_in(p)) and f"holds the sweep dirs {s}; give one of them")  # not their trials
            raise LeaderboardError(in_a_run(p) or (sweep and f"{p}: {sweep}") or (p.is_dir() and runs_in(p)) or
                                   f"{p}: {what}; give a sweep dir, its {FILENAME}, or a run dir (with .hydra/config.yaml)")
        try:
            board = read(p)
        except LeaderboardError as e:  # a file no table, in a run dir (RUN/model.pt): it is named; a table kept there reads
            raise LeaderboardError(in_a_run(p) or str(e)) from None
        row = pick_row(board, args.rank, args.trial, args.path)
        return (f"trial {row['trial']}", *trial_files(row, board), f"trial_{int(row['trial']):04d}")
    no_pick(args.rank, args.trial, p)
    name = "_".join(p.resolve().parts[-2:]) if p.resolve().name.startswith("seed_") else p.resolve().name
    return (str(p), *run_files(p), name)


def _run(args: argparse.Namespace) -> None:
    label, config_dir, recorded, name = target(args)
    same_teacher(label, config_dir.parent)  # before --out is made: a teacher gone or changed cannot give the run again
    out = Path(args.out or f"outputs/reproduce/{name}_{time.strftime('%Y%m%d-%H%M%S')}")
    if args.out is None and (line := not_an_output_dir(out)):  # cd TRIAL && reproduce .: its outputs/ would be in the trial
        raise UsageError(f"--out (default {out}): {line}, with --out DIR")
    check_out(out, "--out" if args.out else "--out (default)")  # the re-run's own check named hydra.run.dir, once started
    select = selection(config_dir)  # once: a note on the data it reads is said once
    reproduced = rerun(config_dir, out, precision_pin(config_dir.parent), select)  # what auto resolved to, kept
    if counts := epoch_counts(config_dir.parent, out, len(recorded), len(reproduced)):  # epochs one run lacks
        raise ReproductionMismatch(f"{label}: {counts}")
    table, ok = compare(recorded, reproduced)
    print(printed(table))
    if not ok:
        why = why_they_may_differ(config_dir.parent, out, select[0] == "--config-path")
        raise ReproductionMismatch(f"{label}: reproduced metrics differ from {config_dir.parent / 'metrics.csv'} "
                                   f"(re-run in {out}); {why}")
    print(f"{label}: {'all ' if len(recorded) > 1 else ''}{plural(len(recorded), 'epoch')} reproduced exactly (re-run in {out})")


def main(argv: list[str] | None = None) -> int:
    p = CliParser(prog="python -m mnist_sweep.reproduce", description=__doc__.splitlines()[0], missing=sweeps_here)
    p.add_argument("path", help="a sweep dir or its leaderboard.csv (with --rank or --trial), or one run dir: a trial_NNNN, "
                   "a seed_N in it, or a python -m mnist_sweep.train run's output dir (its .hydra/ and result.json)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--rank", type=int, help="leaderboard rank (default 1); not with a run dir")
    g.add_argument("--trial", type=int, help="Optuna trial number; not with a run dir")
    p.add_argument("--out", help="output dir (default outputs/reproduce/trial_NNNN_<time>, or <run dir's name>_<time>)")
    args = p.parse_args(argv)
    return exit_code_of(lambda: _run(args), p.prog, "interrupted: nothing compared; run it again (with a new --out if "
                        "the re-run left its epochs in yours)")  # an --out holding them is refused
