"""Multi-seed confirmation: retrain the top configs of a sweep on all 60k training images.

``python -m mnist_sweep.confirm LEADERBOARD.csv --top 5 --seeds 3`` retrains each of the top complete trials'
(``--max-params N``: of those with at most N parameters) saved configs with seeds 1..3 on all 60,000 training
images and tests on all 10,000 (no validation hold-out, the trial's ``data.train_limit``/``test_limit`` dropped),
its fixed epoch count, no early stopping and the precision it trained in (``precision_pin``), and writes
``robustness.csv``: per-seed final-epoch test accuracy, mean, std, min and how many seeds reached the target.
``--trial N [N ...]`` confirms those trials of the sweep instead (a config just short of the target, or a pruned
one, too); ``--experiment NAME`` confirms ``conf/experiment/NAME.yaml``, or with ``--config-dir DIR`` (as train's)
``DIR/experiment/NAME.yaml``. A finished run is reused when the command is run again only if its resolved config
equals the one asked for, and so is a sweep's own run of the trial (its seeds under hydra.sweeper.repeats) when
the sweep trained with this protocol; two run at once.
"""
from __future__ import annotations

if __name__ == "__main__":  # SIGTERM as Ctrl-C before the imports below and main's flags (seconds), then main
    from mnist_sweep import children as _children
    _children.started(lambda: __import__("mnist_sweep.confirm", fromlist=["main"]).main())

import argparse
import contextlib
import json
import re
import sys
from pathlib import Path

from mnist_sweep.board_paths import sweeps_here
from mnist_sweep.children import Children
from mnist_sweep.commandline import CliParser, as_set, exit_code_of
from mnist_sweep.config.unread import in_words_of, knobs_given
from mnist_sweep.errors import ConfigError, LeaderboardError, MnistSweepError
from mnist_sweep.experiments import config_dir_problem, lookup, precision_pin
from mnist_sweep.leaderboard import read, write_csv
from mnist_sweep.next_steps import confirmed_lines
from mnist_sweep.reproduce import resolved, run_dir_override, selection, train_command, trial_config_dir
from mnist_sweep.reuse import check_not_in_the_way, finished_diff, first_difference, sweep_runs
from mnist_sweep.robustness import earlier_rows, printed, table, with_earlier
from mnist_sweep.rundir import check_out
from mnist_sweep.saved_trial import trial_row
from mnist_sweep.table import within_params
from mnist_sweep.text import plural

# The confirmation protocol: every training image, every test image, no selection.
FULL_TRAIN = ["data.val_size=0", "data.train_limit=null", "data.test_limit=null", "trainer.select_on=test",
              "trainer.progress=false"]
SUBSET_KEYS = ("data.train_limit", "data.test_limit", "data.val_size")
Teachers = dict[tuple[str, float, float], int]  # (trainer.teacher, distill_alpha, distill_temperature) -> its params


def candidates(args: argparse.Namespace) -> dict[str, tuple[list[str], Path | None]]:
    """Name -> (the train arguments that select its config, without seed and output dir; the
    sweep's trial dir, None for an experiment)."""
    if args.experiment:  # found as train finds +experiment=NAME: the project's conf/experiment, then --config-dir's
        where = lookup(args.experiment, args.config_dir)
        return {name: ([*where, f"+experiment={name}"], None) for name in args.experiment}
    board = read(args.leaderboard, picks="confirm")
    if args.trial:  # the trials named, in that order (a near-feasible or a pruned config too)
        top = board.loc[[trial_row(board, t, args.leaderboard, by_rank=False).name for t in dict.fromkeys(args.trial)]]
    else:  # the top complete trials (--max-params N: of those with at most N parameters)
        top = within_params(board[board.status == "complete"], getattr(args, "max_params", None), args.leaderboard, "complete trial").head(args.top)
    if top.empty:
        raise LeaderboardError(f"{args.leaderboard}: no complete trial to confirm")
    out = {}
    for _, row in top.iterrows():
        config_dir = trial_config_dir(row, board, "confirm")
        shared = (top.trial == row.trial).sum() > 1  # a merged table's sweeps each have a trial 0: named by sweep too
        sweep = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(str(row.sweep)).name) if shared else ""
        name = f"{sweep + '_' if sweep else ''}trial_{int(row.trial):04d}"
        if name in out:  # two sweeps of one dir name (a/sw, b/sw): one would be confirmed for both
            raise LeaderboardError(f"{args.leaderboard}: two merged sweeps named {sweep} have a trial {row.trial} among "
                                   "those picked; confirm each sweep's dir on its own")
        out[name] = ([*selection(config_dir), *precision_pin(config_dir.parent)], config_dir.parent)
    return out


