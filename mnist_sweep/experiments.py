"""Experiment files (``+experiment=NAME``): where train finds one, the commands that use one, and
the precision an exported one pins, and the header an exported one opens with; the file export's
``--out`` may write: ``experiment/NAME.yaml``, never one of the project's shipped experiments (``SHIPPED``).

Hydra looks ``+experiment=NAME`` up as ``experiment/NAME.yaml`` in the project's ``conf/`` first,
then in ``--config-dir DIR`` (searched after it). So a file outside the project is trained with
``--config-dir DIR`` by train and confirm alike, and one named as a project experiment is never read.
"""
from __future__ import annotations

import itertools
import math
import numbers
import os
import re
from pathlib import Path
from typing import Any

from mnist_sweep import PROJECT_ROOT, results
from mnist_sweep.commandline import pasteable
from mnist_sweep.config.options import one_dir_up
from mnist_sweep.errors import MnistSweepError
from mnist_sweep.output_files import check_writable, stream_name
from mnist_sweep.shell import argument
from mnist_sweep.similar import close_matches
from mnist_sweep.text import percent, plural, spread

PROJECT = PROJECT_ROOT / "conf" / "experiment"  # the project's own experiments, searched first
PRECISIONS = ("fp32", "bf16")  # what trainer.precision resolves to (result.json's precision)
# the project's own experiments, which README -> Results reproduces: export never replaces one (--force neither)
SHIPPED = ("best_20k", "eva8_seed", "small_8k", "smallest_994", "tiny")
NAME = re.compile(r"^[A-Za-z0-9_-]+$")  # an experiment's name, as export writes it and confirm takes it


def config_dir_of(out: Path) -> Path | None:
    """The ``--config-dir`` that finds ``out`` (``DIR/experiment/NAME.yaml``); None in the project's conf/experiment."""
    return None if out.parent.resolve() == PROJECT.resolve() else out.parent.parent.resolve()


def usage(out: Path, command: str = "train") -> str:
    """The train (or confirm) command that uses the experiment file ``out``, pasteable (a config dir
    with a space is quoted; the interpreter's path, as other commands print)."""
    where = () if (d := config_dir_of(out)) is None else ("--config-dir", d)
    if command == "confirm":
        return pasteable("mnist_sweep.confirm", *where, "--experiment", out.stem, "--seeds", 3)
    return pasteable("mnist_sweep.train", *where, f"+experiment={out.stem}")


def shadowed(out: Path) -> str | None:
    """Why ``out``, outside the project's conf/experiment, would never be trained: the project has an
    experiment of that name, which Hydra finds first; None otherwise."""
    if config_dir_of(out) is None or not (PROJECT / out.name).is_file():
        return None
    return (f"the project has conf/experiment/{out.name}, and Hydra reads it before --config-dir's, so "
            f"+experiment={out.stem} would train that one; e.g. --out {argument(free_name(out))}")


def free_name(out: Path) -> Path:
    """``out`` as NAME_2.yaml, NAME_3.yaml, ...: the first that names no file there, no shipped experiment
    and none of the project's (which Hydra would read instead of one in another config dir)."""
    stem = re.sub(r"_\d+$", "", out.stem) or out.stem
    return next(p for i in itertools.count(2) if not (p := out.with_name(f"{stem}_{i}.yaml")).exists()
                and p.stem not in SHIPPED and not (PROJECT / p.name).is_file())


