"""Command-line plumbing shared by every entry point: the argument parser (one ``error: ...`` line
and exit 2 on a bad flag), every flag's schema (``CLI_FLAGS``: ranges and what a path is used
for) and the one mapping from errors and ``SystemExit`` to exit statuses."""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from mnist_sweep.config.ranges import Range
from mnist_sweep.config.syntax import override_syntax_error  # noqa: F401 - re-exported
from mnist_sweep.errors import MnistSweepError, UsageError, not_an_output_dir, not_utf8, one_line, unusable_path
from mnist_sweep.pipes import stdout_gone
from mnist_sweep.shell import argument, as_set, interpreter, locale_escaped, pasteable, quoted_examples, rejoined, shell_command, split_path, split_path_hint, unencodable, whole_number  # noqa: F401 - re-exported


class CliParser(argparse.ArgumentParser):
    """argparse with one ``error: ...`` line (and exit 2) instead of the usage block on bad arguments,
    and no abbreviated flags: ``confirm --seed 3`` is refused (``did you mean --seeds``), not read as
    ``--seeds 3``, a run of three seeds."""

    def __init__(self, *args: Any, description: str | None = None, missing: Callable[[], str] | None = None,
                 **kwargs: Any) -> None:
        """The description is a module docstring's first line: its reST quotes (````x````) print as x; ``missing``
        ends the line for a positional left out (``board_paths.sweeps_here``: the sweep dirs to give)."""
        kwargs.setdefault("allow_abbrev", False)
        self.missing = missing
        super().__init__(*args, description=description and description.replace("``", ""), **kwargs)

    def error(self, message: str) -> NoReturn:
        """One line; a path the shell split at a space (``/tmp/my sweeps/a b``, or a value's: ``--set
        data.root=/tmp/my data``) is named quoted, as one argument."""
        hint = rejoined(getattr(self, "_argv", []))[1]
        if self.missing and message.startswith("the following arguments are required"):  # reproduce --rank 1
            hint += self.missing()
        print(f"error: {quoted_examples(one_line(message))}{nearest_flag(message, self)}{whole_number(message, self)}{hint} "
              f"(see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        """argparse's, with a ``nargs="*"`` positional optional as its usage shows (``[images ...]``):
        without a default argparse names it among "the following arguments are required"; and a
        positional with choices named there as its usage shows it (``{fetch,verify}``, not its dest)."""
        positional = args and not str(args[0]).startswith(self.prefix_chars)
        if positional and kwargs.get("nargs") == "*":
            kwargs.setdefault("default", [])
        if positional and kwargs.get("choices") and "metavar" not in kwargs:
            kwargs["metavar"] = "{" + ",".join(map(str, kwargs["choices"])) + "}"
        return super().add_argument(*args, **kwargs)

    def _get_values(self, action: argparse.Action, arg_strings: list[str]) -> Any:
        """argparse's, noting each flag given: argparse tells two of a mutually exclusive group apart
        by ``value is not default``, so a value equal to an int default (``--top 5 --trial 3``) passed."""
        if action.option_strings:
            self._given.append(action)
        return super()._get_values(action, arg_strings)

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[override]
        """argparse's, with two flags of one mutually exclusive group refused whatever their values."""
        self._given: list[argparse.Action] = []
        ns, extras = super().parse_known_args(args, namespace)
        for group in self._mutually_exclusive_groups:
            given = [a for a in dict.fromkeys(self._given) if a in group._group_actions]
            if len(given) > 1:
                self.error(f"argument {'/'.join(given[1].option_strings)}: not allowed with argument "
                           f"{'/'.join(given[0].option_strings)}")
        return ns, extras

    def was_given(self, flag: str) -> bool:
        """Whether the last parse saw ``flag`` on the command line (its value may equal the default)."""
        return any(flag in a.option_strings for a in getattr(self, "_given", []))

    def _split_paths(self, args: list[str] | None) -> None:
        """Refuse a path the shell split at a space whose pieces joined name what exists: a piece
        naming nothing was read as a path (leaderboard, predict) or an extra argument."""
        self._argv = list(sys.argv[1:] if args is None else args)
        if "-h" not in self._argv and "--help" not in self._argv and (found := split_path(self._argv)):
            self.error(f"{found[0]}: no such file or directory")

    def parse_intermixed_args(self, args=None, namespace=None):  # type: ignore[override]
        self._split_paths(args)
        return super().parse_intermixed_args(args, namespace)

    def parse_args(self, args=None, namespace=None):  # type: ignore[override]
        """Parsed flags, each checked against its schema (``CLI_FLAGS``)."""
        self._split_paths(args)
        ns = super().parse_args(args, namespace)
        bad = check_cli(self.prog, ns)
        if bad:
            self.error(bad)
        return ns


def nearest_flag(message: str, parser: argparse.ArgumentParser) -> str:
    """'; did you mean --test?' where argparse's ``message`` names an unrecognized flag that is a typo of
    one of ``parser``'s (``--tset``) or the start of only one (``--par``: abbreviations are refused); a file
    named like a flag (``-x.png``), how to give it; else ""."""
    import difflib

    if not message.startswith("unrecognized arguments: "):
        return ""
    flags = [f for f in parser._option_string_actions if f.startswith("--") and f != "--help"]
    if file := next((w for w in message.split(": ", 1)[1].split() if w.startswith("-") and os.path.lexists(w)), None):
        return f"; {file} is a file, read as a flag (its name starts with -): give it as ./{file}"
    for word in message.split(": ", 1)[1].split():
        name = word.split("=")[0]
        starts = [f for f in flags if f.startswith(name)] if len(name) > 3 else []
        if word.startswith("--") and (near := starts if len(starts) == 1 else
                                      difflib.get_close_matches(name, flags, n=1, cutoff=0.7)):
            return f"; did you mean {near[0]}?"
    return ""


def exit_status(e: SystemExit) -> int:
    """The process exit status a ``SystemExit`` stands for, as the interpreter maps it."""
    return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)