def run_overrides(select: list[str], seed: int, extra: list[str]) -> list[str]:
    """One run's train overrides: the protocol, the seed, ``--set``, and a pareto trial's val_acc
    objective as test_acc_final (no validation split here)."""
    overrides = [*FULL_TRAIN, f"trainer.seed={seed}", *extra]
    objectives = resolved(select, overrides)["trainer"].get("objectives") or []
    if "val_acc" in objectives:
        overrides.append(f"trainer.objectives=[{','.join('test_acc_final' if o == 'val_acc' else o for o in objectives)}]")
    return overrides


def checked_overrides(name: str, select: list[str], seed: int, extra: list[str], warned: dict | None = None) -> list[str]:
    """``run_overrides``, composed and validated as train would (ConfigError otherwise, naming the
    ``--set`` that breaks the config, or the config itself), before anything is written; train's warnings
    for them (a --set distillation setting without a teacher) added to ``warned``, in confirm's words."""
    from mnist_sweep.overrides import check_command_line, composition_error

    def error(sets: list[str]) -> str | None:
        try:
            checked = check_command_line([*select, *run_overrides(select, seed, sets)])
            for line in (checked.warning or "").splitlines() if warned is not None and sets is extra else []:
                head, _, rest = line.partition(": ")  # the keys the line names: a --set's said as one
                given = {o.lstrip("+") for o in extra} | set(knobs_given(extra))  # trainer={distill_alpha:0.7}'s too
                said = ", ".join(f"--set {g}" if g in given else g for g in head.split(", ")) + f": {as_set(rest)}"
                warned[in_words_of("confirm", said)] = None  # 'no run of this confirmation reads it'
            return checked.error
        except Exception as e:  # noqa: BLE001 - run_overrides' composition failed: train's check says why
            plain = [*select, *FULL_TRAIN, f"trainer.seed={seed}", *sets]  # Hydra's words told --set model.c1=4,8
            return check_command_line(plain).error or composition_error(e)  # to 'add --multirun'

    if (bad := error(extra)) is None:
        return run_overrides(select, seed, extra)
    for i in range(len(extra) + 1):  # which --set breaks it: the first that does when added in order
        if bad := error(extra[:i]):  # the line names the override once (a syntax error's starts with it)
            raise ConfigError(f"--set {extra[i - 1]}: {as_set(bad.removeprefix(extra[i - 1] + ': '))}" if i else f"{name}: {bad}")
    raise ConfigError(f"{name}: {bad}")


def run_one(select: list[str], seed: int, run_dir: Path, overrides: list[str],
            trial_dir: Path | None = None, children: Children | None = None) -> tuple[dict, Path | None]:
    """Train once with ``overrides`` (``checked_overrides``; a subprocess of ``children``, stopped
    with this one), or reuse a finished run of that config: in ``run_dir``, or one of the sweep's own
    runs of the trial (its seeds, when the sweep trained with this protocol); returns its
    result.json and the run dir reused (None: trained now)."""
    if (done_here := check_not_in_the_way(run_dir, select, overrides)) is not None:
        return done_here, run_dir
    wanted, result = resolved(select, overrides), run_dir / "result.json"
    for done in sweep_runs(trial_dir):
        try:
            same = finished_diff(done, wanted) is None
        except MnistSweepError:  # a damaged run of the sweep's own: trained here instead
            continue
        if same:
            return json.loads((done / "result.json").read_text()), done
    cmd = train_command(*select, *overrides, run_dir_override(run_dir))
    proc = (children or Children()).run(cmd)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1].removeprefix("error: ")  # its own line, quoted once
        raise MnistSweepError(f"{run_dir}: training failed (exit {proc.returncode}): {last}")
    return json.loads(result.read_text()), None


def protocol_line(chosen: dict[str, tuple[list[str], Path | None]], extra: list[str],
                  used: Teachers | None = None) -> str:
    """What the runs train and test on, saying which subset limits of the trials were dropped; ``used``: the
    teachers check_teachers loaded (``teachers``)."""
    dropped = set()
    for sel, _ in chosen.values():
        base = resolved(sel, [])
        for key in SUBSET_KEYS:
            section, k = key.split(".")
            value = base.get(section, {}).get(k)
            if value not in (None, 0):
                dropped.add(f"{key}={value}")
    line = "protocol: all 60,000 training images (no validation hold-out), all 10,000 test images, final epoch reported"
    if dropped:
        line += f"; dropped the configs' {', '.join(sorted(dropped))}"
    own = [o for o in extra if o.split("=", 1)[0].lstrip("+~") in SUBSET_KEYS]
    if own:
        line += f"; BUT --set {' '.join(own)}: not the full data"
    return line + teachers(used or {})