def _same_entry(out: Path, ours: Path) -> bool:
    """Whether writing ``out`` would replace ``ours``: its name in another case on a case-insensitive disk
    (macOS's TINY.yaml is tiny.yaml). A link named ``out`` is replaced itself, not what it points at."""
    if out.name.casefold() != ours.name.casefold():
        return False
    try:
        a, b = os.lstat(out), os.stat(ours)
    except (OSError, ValueError):
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def shipped(out: Path) -> str | None:
    """Why ``out`` is never written, --force or not: it is one of the project's shipped experiments
    (``SHIPPED``, the configs README -> Results reproduces); None otherwise."""
    ours = [PROJECT / f"{name}.yaml" for name in SHIPPED]
    hit = next((f for f in ours if (out.name == f.name and config_dir_of(out) is None) or _same_entry(out, f)), None)
    if hit is None:
        return None
    return (f"conf/experiment/{hit.name} is a shipped experiment (README -> Results reproduces it): export never "
            f"replaces it, with --force neither; give another name, e.g. --out {argument(free_name(out))}")


def check_out(out: Path, force: bool) -> None:
    """export's ``--out`` must be ``<dir named experiment>/NAME.yaml`` (how Hydra finds +experiment=NAME), and
    no shipped experiment: else what is wrong, with a name to use that passes every check here."""
    folder = not out.suffix and (out.is_dir() or out.name == "experiment")  # conf/experiment/: the file goes in it
    stream = stream_name(out)  # '-', /dev/stdout: no file's name to keep
    stem = "my_best" if folder or stream else out.stem if out.suffix else out.name
    why = ["a directory; give the file to write, NAME.yaml in a dir named experiment"] if folder else \
        [f"names {stream}; export writes a file"] if stream else {
        ".yaml": [], ".yml": ["use .yaml, not .yml: Hydra finds +experiment=NAME as experiment/NAME.yaml only"]}.get(
        out.suffix, ["must end in .yaml: Hydra finds +experiment=NAME as experiment/NAME.yaml"])
    why += [] if NAME.match(stem) else [f"NAME ({stem}) may hold only ASCII letters, digits, _ or -"]
    why += [f"NAME ({stem}) may not start with -: confirm --experiment {stem} would read it as a flag"] \
        if stem.startswith("-") and len(stem) > 1 and NAME.match(stem) else []  # '-' alone is a value to argparse
    if why:  # the name suggested passes every check below: in a dir named experiment (the next line's)
        good = f"{re.sub(r'[^A-Za-z0-9_-]+', '_', stem).lstrip('_-').rstrip('_') or 'my_best'}.yaml"  # '-': my_best
        fixed = out / good if folder else out.with_name(good) if out.name not in ("", ".", "..") and not stream \
            else Path(good)
        if fixed.parent.name != "experiment":
            fixed = (fixed.parent / "experiment" if fixed.parent != Path(".") else Path("conf/experiment")) / fixed.name
        fixed = free_name(fixed) if fixed.stem in SHIPPED or shadowed(fixed) else fixed
        raise MnistSweepError(f"--out {out}: {'; '.join(why)}; e.g. --out {argument(fixed)}")
    if out.parent.name != "experiment":
        raise MnistSweepError(f"--out {out}: +experiment=NAME is looked up as experiment/NAME.yaml in a config dir; "
                              f"write conf/experiment/{out.name} or DIR/experiment/{out.name} (then train with --config-dir DIR)")
    if why := shipped(out) or shadowed(out):  # a shipped one is kept; the project's of that name is the one Hydra finds
        raise MnistSweepError(f"--out {out}: {why}")
    check_writable("--out", out, force)


def _not_found(name: str, extra: Path | None) -> str:
    """The error line for an experiment found nowhere: where it looked, and the fix."""
    places = [str(PROJECT), *([str(extra)] if extra else [])]
    line = f"--experiment {name}: no {name}.yaml in {' or in '.join(places)}"
    here = Path("conf", "experiment", f"{name}.yaml")
    if extra is None and here.is_file():
        return f"{line}; ./{here} is here: add --config-dir conf (as export printed)"
    if extra is not None and (up := one_dir_up("experiment", name, [str(extra.parent)])):
        return f"{line}; {up[0]}"
    known = sorted({p.stem for d in (PROJECT, extra) if d is not None for p in d.glob("*.yaml")})
    if near := close_matches(name, known, n=1):  # a typo of one there: train's +experiment=tlny names it too
        return f"{line}; did you mean --experiment {near[0]}? (experiments there: {', '.join(known)})"
    return (f"{line} (experiments there: {', '.join(known) or 'none'}); one exported elsewhere, as "
            f"DIR/experiment/{name}.yaml, is found with --config-dir DIR (the command export printed)")


