"""The command line checked before Hydra starts (so nothing is written for a bad one): override
syntax, unknown options and keys, the schema's types, ranges and cross-key rules for a run, the
sweeper's keys for a sweep. Each problem is one line naming the key."""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Any, NoReturn

from mnist_sweep import PROJECT_ROOT
from mnist_sweep.commandline import nearest_flag
from mnist_sweep.config.composition import composition_error
from mnist_sweep.config.config_files import config_name_error
from mnist_sweep.config.file_values import CommandLine, file_named
from mnist_sweep.config.dict_overrides import PARAMS, given_twice_error, nested_params_error
from mnist_sweep.config.keys import holders, stray_section_error, unknown_key
from mnist_sweep.config.options import (
    chosen_options, conditional_key_error, lacking, name_override_error, option_error, shadowed_error, swept_groups,
)
from mnist_sweep.config.settings import Settings, validate
from mnist_sweep.config.nodes import node_value_error
from mnist_sweep.config.sweep_values import plain_value_error, sweep_value_error
from mnist_sweep.config.sweeper_checks import check_multirun
from mnist_sweep.config.unread import run_warning, sweep_warning
from mnist_sweep.config.syntax import (
    not_a_config_dir, override_syntax_error, relative_config_path, searchpath_override, spaced_override_error, sweep_without_m,
)
from mnist_sweep.errors import MnistSweepError, one_line
from mnist_sweep.shell import argument, split_path_hint, split_value


def _choices(source: tuple[str, str, list[str]], searchpath: list[str], plain: list[str]) -> dict[str, Any] | None:
    """Each group's selected option (hydra.runtime.choices) under the command line's group overrides
    alone (``scheduler=step``, ``+experiment=tiny``), from their defaults list (so also where the
    options' keys clash); None if even that cannot be made."""
    return chosen_options(source[0], source[1], [*searchpath, *(a for a in plain if "." not in a.split("=", 1)[0])])


def _config_source(argv: list[str]) -> tuple[str, str, list[str]] | str | None:
    """(primary config dir, config name, extra search-path dirs) the command line picks; an error line for a
    relative --config-path, a file given for it or a --config-dir that is no dir (not_a_config_dir); None for
    a pkg:// or file:// one. ``--config-dir`` adds a dir to the search path (conf/ stays primary), as in Hydra."""
    conf, name, extra = str(PROJECT_ROOT / "conf"), "config", []
    it = iter(argv)
    for arg in it:
        for flags, kind in ((("--config-path", "-cp"), "path"), (("--config-dir", "-cd"), "dir"), (("--config-name", "-cn"), "name")):
            for flag in flags:
                if arg == flag or arg.startswith(flag + "="):
                    value = arg.split("=", 1)[1] if "=" in arg else next(it, "")
                    if bad := not_a_config_dir(flag, value, kind):  # /tmp/my confs unquoted: named quoted
                        return one_line(bad + split_path_hint(argv, plausible=True))
                    if kind == "path":
                        if "://" in value:  # pkg://module or file://dir: Hydra's to find
                            return None
                        if not os.path.isabs(value):
                            return relative_config_path(flag, value)
                        conf = value
                    elif kind == "dir":
                        extra.append(os.path.abspath(value))
                    else:
                        name = value
    return (config_name_error(conf, name, extra) if conf == _CONF[0] else None) or (conf, name, extra)


@dataclass
class Checked:
    """The command line's verdict: an error line, or for a run the Settings validated from it and
    the config they came from (the task reuses them: a run's config is validated once)."""

    error: str | None = None
    warning: str | None = None  # one a line: hparams_search=NAME without -m (a trial's re-run too), a setting unread
    settings: Settings | None = None
    config: dict | None = None
    argv: list[str] | None = None  # the command line Hydra is to get, where it differs from the one given (--help)


PROG = "python -m mnist_sweep.train"
MODE_FLAGS = ("--run", "--multirun", "--cfg", "--info", "--shell-completion")


class _FlagError(Exception):
    """Hydra's argument parser refused the command line (raised instead of its usage block)."""