def exit_code_of(body: Callable[[], object], prog: str | None = None,
                 interrupted: str | Callable[[], str] = "interrupted") -> int:
    """Run a CLI body: 0, or the error's exit code after one ``error: ...`` line on stderr; a
    UsageError's ends ``(see PROG --help)`` as the parser's do (``prog``: the command's). Only
    stdout's reader gone (``| head``) ends it quietly (141, as SIGPIPE would). Ctrl-C prints
    ``interrupted`` (a callable: its line, asked when the interrupt came) and returns 130."""
    try:
        body()
    except MnistSweepError as e:
        see = f" (see {prog} --help)" if isinstance(e, UsageError) and prog else ""
        print(f"error: {quoted_examples(str(e))}{see}", file=sys.stderr)
        return e.exit_code
    except BrokenPipeError as e:
        return broken_pipe_status(e)
    except OSError as e:  # an output path that cannot be written (or an input that cannot be read)
        print(f"error: {one_line(unusable_path(e))}", file=sys.stderr)
        return 2
    except UnicodeEncodeError as e:  # a path the locale read as escapes, in text it writes (PYTHONUTF8=0 in C)
        print(f"error: {one_line(unencodable(e))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(interrupted() if callable(interrupted) else interrupted, file=sys.stderr)  # what it kept, how to go on
        return 130
    return 0


def broken_pipe_status(e: BrokenPipeError) -> int:
    """A command's exit status for ``e``: stdout's reader gone (``| head`` stopped reading) is 141 with
    no error line, as for a process SIGPIPE ends; any other pipe (a subprocess's, a socket's) is an
    error like any other: its line, and 2."""
    if stdout_gone():
        return 141
    print(f"error: {one_line(unusable_path(e))}", file=sys.stderr)
    return 2


RUN_MARKERS = ("result.json", "metrics.csv", ".hydra", "leaderboard.csv", "optuna.db")


@dataclass(frozen=True)
class Flag:
    """One CLI flag: its valid values, and for paths what the command does with them."""

    range: Range | None = None
    path: str = ""  # "" | "out-dir" (refuses a run/trial dir) | "out-csv" | "out-file" | "in" | "file" | "storage-ro"


PATH_KINDS = {  # what each kind of path flag needs (and how to write it), said when it is given empty
    "in": ("a path", ""), "file": ("a path", ""), "out-file": ("a path", ""), "out-dir": ("a path", "; give a new or empty directory"),
    "out-csv": ("a path", "; give a .csv file name, e.g. leaderboard.csv"),
    "storage-ro": ("a storage URL", "; e.g. sqlite:///outputs/sweeps/NAME/optuna.db"),
}

MAX_PARAMS = Flag(Range(ge=1, le=10**9, example=5000))  # leaderboard, export, confirm: trials of at most N parameters
CLI_FLAGS: dict[str, dict[str, Flag]] = {
    "leaderboard": {"paths": Flag(path="in"), "storage": Flag(path="storage-ro"), "study": Flag(Range(pattern=r"[^\x00]+")),
                    "top": Flag(Range(ge=1, le=1_000_000, example=10)), "out": Flag(path="out-csv"), "max_params": MAX_PARAMS},
    "report": {"path": Flag(path="in"), "storage": Flag(path="storage-ro"), "study": Flag(Range(pattern=r"[^\x00]+"))},
    "reproduce": {"path": Flag(path="in"), "rank": Flag(Range(ge=1, le=1_000_000)),
                  "trial": Flag(Range(ge=0, le=10**9)), "out": Flag(path="out-dir")},
    "confirm": {"leaderboard": Flag(path="in"), "top": Flag(Range(ge=1, le=1000, example=5)), "seeds": Flag(Range(ge=1, le=100, example=5)),
                "parallel": Flag(Range(ge=1, le=64)), "out": Flag(path="out-dir"), "max_params": MAX_PARAMS,
                "experiment": Flag(Range(pattern=r"[^\x00]+", text="a name")),  # experiments.lookup: where to find it
                "config_dir": Flag(path="in"),
                "override": Flag(Range(pattern=r"[^\x00=]+=[^\x00]*", text="KEY=VALUE"))},
    "data": {"root": Flag(path="in"), "action": Flag(Range(one_of=("fetch", "verify")))},
    "dashboard": {"target": Flag(Range(pattern=r"[^\x00]+", text="a sweep dir or a storage URL")),
                  "port": Flag(Range(ge=1, le=65535, example=8080))},
    "export": {"source": Flag(path="in"), "rank": Flag(Range(ge=1, le=1_000_000)), "trial": Flag(Range(ge=0, le=10**9)),
               "max_params": MAX_PARAMS,
               "out": Flag(Range(pattern=r"[^\x00]+", text="a .yaml file name"), "out-file"),  # export.check_out: the suffix, a fix
               "onnx": Flag(Range(pattern=r"[^\x00]+", text="a file name"), "out-file")},
    "predict": {"run_dir": Flag(path="in"), "images": Flag(Range(pattern=r"[^\x00]+", text="image files"), "file")},
}


def _flag_name(dest: str) -> str:
    positional = ("paths", "path", "leaderboard", "action", "target", "source", "run_dir", "images")
    return "--set" if dest == "override" else dest if dest in positional else f"--{dest.replace('_', '-')}"  # --max-params


def check_cli(prog: str, args: Any) -> str | None:
    """The first flag of ``args`` (an argparse Namespace of entry point ``prog``) outside its schema."""
    name = prog.rsplit(".", 1)[-1]
    flags = CLI_FLAGS.get(name, {})
    for dest, flag in flags.items():
        value = getattr(args, dest, None)
        if name == "leaderboard" and dest == "storage" and value is None and (getattr(args, "study", None) or not (
                getattr(args, "paths", None) or getattr(args, "refresh", False))):  # it opens $MNIST_SWEEP_STORAGE
            from mnist_sweep.storage import STORAGE_ENV, default_storage

            value = default_storage()  # what the leaderboard will open: it must exist too
            if value and (bad := _readonly_storage(value, check_password=False)):
                return f"--storage (default ${STORAGE_ENV}): {bad}"
            continue
        if flag.path and flag.path != "storage-ro" and value is not None:  # '--out ~/x' quoted: no dir named ~ here
            value = [os.path.expanduser(v) for v in value] if isinstance(value, list) else os.path.expanduser(value)
            setattr(args, dest, value)  # as data.root is (the shell expands only an unquoted ~ starting a word)
        for v in value if isinstance(value, list) else [value]:
            if v is None:
                continue
            try:
                bad = _check_flag(dest, flag, v)
            except OSError as e:  # a path over the system's limit: is_dir() raises ENAMETOOLONG
                bad = one_line(unusable_path(e))
            if bad:
                return f"{_flag_name(dest)}: {bad}"
    return None


def _check_flag(dest: str, flag: Flag, v: Any) -> str | None:
    if flag.range is not None and not flag.range.ok(v):
        if flag.range.pattern is not None or flag.range.one_of is not None:  # its text says what to give
            return f"must be {flag.range.describe()}, got {v!r}"
        name = _flag_name(dest)  # how_to's 'e.g. KEY=VALUE', written as this flag is given on a command line
        fix = flag.range.how_to("\0", v).replace("\0=", f"{name} " if name.startswith("-") else "")
        return f"must be {flag.range.describe()}, got {v!r}; {fix}"
    if not flag.path:
        return None
    if not isinstance(v, str) or not v.strip() or "\x00" in v:
        what, fix = PATH_KINDS[flag.path]
        return f"expected {what}, got {v!r}{fix}"
    if flag.path == "storage-ro":
        return _readonly_storage(v)
    p = Path(v)
    if flag.path.startswith("out-") and (line := locale_escaped(v)):  # what it writes holds the path (-> PYTHONUTF8=1)
        return f"{v}: {line}"
    if flag.path == "out-file" and (line := not_utf8(v, "the lines this command prints hold its path as text")):  # no locale's fix
        return f"{v}: {line}"
    if flag.path == "out-dir" and (line := not_an_output_dir(p)):  # its runs' dirs: train refuses them
        return f"{v}: {line}"
    if flag.path == "out-dir" and p.is_dir():
        held = [m for m in RUN_MARKERS if (p / m).exists()]
        if held:
            return (f"{v} holds a run or trial ({held[0]}); the command would overwrite it: "
                    "give a new or empty directory")
    if flag.path == "out-dir" and p.exists() and not p.is_dir():
        return f"{v} is a file, not a directory; give a new or empty directory"
    if flag.path == "out-dir" and (above := next((a for a in p.absolute().parents if a.exists()), None)) \
            and not above.is_dir():
        return f"{v}: Not a directory ({above} is a file); give a new or empty directory"
    if flag.path == "out-csv":
        if p.is_dir():
            return f"{v} is a directory; give a .csv file name"
        if p.suffix.lower() != ".csv":  # x.xlsx or x.json got CSV text that Excel or a JSON reader refuses
            return f"{v}: the table is written as CSV; give a .csv file name, e.g. {argument(p.with_suffix('.csv'))}"
        above = next((a for a in p.absolute().parents if a.exists()), None)
        if above is not None and not above.is_dir():
            return f"{v}: Not a directory ({above} is a file); give a .csv file name in a directory"
        if p.exists() and not _is_leaderboard_csv(p):
            return f"{v} exists and is not a leaderboard CSV; it would be overwritten: give a new file name"
    return None


def _is_leaderboard_csv(p: Path) -> bool:
    try:
        with open(p, encoding="utf-8") as f:
            header = f.readline().strip().split(",")
    except (OSError, UnicodeDecodeError):
        return False
    return {"rank", "trial", "status"} <= set(header)


def _readonly_storage(url: str, check_password: bool = True) -> str | None:
    """A read-only command must not create a database: refuse an SQLite URL to a missing file,
    and a password written out on the command line (the environment may hold one)."""
    from mnist_sweep.errors import redact
    from mnist_sweep.open_hints import path_as_url
    from mnist_sweep.storage import STORAGE_ENV, has_clear_password, mask_url, missing_file, without_password

    if check_password and has_clear_password(url):  # a reader saves no config: ps and the shell's history show it
        return (f"'{mask_url(url)}' has its password in clear text, which ps and the shell's history show; export "
                f"{STORAGE_ENV}='<the full URL>' and give --storage '{without_password(url)}' (its password is read there)")
    if bad := missing_file(url):
        return f"{bad}; give the storage of an existing study"
    if "://" not in url:
        return f"{redact(url)}: {path_as_url(url) or 'not a storage URL; e.g. sqlite:///outputs/sweeps/NAME/optuna.db'}"
    return None