def teachers(used: Teachers) -> str:
    """The protocol line's end where the runs are distilled (trainer.teacher): each teacher's path, its parameter
    count (not the student's) and the distillation's alpha and temperature, as check_teachers found them in the
    runs' own configs; '' without one."""
    parts = [f"{path} ({n:,} params; alpha {alpha:g}, temperature {t:g})" for (path, alpha, t), n in used.items()]
    return f"; distilled from teacher {', '.join(parts)}" if parts else ""


def check_teachers(configs: list[tuple[str, list[str], list[str]]], extra: list[str]) -> Teachers:
    """Each config's trainer.teacher loaded once (``distill.opened``: a run dir whose model.pt loads, that did not
    train on a --set validation split's images) before anything is printed or written: a bad one is one line naming
    the --set that gives it, or the config. Each run refused it, after the protocol line, as 'training failed'.
    Returns (path, alpha, temperature) -> the teacher's parameter count, as the runs read them, for the protocol line."""
    from mnist_sweep import distill
    from mnist_sweep.config.settings import validate

    given = next((o for o in reversed(extra) if o.split("=", 1)[0].lstrip("+~") == "trainer.teacher"), None)
    used: Teachers = {}
    for name, sel, overrides in configs:
        cfg = resolved(sel, overrides)
        if (teacher := (trainer := cfg.get("trainer", {})).get("teacher")) is not None:
            data = validate(cfg).data  # valid: checked_overrides checked it
            try:
                n = distill.opened(str(teacher), data)[2].n_params
            except ConfigError as e:
                raise ConfigError(f"{f'--set {given}' if given else name}: {e}") from None
            used[(str(teacher), trainer.get("distill_alpha"), trainer.get("distill_temperature"))] = n
    return used


def model_changes(chosen: dict[str, tuple[list[str], Path | None]], extra: list[str]) -> list[str]:
    """One line per config whose model ``--set`` changes (model.c1=16, model=...): its results are
    another model's, not the trial's or experiment's its name says."""
    if not extra:
        return []
    lines = []
    for name, (sel, _) in chosen.items():
        if diff := first_difference(resolved(sel, [])["model"], resolved(sel, extra)["model"], "model"):
            lines.append(f"note: --set changes the model of {name} ({diff.replace(' there,', ' in its config,').replace(' asked for', ' with --set')}): "
                         "its rows are that model's, not the one it is named after")
    return lines


def _run(args: argparse.Namespace) -> None:
    chosen = candidates(args)
    out, warned = Path(args.out), {}  # train's warnings, each said once (not per config or seed)
    jobs = [(name, sel, seed, checked_overrides(name, sel, seed, args.override, warned), trial_dir)  # all checked first
            for name, (sel, trial_dir) in chosen.items() for seed in range(1, args.seeds + 1)]
    used = check_teachers([(name, sel, overrides) for name, sel, seed, overrides, _ in jobs if seed == 1], args.override)
    for name, sel, seed, overrides, _ in jobs:  # a run of another config in --out: refused before any training
        check_not_in_the_way(out / name / f"seed_{seed}", sel, overrides)
    kept = earlier_rows(out / "robustness.csv", list(chosen))
    protocol = protocol_line(chosen, args.override, used)
    made = [*reversed(out.absolute().parents), out.absolute(), *(out.absolute() / name for name in chosen)]
    created = [d for d in made if not d.exists()]  # what a failure removes again, while empty
    check_out(out, keep=True)  # made; an unwritable --out (read-only, a full disk) refused here, before any training
    print(f"confirming {plural(len(chosen), 'config')} x {plural(args.seeds, 'seed')} -> {out}", flush=True)
    print(protocol, *model_changes(chosen, args.override), sep="\n", flush=True)
    for line in warned:  # train's, said once before any training
        print(f"warning: {line}", file=sys.stderr, flush=True)

    def job(item: tuple[str, list[str], int, list[str], Path | None]) -> tuple[str, int, dict, Path | None]:
        name, sel, seed, overrides, trial_dir = item
        r, reused = run_one(sel, seed, out / name / f"seed_{seed}", overrides, trial_dir, children)
        how = f" (reused: {reused} is a finished run of this exact config)" if reused else ""
        print(f"  {name} seed {seed}: test {100 * r['test_acc_final']:.2f}% after {plural(r['epochs'], 'epoch')}{how}", flush=True)
        return name, seed, r, reused

    done: dict[str, dict[int, dict]] = {name: {} for name in chosen}
    reused: list[str] = []
    children = Children()  # SIGTERM or Ctrl-C stops the runs in flight: none goes on training alone
    try:
        for name, seed, r, from_dir in children.map(job, jobs, args.parallel):
            done[name][seed] = r
            reused += [f"{name} seed {seed}"] if from_dir else []
    except BaseException:  # a failed run removed its own dir; the dirs made for it go while empty
        for d in reversed(created):  # out/NAME before out before its parents; finished runs stay (reused)
            with contextlib.suppress(OSError):
                d.rmdir()
        raise
    df = table(done)
    write_csv(with_earlier(df, kept), out / "robustness.csv")
    print(printed(df))
    if reused:
        print(f"reused {len(reused)} of {plural(len(jobs), 'run')}, finished before with these exact configs: {', '.join(reused)}")
    if not kept.empty:
        print(f"kept the earlier {plural(len(kept), 'row')} of {', '.join(map(str, kept['config']))} (not confirmed now)")
    print(f"written {out / 'robustness.csv'}", *confirmed_lines(out, df), sep="\n")