def _refuse(message: str) -> NoReturn:
    raise _FlagError(message)


def flags_error(argv: list[str]) -> str | None:
    """One line for Hydra's own flags misused, found by the parser ``hydra.main`` itself uses
    (``get_args_parser``) with its usage block turned into one line: an unknown flag, a bad
    ``--cfg``/``--info`` value, or two modes at once (Hydra's ValueError, a traceback)."""
    from hydra._internal.utils import get_args_parser

    if "--version" in argv:  # argparse prints it and exits: Hydra's to do
        return None
    parser = get_args_parser()
    parser.error = _refuse  # type: ignore[method-assign]
    try:
        args = parser.parse_args(argv)
    except _FlagError as e:
        return one_line(f"{e}{nearest_flag(str(e), parser)}{split_path_hint(argv, plausible=True)} (see {PROG} --help)")
    if args.help or args.hydra_help:
        return None
    given = [flag for flag, on in zip(MODE_FLAGS, (args.run, args.multirun, args.cfg is not None,
                                                   args.info is not None, args.shell_completion)) if on]
    if given[1:] in (["--cfg"], ["--info"]) and given[0] in ("--run", "--multirun"):  # -m --cfg hydra: see the sweep's
        sweep = ": --cfg hydra -p hydra.sweeper shows a sweep's sampler, pruner and params all the same" * (
            given == ["--multirun", "--cfg"])
        return (f"{given[0]} and {given[1]}: {given[1]} prints and runs nothing, so it takes no {given[0]} (nor does "
                f"Hydra); leave out {given[0]}{sweep} (see {PROG} --help)")
    if len(given) > 1:
        return (f"{' and '.join(given)}: give only one of {', '.join(MODE_FLAGS)} "
                f"(see {PROG} --help)")
    return None


INFO_FLAGS = ("--help", "-h", "--hydra-help", "--info", "-i", "--cfg", "-c", "--shell-completion", "-sc")
SHOW_FLAGS = ("--cfg", "-c")  # one run's config printed: checked as that run


def help_command(argv: list[str]) -> Checked | None:
    """Hydra's help for a command line with ``--help`` (``-h``) or ``--hydra-help``, without the overrides
    it cannot compose, each named in a warning: ``--hydra-help`` shows Hydra's own flags and groups, from a
    config without this project's, so it takes none (``trainer.max_epochs=1`` was 'trainer: missing
    section') but those of its own text (``hydra.hydra_help.template=...``, kept); ``--help`` shows the
    config its plain overrides compose, in one run's mode, so it takes no sweep expression ('model.c1=4,8:
    ... add --multirun', -m given). None without either flag."""
    from hydra._internal.utils import get_args_parser
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    args = get_args_parser().parse_args(argv)  # flags_error passed
    if not (args.help or args.hydra_help):
        return None
    left = list(args.overrides)
    if args.hydra_help:  # its own text (hydra.hydra_help.template=...) is the one override it shows
        left = [a for a in left if not a.lstrip("+~").startswith("hydra.hydra_help.")]
    else:
        try:
            left = [a for a in left if OverridesParser.create().parse_overrides([a])[0].is_sweep_override()]
        except OverrideParseException:  # Hydra's help names it
            left = []
    if not left:
        return Checked()
    why = ("it shows Hydra's own flags and config groups, not this project's config (--help shows the config "
           "overrides compose)") if args.hydra_help else \
        f"{'sweep expressions' if len(left) > 1 else 'a sweep expression'}; it shows one config, composed with the other overrides"
    return Checked(warning=one_line(f"{'--hydra-help' if args.hydra_help else '--help'} leaves out {' '.join(left)}: {why}"),
                   argv=[a for a in argv if a not in left])


def _split_path(prev: str, arg: str, argv: list[str]) -> str:
    """The end of a path with a space, unquoted (hydra.run.dir=/tmp/my runs, --config-path /tmp/my confs):
    the shell's second argument."""
    quoted = split_value(prev, arg)
    return f"; a value with a space is one argument, quoted: {quoted}" if quoted else split_path_hint(argv, plausible=True)


