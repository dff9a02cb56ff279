"""A path given where a leaderboard is expected that holds none, in one line: what it is (a run dir,
a sweep dir whose table is not written, a dir of sweep dirs, the sweep's Optuna storage, nothing at
all) and what to give instead. ``mnist_sweep.leaderboard.read`` raises with these lines; the dashboard
takes ``sweep_holding`` from here too. Cheap to import (no pandas, torch or Optuna), and so is
``sweep_holding`` to call: what needs ``results`` or ``sweeps`` (they import pandas) imports them
where it is called."""
from __future__ import annotations

import json
import re
from pathlib import Path

from mnist_sweep.moved import holds_trials, is_trial_name
from mnist_sweep.storage import STORAGE_RECORD, file_url, local_path, mask_url

FILENAME = "leaderboard.csv"  # <sweep_dir>/leaderboard.csv: a sweep's table
CONFIRM_TABLE = "robustness.csv"  # <confirm --out>/robustness.csv: confirm's table of seeds
SQLITE_HEADER = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite database


TAKES = "a sweep dir (outputs/sweeps/NAME) or a CSV"  # what the leaderboard, export and confirm read


def no_table(d: Path, takes: str = TAKES, several: bool = False, picks: bool | str = False) -> str:
    """What a directory without a leaderboard.csv is, and what to give instead: a run dir (its sweep
    dir, and its trial's --trial N where the command ``picks`` a trial: export and confirm took the sweep
    dir alone and used rank 1; ``picks="confirm"``: a seed's dir is one of the seeds confirm trains), a
    sweep dir whose table is not written (yet), a dir of sweep dirs (them: one, or ``several`` where the
    command merges them), else what the command ``takes`` (the report takes no CSV: it suggested one,
    then refused it)."""
    if is_run(d):
        sweep = sweep_above(d)
        trial = _trial_of(d, sweep) if sweep and picks else None
        if trial is not None:  # a seed's dir (hydra.sweeper.repeats): --trial N is the trial's config, its own seed
            seed = m[1] if (m := re.fullmatch(r"seed_(\d+)", d.absolute().name)) else None
            how = (f"confirm trains the trial's config over seeds 1..N, --seeds N: this run is its seed {seed}"
                   if picks == "confirm" else f"the trial's config, with its own seed; this run is trainer.seed={seed}: "
                   f"add trainer.seed={seed} to the command that trains it")  # confirm refuses --set trainer.seed
            return f"one run dir, not a sweep; give its sweep dir and trial: {sweep} --trial {trial}" + (
                f" ({how})" if seed else "")
        return (f"one run dir, not a sweep; give its sweep dir, {sweep}" if sweep else f"one run dir, not a sweep, and no "
                f"{FILENAME} above it; give a sweep dir (reproduce, predict and export take a run dir)")
    if line := unwritten_table(d):
        return line
    if sweeps := sweeps_in(d):
        return f"holds the sweep dirs {sweeps}; give " + ("one or more of them" if several else "one of them")
    return f"no {FILENAME} in this directory; give {takes}"


def is_run(d: Path) -> bool:
    """Whether ``d`` is a run dir: its ``.hydra/`` or its result.json (a trial's, a seed's, a train run's)."""
    from mnist_sweep import results  # imports pandas: only where it is called

    return (d / ".hydra").is_dir() or (d / results.FILENAME).exists()


def sweep_above(d: Path) -> Path | None:
    """The sweep dir a run dir ``d`` lies in: a leaderboard.csv one dir up (a trial's) or two (a seed's); else None."""
    return next((a for a in d.absolute().parents[:2] if (a / FILENAME).is_file()), None)


def lone_run(d: Path) -> bool:
    """Whether ``d`` is a run dir in no sweep (a train run's, confirm's): export takes it as itself; a
    trial dir, which has its sweep's leaderboard.csv above it, is given as its sweep dir and --trial N."""
    return is_run(d) and not (d / FILENAME).is_file() and sweep_above(d) is None


