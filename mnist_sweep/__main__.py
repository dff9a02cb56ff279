"""``python -m mnist_sweep``: the entry points, one line each (each has its own ``--help``)."""
from __future__ import annotations

import argparse
import shlex
import sys

from mnist_sweep.commandline import CliParser, exit_code_of, interpreter
from mnist_sweep.errors import one_line
from mnist_sweep.shell import rejoined
from mnist_sweep.similar import close_matches

ENTRY_POINTS = [  # (name, what it does, how to call it)
    ("train", "train one config", "python -m mnist_sweep.train [key=value ...]"),
    ("train -m", "the Optuna sweep (outputs/sweeps/NAME)", "python -m mnist_sweep.train -m [key=value ...]"),
    ("leaderboard", "print, filter, sort, merge", "python -m mnist_sweep.leaderboard SWEEP_DIR [--hp] [--status S] [--sort COL]"),
    ("reproduce", "re-run a trial or run, compare epochs", "python -m mnist_sweep.reproduce SWEEP_DIR --rank N | RUN_DIR"),
    ("confirm", "retrain the top trials over seeds", "python -m mnist_sweep.confirm SWEEP_DIR --top 5 --seeds 3"),
    ("report", "rebuild the sweep's report.html", "python -m mnist_sweep.report SWEEP_DIR"),
    ("export", "trial -> +experiment config, ONNX", "python -m mnist_sweep.export SWEEP_DIR --rank 1 --out conf/experiment/NAME.yaml"),
    ("predict", "classify images, check on test set", "python -m mnist_sweep.predict RUN_DIR IMAGE.png ... [--test]"),
    ("data", "fetch and verify MNIST", "python -m mnist_sweep.data fetch|verify"),
    ("dashboard", "browse a study live in a browser", "python -m mnist_sweep.dashboard SWEEP_DIR [--port N]"),
]


def usage() -> str:
    name_w = max(len(n) for n, _, _ in ENTRY_POINTS)
    what_w = max(len(w) for _, w, _ in ENTRY_POINTS)
    lines = ["mnist_sweep: small CNNs for MNIST under a parameter budget, searched with Hydra + Optuna.", ""]
    lines += [f"  {name:<{name_w}}  {what:<{what_w}}  {cmd}" for name, what, cmd in ENTRY_POINTS]
    lines += ["", "Each python -m entry point takes --help; README.md and docs/ have the details."]
    return "\n".join(lines)


def not_a_subcommand(argv: list[str]) -> str | None:
    """The error line for an entry point's name given as a subcommand (``python -m mnist_sweep train
    ...``; mistyped, ``leaderbord``: the nearest; ``-m``: train's sweep), with the module's own command to
    paste; a word near no name lists them; None for a flag (argparse's)."""
    names = list(dict.fromkeys(name.split()[0] for name, _, _ in ENTRY_POINTS))
    if not argv or argv[0].startswith("-") and argv[0] != "-m":
        return None
    if argv[0] == "-m":  # python -m mnist_sweep -m ...: the sweep is train's
        what = "-m: not a flag of python -m mnist_sweep (it only lists the entry points); the sweep is train's"
        argv = ["train", *argv]
    elif argv[0] in names:
        what = f"{argv[0]}: not a subcommand (python -m mnist_sweep only lists the entry points)"
    elif near := close_matches(argv[0], names, n=1):  # leaderbord: 'unrecognized arguments: leaderbord'
        what = f"{argv[0]}: no entry point of that name; did you mean {near[0]}? (a module of its own)"
        argv = [*near, *argv[1:]]
    else:
        return "error: " + one_line(f"{argv[0]}: no entry point of that name; python -m mnist_sweep lists them: "
                                    f"{', '.join(names)} (each a module: python -m mnist_sweep.NAME)")
    args, hint = rejoined(argv[1:])  # a path the shell split at a space: quoted as one, as the command itself says
    command = shlex.join([interpreter(), "-m", f"mnist_sweep.{argv[0]}", *args])
    return "error: " + one_line(f"{what}; run {command}{hint}")


def main(argv: list[str] | None = None) -> int:
    if bad := not_a_subcommand(sys.argv[1:] if argv is None else argv):
        print(bad, file=sys.stderr)
        return 2
    p = CliParser(prog="python -m mnist_sweep", description=usage(), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.parse_args(argv)  # no arguments: anything else is one error line and exit 2
    return exit_code_of(lambda: print(usage()))


if __name__ == "__main__":
    sys.exit(main())