def _plain_overrides(argv: list[str], multirun: bool, shows: bool = False) -> tuple[list[str], list[Any]] | str:
    """(the overrides that are not sweep expressions, the parsed sweep overrides), or one error
    line (syntax, a sweep without -m). ``shows``: --cfg prints one run's config, the sweeper's keys too."""
    from hydra._internal.utils import get_args_parser
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    parser, plain, sweeps, prev = OverridesParser.create(), [], [], ""
    for arg in get_args_parser().parse_args(argv).overrides:  # what Hydra reads as overrides (flags_error passed)
        try:
            (override,) = parser.parse_overrides([arg])
        except OverrideParseException as e:
            return override_syntax_error(arg, str(e)) + _split_path(prev, arg, argv)
        if not override.key_or_group:
            return override_syntax_error(arg) + _split_path(prev, arg, argv)
        prev = arg
        if not multirun and not shows and override.key_or_group.replace("/", ".").startswith("hydra.sweeper"):  # first what -m refuses too
            return check_command_line(_as_sweep(argv)).error or one_line(  # (hydra.sweeper=nope), else add -m
                f"{arg}: a key of the sweeper, used only by a sweep; add -m ({PROG} -m {argument(arg)})")
        if not override.is_sweep_override():
            if "=" in arg:  # not ~trainer: a deletion without a value is checked by composing
                plain.append(arg)
        elif shows:  # Hydra's own line said to add --multirun, which --cfg does not take
            return one_line(f"{arg}: a sweep expression, and --cfg prints one run's config (a sweep takes no --cfg); "
                            f"give {override.key_or_group} one value")
        elif not multirun:  # first a value -m refuses too (model.dropout=0.1,5), else add -m
            return check_command_line(_as_sweep(argv)).error or one_line(
                sweep_without_m(arg, override.value_type.name, PROG))
        else:
            sweeps.append(override)
    return plain, sweeps


def _as_sweep(argv: list[str]) -> list[str]:
    """A run's command line as the sweep -m would make it (a --run, which -m replaces, left out)."""
    return ["-m", *(a for a in argv if a not in ("--run", "-r"))]


def sweep_key_error(cfg: Any, overrides: list[Any]) -> str | None:
    """One line for a sweep expression over a key the config does not have (or a Hydra key). A key
    of a swept group's option is fine where one of the options has it (sampled only there)."""
    from omegaconf import OmegaConf

    groups = set(cfg.hydra.runtime.choices)
    swept = swept_groups(overrides)
    for o in overrides:
        key = o.key_or_group
        if nested := nested_params_error(o.input_line, OmegaConf.select(cfg, PARAMS)):  # params.model.c1=choice(...)
            return one_line(nested)
        if o.is_add() or o.is_force_add() or key in groups or key.split("@")[0] in groups:
            continue
        section = key.split(".", 1)[0]
        if section in swept:
            if len(lacking(key, swept[section])) < len(swept[section]):
                continue
            if found := [h.split("=", 1)[1] for h in holders(key, None)]:
                return one_line(f"{key}: not a key of any swept option ({section}={','.join(swept[section])}); it is "
                                f"a key of {section}={' and '.join(found)} (add {found[0]} to the choice)")
        if key.startswith("hydra."):
            leaf = key.removeprefix(_PARAMS)
            value, new = o.input_line.split("=", 1)[1], leaf != key and OmegaConf.select(cfg, key, default=_ABSENT) is _ABSENT
            return one_line(f"{o.input_line}: Hydra cannot search its own keys; quote the expression "  # + adds a key
                            f"({'+' * new}{key}='{value}') or search the key itself: {leaf}={value}")  # the space lacks
        if OmegaConf.select(cfg, key, default=_ABSENT) is _ABSENT:
            return one_line(unknown_key(key, dict(cfg.hydra.runtime.choices)))
    return None