def config_dir_problem(config_dir: str | None) -> str | None:
    """``--config-dir DIR: no such directory`` (or ``not a directory``) where DIR, relative to here as
    train takes it, is no directory; None where it is one, or none was given."""
    if not config_dir or (root := Path(os.path.abspath(config_dir))).is_dir():
        return None
    return f"--config-dir {config_dir}: {'not a directory' if root.exists() else 'no such directory'}"


def lookup(names: list[str], config_dir: str | None) -> list[str]:
    """The train arguments before ``+experiment=NAME`` (``--config-dir DIR`` or none) that find every
    name as train would (the project's conf/experiment, then DIR/experiment); MnistSweepError
    naming where it looked and how to fix it."""
    root = Path(os.path.abspath(config_dir)) if config_dir else None  # relative to here, as train takes it
    if (missing := config_dir_problem(config_dir)) is not None:
        raise MnistSweepError(f"{missing}; give the dir that holds experiment/NAME.yaml (the one export printed)")
    extra = None if root is None else root / "experiment"
    for name in names:
        if "/" in name or name.endswith((".yaml", ".yml")):
            p = Path(name)  # the project's own conf/experiment: train finds it without --config-dir
            fix = (f"--experiment {p.stem}" if p.parent.name == "experiment" and config_dir_of(p) is None else
                   f"--config-dir {p.parent.parent} --experiment {p.stem}" if p.parent.name == "experiment"
                   else "--experiment NAME, with --config-dir DIR for DIR/experiment/NAME.yaml")
            raise MnistSweepError(f"--experiment {name}: a name, not a path; give {fix}")
        if not re.fullmatch(r"[A-Za-z0-9_-]+", name):  # as export names them: a comma would be a Hydra sweep list
            raise MnistSweepError(f"--experiment {name}: a NAME holds only ASCII letters, digits, _ or -")
        own, there = PROJECT / f"{name}.yaml", extra / f"{name}.yaml" if extra else None
        if not own.is_file() and not (there and there.is_file()):
            raise MnistSweepError(_not_found(name, extra))
        if there and own.is_file() and there.is_file() and own.read_bytes() != there.read_bytes():
            raise MnistSweepError(f"--experiment {name}: {there} and the project's {own} both exist, and train "
                                  f"reads the project's (Hydra searches --config-dir after conf/); rename {there} "
                                  "to confirm it, or leave out --config-dir to confirm the project's")
    return [] if root is None else ["--config-dir", str(root)]


def recorded_precision(trial_dir: Path) -> str | None:
    """What the trial trained in (result.json's precision), for an exported file to pin: ``auto``
    decides per machine (and a re-measured cache may decide anew), so the file would train another
    precision elsewhere, as reproduce would (it pins it too); None where none was recorded."""
    got = results.read(trial_dir).get("precision")
    return got if got in PRECISIONS else None


def precision_pin(trial_dir: Path) -> list[str]:
    """``trainer.precision=<what the trial trained in>``, the override reproduce and confirm retrain
    with: its config's ``auto`` decides per machine. Nothing where none was recorded."""
    return [f"trainer.precision={p}"] if (p := recorded_precision(trial_dir)) else []


def precision_comment(trial_dir: Path, noun: str = "trial") -> str | None:
    """The comment for an exported file's pinned precision line where the trial's (``noun``: or the
    run's) config said another (``auto``) than it trained in; None where they agree."""
    res, got = results.read(trial_dir), recorded_precision(trial_dir)
    saved = (results.read_config(trial_dir).get("trainer") or {}).get("precision")
    if got is None or saved in (None, got):
        return None
    where = f" on {res['host']}" if res.get("host") else ""
    return (f"the {noun}'s {saved}, as it resolved{where} ({res.get('device', '?')}): pinned so the {noun}'s "
            "metrics reproduce; auto decides per machine")