SETS_ITSELF = {  # keys confirm sets for each run: a --set of one trained every seed alike, or was dropped
    "trainer.seed": "confirm trains seeds 1..N itself (--seeds N), and this would train every run with one seed; "
                    "leave it out (one seed: python -m mnist_sweep.train ... trainer.seed=N)",
    "hydra.run.dir": "confirm puts each run in OUT/CONFIG/seed_N; give --out OUT instead",
    "hydra.mode": "confirm trains each seed as one run (hydra.mode=MULTIRUN would make each a sweep); leave it out",
}


def main(argv: list[str] | None = None) -> int:
    p = CliParser(prog="python -m mnist_sweep.confirm", description=__doc__.splitlines()[0])
    p.add_argument("leaderboard", nargs="?", help="leaderboard.csv or its sweep dir")
    p.add_argument("--experiment", nargs="+", metavar="NAME", help="confirm conf/experiment/NAME.yaml configs instead")
    p.add_argument("--config-dir", metavar="DIR", help="as train's: --experiment NAME is also looked up as "
                   "DIR/experiment/NAME.yaml (after the project's conf/experiment), e.g. where export wrote it")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--top", type=int, default=5, help="complete trials to confirm (default 5)")
    which.add_argument("--trial", type=int, nargs="+", metavar="N", help="these trials instead (Optuna numbers)")
    p.add_argument("--max-params", type=int, metavar="N", help="the top complete trials with at most N parameters (e.g. 4999)")
    p.add_argument("--seeds", type=int, default=3, help="seeds 1..N (default 3)")
    p.add_argument("--parallel", type=int, default=2, help="runs at once (default 2, one per core)")
    p.add_argument("--out", default="outputs/confirm", help="output dir (default outputs/confirm)")
    p.add_argument("--set", dest="override", action="append", default=[], metavar="KEY=VALUE",
                   help="extra train override for every run (repeatable), e.g. --set trainer.max_epochs=15; not trainer.seed, hydra.run.dir, hydra.mode")
    args = p.parse_args(argv)
    missing = f"; {bad}" if (bad := config_dir_problem(args.config_dir)) else ""  # named whatever else is wrong
    if not args.leaderboard and not args.experiment:
        p.error(f"give a leaderboard (or sweep dir) or --experiment NAME{missing or sweeps_here()}")
    if args.leaderboard and args.experiment:  # the sweep's trials were silently left out
        p.error(f"{args.leaderboard} and --experiment: confirm takes a sweep's trials or experiments, not both; drop one (or run confirm once for each)")
    if args.config_dir and not args.experiment:
        p.error(f"--config-dir is where --experiment NAME is looked up; give --experiment too{missing}")
    if args.experiment and (flag := next((f for f in ("--top", "--max-params") if p.was_given(f)), None)):  # left unread
        p.error(f"{flag} picks a sweep's best trials; --experiment confirms each experiment named: drop {flag}")
    if args.trial and not args.leaderboard:
        p.error("--trial needs the leaderboard (or sweep dir) that holds the trials")
    if args.trial and args.max_params is not None:  # the trials named were confirmed whatever their size
        p.error("--max-params picks among a sweep's best trials; --trial names the trials itself: drop one")
    if own := next((o for o in args.override if o.split("=", 1)[0].lstrip("+~") in SETS_ITSELF), None):  # it won or was dropped
        p.error(f"--set {own}: {SETS_ITSELF[own.split('=', 1)[0].lstrip('+~')]}")
    return exit_code_of(lambda: _run(args), None, f"interrupted: no robustness.csv written; runs finished so far stay in "
                        f"{args.out} and the same command reuses them")