_ABSENT = object()
_PARAMS = "hydra.sweeper.params."
_CONF = (str(PROJECT_ROOT / "conf"), "config")  # conf/ and its options (a --config-dir adds its own)


def check_command_line(argv: list[str]) -> Checked:
    """The first problem Hydra or the schema would find in the command line, found by composing the
    plain overrides once up front, before anything is written; for a run, its validated Settings."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    if bad := spaced_override_error(argv, PROG) or flags_error(argv):
        return Checked(bad)
    if "--version" in argv:  # Hydra prints its version and exits
        return Checked()
    source = _config_source(argv)
    if isinstance(source, str):
        return Checked(source)
    if (shown := help_command(argv)) is not None:
        return shown
    shows = any(a in SHOW_FLAGS or a.startswith("--cfg=") for a in argv)  # checked as the run it shows
    if source is None or any(a in INFO_FLAGS and a not in SHOW_FLAGS or a.startswith("--info=") for a in argv):
        return Checked()  # Hydra's own informational commands, or a relative --config-path
    multirun = "-m" in argv or "--multirun" in argv
    parsed = _plain_overrides(argv, multirun, shows)
    if isinstance(parsed, str):
        return Checked(parsed)
    plain, sweeps = parsed
    if multirun and (twice := given_twice_error(plain, sweeps)):  # model.c1 in hydra.sweeper.params={...} too
        return Checked(one_line(twice))
    searchpath = [searchpath_override(source[2])] if source[2] else []
    choices = functools.cache(lambda: _choices(source, searchpath, plain))  # composed once, if at all
    if bad := name_override_error(plain, choices) or (option_error(plain, source[2]) if source[:2] == _CONF else None):
        return Checked(bad)
    swept = swept_groups(sweeps)
    if swept and (bad := conditional_key_error(plain, swept, choices())):
        return Checked(bad)
    try:
        with initialize_config_dir(version_base="1.3", config_dir=source[0]):
            cfg = compose(source[1], overrides=[*searchpath, *plain], return_hydra_config=True)
    except Exception as e:  # noqa: BLE001 - any composition error, reported in one line (under hydra.sweeper=nope: that)
        return Checked(node_value_error(source[0], source[1], [*searchpath, *plain])  # an example from the config run
                       or composition_error(e, choices(), CommandLine(plain, *source)))
    try:
        if bad := stray_section_error(cfg, swept) or sweep_key_error(cfg, sweeps) or sweep_value_error(cfg, sweeps) \
                or (multirun and plain_value_error(cfg, plain, sweeps)) or shadowed_error(cfg.hydra.runtime.choices, *source[::2], multirun):
            return Checked(bad)  # a key nothing reads, a value the sweep refuses, a plain value no draw mends
        if not multirun:  # warned: a search without -m, a distillation setting without a teacher (config/unread.py)
            st = validate(cfg)
            return Checked(settings=st, config=run_config(cfg), warning=None if shows else run_warning(plain, st.trainer.teacher, PROG))
        check_multirun(cfg)  # hydra.launcher and hydra.sweeper config nodes; mnist_optuna's keys
        return Checked(warning=None if shows else sweep_warning(plain, cfg, sweeps))  # said once, at the sweep's start
    except MnistSweepError as e:  # a range a config file's value is out of: that file named
        return Checked(file_named(str(e), CommandLine(plain, *source)))
    except (HydraException, OmegaConfBaseException) as e:  # an interpolation that cannot be resolved, and the like
        return Checked(composition_error(e, dict(cfg.hydra.runtime.choices)))


def run_config(cfg: Any) -> dict:
    """A composed config's own keys, resolved (no ``hydra`` node): what two compositions must share
    for one's Settings to stand for the other."""
    from omegaconf import OmegaConf

    return {k: OmegaConf.to_container(cfg[k], resolve=True) if OmegaConf.is_config(cfg[k]) else cfg[k]
            for k in cfg if k != "hydra"}


def override_error(argv: list[str]) -> str | None:
    """One line for the first problem in the command line, else None."""
    return check_command_line(argv).error