def comment_precision(text: str, comment: str | None) -> str:
    """A rendered experiment with ``comment`` after its trainer section's ``precision:`` line."""
    head, sep, rest = text.partition("\ntrainer:\n")
    lines = rest.split("\n")
    for i, line in enumerate(lines if comment and sep else []):
        if not line.startswith(" "):  # the next section: no precision line
            break
        if line.startswith("  precision: "):
            lines[i] = f"{line}  # {comment}"
            break
    return head + sep + "\n".join(lines)


def _real(v: Any) -> float | None:
    """A leaderboard cell's number; None for an empty one (NaN, pd.NA, None)."""
    return float(v) if isinstance(v, numbers.Real) and not math.isnan(v) else None


def header_lines(row: Any, trial_dir: Path, out: Path, confirm: bool, run: bool = False) -> list[str]:
    """The comment an exported experiment opens with: the trial, what its run recorded, the protocol,
    the commands. A config trained on several seeds (hydra.sweeper.repeats) was ranked on their
    mean: that comes first, and the recorded figures are labelled as its first seed's run. ``run``:
    one run dir in no sweep (``row`` holds its status only), named instead of a study's trial."""
    res = results.read(trial_dir)
    seeds, mean, sem = (_real(row.get(k)) for k in ("n_seeds", "val_mean", "val_sem"))
    repeated = seeds is not None and seeds > 1 and mean is not None

    def pct(key: str) -> str:
        v = res.get(key)
        return f"{100 * v:.2f}%" if isinstance(v, (int, float)) else "-"

    noun = "run" if run else "trial"
    source = f"the run in {trial_dir}" if run else f"trial {row['trial']} of the sweep in {trial_dir.parent}"
    lines = [f"{out.stem}: {source}, exported by python -m mnist_sweep.export"]
    if repeated:  # what the sweep judged and the leaderboard ranks it on: its selection metric's mean
        test = (results.read_config(trial_dir).get("trainer") or {}).get("select_on") == "test"
        lines.append(f"  judged over {plural(int(seeds), 'seed')}: {'final-epoch test' if test else 'validation'} mean "
                     f"{percent(mean)}{f' ± {spread(sem)} (sem)' if sem is not None else ''}")
    who = f"recorded by seed {res.get('seed', '?')} (the first of the {int(seeds)})" if repeated else "recorded"
    lines.append(
        f"  {who}: {res.get('params', '?'):,} params, {plural(res['epochs'], 'epoch') if isinstance(res.get('epochs'), int) else '? epochs'} ({row['status']}), "
        f"validation {pct('val_acc')}, final-epoch test {pct('test_acc_final')}" + ("" if repeated else f", seed {res.get('seed', '?')}")
        if isinstance(res.get("params"), int) else f"  recorded: status {row['status']}")
    if confirm:
        lines.append("  protocol: confirmation (data.val_size=0, trainer.select_on=test): every training image, "
                     f"final epoch reported; metrics differ from the {noun}'s")
    else:
        first = res.get("seed")
        gives = f"seed {first}'s metrics (the mean is over trainer.seed={first} to {first + int(seeds) - 1})" \
            if repeated and isinstance(first, int) else f"the {noun}'s metrics"
        lines.append(f"  protocol: the {noun}'s own (same data split, epochs and seed): training it gives {gives}"
                     + (" (it was pruned: this trains all of trainer.max_epochs)" if row["status"] == "pruned" else ""))
    lines += [f"  {usage(out)} [trainer.seed=N]", f"  over seeds: {usage(out, 'confirm')}",
              f"  every setting of the {noun} except trainer.progress (display only), in the precision it trained in"]
    return lines