def _trial_of(run: Path, sweep: Path) -> int | None:
    """The trial number the sweep's table records for the trial dir ``run`` (a seed_N dir: the trial
    it is a seed of), by the dir's name; None where no row names it."""
    import csv

    name = (run.absolute().parent if run.absolute().name.startswith("seed_") else run.absolute()).name
    try:
        with open(sweep / FILENAME, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                if Path(row.get("trial_dir") or "").name == name and str(row.get("trial") or "").isdigit():
                    return int(row["trial"])
    except (OSError, csv.Error, UnicodeDecodeError):
        return None
    return None


def sweep_dirs(d: Path) -> list[Path]:
    """The sweep dirs in ``d`` (a leaderboard.csv in each), sorted; none where ``d`` is not there or
    may not be listed."""
    try:
        return sorted(s for s in d.iterdir() if (s / FILENAME).is_file())
    except OSError:
        return []


def sweeps_in(d: Path) -> str:
    """The sweep dirs in ``d`` (a leaderboard.csv in each), the first five; '' if none."""
    sweeps = [str(s) for s in sweep_dirs(d)]
    return ", ".join(sweeps[:5]) + (" ..." if len(sweeps) > 5 else "")


def sweeps_here() -> str:
    """``; sweep dirs here: outputs/sweeps/a, ...`` for a command given none (a newcomer after the quick
    sweep: which path?), or nothing where outputs/sweeps has none."""
    return f"; sweep dirs here: {sweeps}" if (sweeps := sweeps_in(Path("outputs", "sweeps"))) else ""


def no_such(p: Path, give: str) -> str:
    """A path that does not exist, in one line: it, what to ``give``, and the sweep dirs beside it
    or in outputs/sweeps, where hydra.sweep.dir puts them by default (it read 'not a sweep dir' with
    --refresh, 'no such file' for a dir)."""
    sweeps = next((s for d in (p.parent, Path("outputs", "sweeps")) if (s := sweeps_in(d))), None)
    return f"{p}: no such file or directory; {give} (" + (f"sweep dirs: {sweeps})" if sweeps else
        "none in outputs/sweeps, where a sweep writes by default: run this where the sweep ran, or give its hydra.sweep.dir)")


_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def a_url(given: str, takes: str = TAKES) -> str | None:
    """A storage URL given where a path is expected (``sqlite:///outputs/sweeps/A/optuna.db``), in one
    line: the sweep dirs in outputs/sweeps whose storage.json records it, to give instead; it read
    'sqlite:/outputs/sweeps/A/optuna.db: no such file or directory', the URL's slashes collapsed as a
    path's. None for anything else (a dir that happens to be named so is a path)."""
    if not _URL.match(given) or Path(given).exists():
        return None
    dirs = ", ".join(str(d) for d in sweeps_of(given)[:5])
    give = f"give a sweep dir that used it: {dirs}" if dirs else f"give {takes}: the sweep's hydra.sweep.dir"
    return f"{mask_url(given)}: a storage URL, not a path; {give}"


def sweeps_of(url: str, root: Path = Path("outputs", "sweeps")) -> list[Path]:
    """The sweep dirs under ``root`` whose storage.json records the storage ``url`` (a SQLite or journal
    file as the same file, read from where each sweep ran)."""
    mine = local_path(url)
    found = []
    for record in sorted(root.glob(f"*/{STORAGE_RECORD}")):
        try:
            data = json.loads(record.read_text())
            theirs = local_path(str(data["storage"]))
            same = (Path(data.get("cwd") or ".") / theirs).resolve() == mine.resolve() if mine and theirs \
                else data["storage"] == url
        except (OSError, ValueError, KeyError, TypeError):  # a damaged record: not this storage's
            continue
        if same:
            found.append(record.parent)
    return found


def unwritten_table(d: Path) -> str | None:
    """A sweep dir (its storage record or file) without its leaderboard.csv: where no trial has ended
    (the first still training, or the sweep killed in it) the table is not written yet, and the
    storage's trials are seen with a plain ``--refresh``, which writes nothing; where one has (a
    result.json, the sweep's end) the table was deleted: rebuilt with ``--refresh --out``. None for any other dir."""
    if not any((d / f).exists() for f in (STORAGE_RECORD, "optuna.db", "journal.log")):
        return None
    if not _a_trial_ended(d):
        return (f"no {FILENAME} yet: no trial has ended (the first still training, or the sweep stopped in it); "
                f"see its trials in the sweep's storage: python -m mnist_sweep.leaderboard {d} --refresh")
    return (f"no {FILENAME} (not written yet, or deleted); rebuild it from the sweep's storage: "
            f"python -m mnist_sweep.leaderboard {d} --refresh --out {d / FILENAME}")


def _a_trial_ended(d: Path) -> bool:
    """Whether the sweep dir ``d`` shows a trial ended (its result.json) or the sweep did (its
    optimization_results.yaml): its leaderboard.csv was written then."""
    from mnist_sweep import results  # imports pandas: only where it is called

    try:
        return (d / "optimization_results.yaml").exists() or any(
            (t / results.FILENAME).is_file() for t in d.iterdir() if t.is_dir() and is_trial_name(t.name, d))
    except OSError:  # a dir it may not list: as before, the rebuild
        return True


def rowless_trial_dirs(path: str | Path, trial_dirs: list[object]) -> str:
    """The line for the trial dirs of the sweep dir ``path`` (or of its leaderboard.csv) that no row's
    dir (``trial_dirs``) is: a sweep writes a trial's row when it ends, so one still training, or in flight
    when a kill -9 or a crash stopped its worker, is in the table only with --refresh; '' where none."""
    d = Path(path) if Path(path).is_dir() else Path(path).parent
    if not (Path(path).is_dir() or Path(path).name == FILENAME) or not holds_trials(d):
        return ""  # a table saved elsewhere: its rows' dirs are where they were recorded
    named = {Path(t).name for t in trial_dirs if isinstance(t, str)}
    dirs = sorted(f"{p.name}/" for p in d.iterdir() if p.is_dir() and is_trial_name(p.name, d) and p.name not in named)
    return (f"{d}: {', '.join(dirs)} {'has' if len(dirs) == 1 else 'have'} no row yet: still training, or its "
            f"sweep stopped in it (python -m mnist_sweep.leaderboard {d} --refresh says which)") if dirs else ""


def a_storage(p: Path) -> str | None:
    """A file that is an Optuna storage (a SQLite database with Optuna's tables, or a journal log;
    known by its first bytes, whatever its name), given for a table: it read 'not a readable CSV
    (UnicodeDecodeError)'. Give the sweep dir holding it. None for any other file."""
    from mnist_sweep.sweeps import not_a_storage  # imports pandas: only where it is called

    try:
        with open(p, "rb") as f:
            head = f.read(16)
    except OSError:
        return None
    if head == SQLITE_HEADER and not_a_storage(file_url("sqlite:///", p.absolute())) is None:
        kind = "SQLite"
    elif head.startswith(b'{"op_code"'):
        kind = "journal"
    else:
        return None
    if here := sweep_holding(p):
        return f"{p}: is the sweep's Optuna storage ({kind}), not a {FILENAME}; give the sweep dir holding it, {here}"
    return f"{p}: is an Optuna storage ({kind}), not a {FILENAME}; give the dir of the sweep that wrote it (its hydra.sweep.dir)"


def sweep_holding(p: Path) -> Path | None:
    """The sweep dir a file given for a table lies in (its report.html, storage.json, ...), as the
    user spelled it, to give instead; None where its dir is no sweep dir: neither a leaderboard.csv
    nor a storage.json beside it, nor a trial dir (a sweep whose table is not written yet)."""
    d = p.absolute().parent
    if in_confirms_out(p):  # confirm's --out: its CONFIG dirs may be named trial_NNNN, and it is no sweep dir
        return None
    if any((d / f).is_file() for f in (FILENAME, STORAGE_RECORD)) or holds_trials(d):
        return p.parent if p.parent != Path(".") else d
    return None


def not_a_table(p: Path, what: str, picks: bool | str = False) -> str:
    """A file that is no leaderboard (``what``: why), in one line: the sweep dir holding it to give
    instead (SWEEP/report.html read 'not a readable CSV; give a leaderboard.csv'), else a leaderboard.csv;
    confirm's table says what it is and names a run in its dir (reproduce and predict take one)."""
    if p.name == CONFIRM_TABLE and in_confirms_out(p):
        runs = run_dirs(p.parent)
        run = f"; reproduce and predict take one of its runs, e.g. {runs[0]}" if runs else ""
        return f"{p}: confirm's table of seeds, not a leaderboard; give the sweep dir whose trials it confirmed{run}"
    if p.name != FILENAME and is_run(run := p.absolute().parent):  # RUN/model.pt: the run dir, and what to give for it
        return f"{p}: a file in the run dir {p.parent}, {no_table(run, picks=picks).removeprefix('one run dir, ')}"
    here = sweep_holding(p) if p.name != FILENAME else None
    return f"{p}: {what}; " + (f"give the sweep dir holding it, {here}" if here else f"give a {FILENAME}")


def run_dirs(d: Path) -> list[Path]:
    """The run dirs one or two levels below ``d`` (a Hydra multirun's, confirm's --out: CONFIG/seed_N), sorted."""
    return sorted(c.parent.parent for pattern in ("*/.hydra/config.yaml", "*/*/.hydra/config.yaml") for c in d.glob(pattern))


def in_confirms_out(p: Path) -> bool:
    """Whether ``p`` lies in confirm's --out dir (its robustness.csv there, and no sweep's table or storage record)."""
    d = p.absolute().parent
    return (d / CONFIRM_TABLE).is_file() and not any((d / f).is_file() for f in (FILENAME, STORAGE_RECORD))
