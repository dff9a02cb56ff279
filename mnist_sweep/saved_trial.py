"""A leaderboard row's trained trial and its saved config, checked before anything runs or is
written: the row asked for (``--rank``, ``--trial``), a row never trained (a duplicate names the trial
it stands for), the trial dir and its ``.hydra/config.yaml`` validated as train would take it, and the
schema defaults a saved section lacks. What reproduce, confirm and export read of a trial; reproduce
and export read one run dir's the same way (``run_config_dir``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from mnist_sweep import results
from mnist_sweep.errors import LeaderboardError, MnistSweepError, UsageError
from mnist_sweep.text import plural


def pick_row(board: pd.DataFrame, rank: int | None, trial: int | None, source: str) -> pd.Series:
    """The row asked for, or a LeaderboardError that says what exists."""
    if trial is not None:
        return trial_row(board, trial, source)
    rank = rank or 1
    rows = board[board["rank"] == rank]
    if rows.empty:  # a CSV with rows taken out: 'in 1..N' is no longer its ranks (it was an IndexError)
        ranks = sorted(int(r) for r in board["rank"].dropna())
        have = f"has {plural(len(board), 'row')}; give a rank in 1..{len(board)}" if ranks == list(range(1, len(board) + 1)) \
            else f"has the ranks {', '.join(map(str, ranks[:20]))}{', ...' if len(ranks) > 20 else ''}; give one of them"
        raise LeaderboardError(f"--rank {rank}: {source} {have}")
    return rows.iloc[0]


def trial_row(board: pd.DataFrame, trial: int, source: str, by_rank: bool = True) -> pd.Series:
    """The row of trial number ``trial``; a LeaderboardError where none has it, or where a merged
    table (its ``sweep`` column) has it from several sweeps: each sweep numbers its trials from 0, and
    the first row was taken silently (confirm took the last). ``by_rank``: the command takes --rank."""
    rows = board[board["trial"] == trial]
    if rows.empty:
        raise LeaderboardError(f"--trial {trial}: not in {source} (trials {board['trial'].min()}..{board['trial'].max()})"
                               + _in_flight(Path(source), trial))
    if len(rows) > 1 and "sweep" in board.columns:
        which = ", ".join(f"{s} (rank {r})" for s, r in zip(rows["sweep"], rows["rank"]))
        raise LeaderboardError(f"--trial {trial}: {source} merges sweeps, and {len(rows)} have a trial {trial}: {which}; "
                               f"give that sweep's dir with --trial {trial}" + (", or --rank N" if by_rank else ""))
    return rows.iloc[0]


def _in_flight(source: Path, trial: int) -> str:
    """Why a trial whose dir the sweep made has no row: a sweep writes its leaderboard.csv as each trial
    ends, so the one training (or in flight when a kill -9 or a crash stopped the sweep) is not in it."""
    d = (source if source.is_dir() else source.parent) / f"trial_{trial:04d}"
    if not d.is_dir():
        return ""
    return (f", which gets a trial's row when it ends; {d} is there: still training, or its sweep stopped in it "
            f"(python -m mnist_sweep.leaderboard {d.parent} --refresh says which)")


TRAINED = ("complete", "pruned")


def original_of(board: pd.DataFrame, row: pd.Series) -> pd.Series | None:
    """The trained trial a duplicate row stands for: the first with the same parameters (the
    sweeper's duplicate_of; a duplicate is never trained), else None."""
    hp = [c for c in board.columns if c.startswith("hp.")]

    def key(r: pd.Series) -> tuple:
        return tuple(None if pd.isna(v) else v for v in r[hp])

    same = [r for _, r in board[board["status"].isin(TRAINED)].sort_values("trial").iterrows() if key(r) == key(row)]
    return same[0] if same and row["status"] == "duplicate" else None


def check_trained(row: pd.Series, board: pd.DataFrame | None, verb: str) -> None:
    """LeaderboardError for a row that was never trained; a duplicate's names its original."""
    if row["status"] in TRAINED:
        return
    label = f"trial {row['trial']} ({row['status']})"
    original = original_of(board, row) if board is not None else None
    if original is not None:
        t = original["trial"]
        raise LeaderboardError(f"{label}: was never trained, it has the same parameters as trial {t} ({original['status']}); "
                               f"{verb} that one: --trial {t}")
    error = row.get("error")
    said = f" ({str(error).splitlines()[0]})" if isinstance(error, str) and error.strip() else ""
    why = {"running": "is still training (or its worker died: leaderboard --refresh tells), nothing to {verb} yet",
           "repeating": "is still training its seeds, nothing to {verb} yet", "failed": "its run stopped{said}, no finished run to {verb}",
           "rejected": "was never trained, refused before launch{said}, nothing to {verb}"}.get(row["status"], "was never trained, nothing to {verb}")
    none = board is not None and not board["status"].isin(TRAINED).any()  # there is no complete trial to pick
    fix = "no trial has finished yet: resume the sweep (its command again) or wait" if none else "pick a complete trial"
    raise LeaderboardError(f"{label}: {why.format(verb=verb, said=said)}; {fix}")


SECTIONS = ("model", "optimizer", "scheduler", "data", "trainer")  # what a trial's saved config holds


def checked_config(trial_dir: Path, verb: str = "reproduce", what: str = "trial") -> Any:
    """A trial's saved ``.hydra/config.yaml`` as train would take it: read (one line for a damaged
    file), then validated; a hand-edited bad value, an unknown key, an interpolation that no longer
    resolves or a missing section is one line naming the file, before anything runs or is written.
    ``what``: "trial", or "run" for one run dir in no sweep (it has no other trial to pick)."""
    from mnist_sweep.config.settings import validate

    cfg = results.read_config(trial_dir)
    path = trial_dir / ".hydra" / "config.yaml"
    other = "pick another trial" if what == "trial" else "give another run dir"
    if missing := [s for s in SECTIONS if s not in cfg]:
        raise MnistSweepError(f"{path}: no {', '.join(missing)} section; not a {what} of this project: {other}")
    try:
        validate(cfg)
    except Exception as e:  # noqa: BLE001 - ConfigError, or OmegaConf's on a hand-edited file
        why = str(e) if isinstance(e, MnistSweepError) else f"{type(e).__name__}: {(str(e).splitlines() or [''])[0]}"
        raise MnistSweepError(f"{path}: {why}; fix it in the file (edited by hand?) or {other}: "
                              f"train would refuse it, so cannot {verb} it") from None
    return cfg


def absent_defaults(section: str, saved: Any) -> dict[str, Any]:
    """The schema defaults a trial ran with for keys its saved ``section`` lacks (a run from before
    trainer.fast_dropout ran torch's dropout; conf/trainer, which +experiment composes on, says true)."""
    from omegaconf import OmegaConf

    from mnist_sweep.config.sections import schema_for

    schema = OmegaConf.to_container(OmegaConf.structured(schema_for(section, saved)))
    return {k: v for k, v in schema.items() if k not in saved and v != "???"}  # "???": required, never absent


def trial_config_dir(row: pd.Series, board: pd.DataFrame | None = None, verb: str = "reproduce") -> Path:
    """The saved config dir (``.hydra``) of a leaderboard row, checked (``board``: the leaderboard it
    is from, to name the trial a duplicate stands for; ``verb``: what the command does with it)."""
    label = f"trial {row['trial']} ({row['status']})"
    check_trained(row, board, verb)
    if not isinstance(row.get("trial_dir"), str) or not row["trial_dir"].strip():  # it printed as nan/.hydra/...
        raise LeaderboardError(f"{label}: no trial_dir in its row; give the sweep dir (its leaderboard.csv records "
                               f"where each trial's dir is); cannot {verb} it")
    trial_dir = Path(row["trial_dir"])
    config = trial_dir / ".hydra" / "config.yaml"
    if not config.exists():
        what = f"{config} is missing (trial dir deleted or moved?)" if trial_dir.is_dir() else \
            f"{trial_dir}: no such trial dir (deleted, or left out of a copy of the sweep dir?)"
        raise LeaderboardError(f"{label}: {what}; cannot {verb} it")
    checked_config(trial_dir, verb)  # a damaged or hand-edited config: one line naming it, before anything runs
    return config.parent


def run_config_dir(run_dir: Path, verb: str = "reproduce") -> Path:
    """The saved config dir (``.hydra``) of one run dir whose result.json says it finished (or was
    pruned), its config checked as train would take it (``verb``: what the command does with it)."""
    result, why = results.load(run_dir)
    if why or result.get("status") not in TRAINED:
        fix = "restore it from a copy of the run dir" if why not in (None, "no such file") else \
            f"the run did not finish, nothing to {verb}: give a run dir that training completed"
        raise MnistSweepError(f"{run_dir / results.FILENAME}: {why or 'status ' + repr(result.get('status'))}; {fix}")
    if not (run_dir / ".hydra" / "config.yaml").is_file():
        raise MnistSweepError(f"{run_dir / '.hydra' / 'config.yaml'}: missing (deleted or moved?); cannot {verb} it")
    checked_config(run_dir, verb, "run")  # a damaged or hand-edited config: one line naming it, before anything runs
    return run_dir / ".hydra"


def no_pick(rank: int | None, trial: int | None, run_dir: Path, max_params: int | None = None) -> None:
    """UsageError for --rank, --trial or --max-params given with one run dir: they pick a row of a leaderboard."""
    from mnist_sweep.board_paths import sweep_above

    given = [(f, v) for f, v in (("--rank", rank), ("--trial", trial), ("--max-params", max_params)) if v is not None]
    if given:
        flag, value = given[0]
        sweep = sweep_above(run_dir)  # a trial's or a seed's: its sweep has the rows; a train run's has none
        there = f", or give its sweep dir instead: {sweep} {flag} {value}" if sweep else ""
        raise UsageError(f"{flag}: picks a row of a leaderboard, and {run_dir} is one run dir{'' if sweep else ' in no sweep'}; "
                         f"leave {flag} out{there}")
