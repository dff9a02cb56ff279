"""What the config files give a key, the command line's own value for it left out: the example a
refusal shows (``hydra.sweeper.n_trials=14``, conf/config.yaml's; under ``hparams_search=tiny`` its 10),
valid and matching what the user runs, where the schema's default (20) is neither."""
from __future__ import annotations

import re
from typing import Any

from omegaconf import DictConfig, OmegaConf

from mnist_sweep.config.syntax import searchpath_override


def file_value(cfg: Any, key: str) -> Any:
    """``key``'s value in ``cfg`` composed again from its own config sources and overrides, less the
    overrides that set ``key``; None where ``cfg`` has no Hydra node to compose from, or it fails."""
    from hydra._internal.config_search_path_impl import ConfigSearchPathImpl

    try:
        overrides = cfg.hydra.overrides
        given = [str(o) for o in (*(overrides.get("hydra") or ()), *(overrides.get("task") or ()))]
        path = ConfigSearchPathImpl()
        for source in cfg.hydra.runtime.config_sources:
            path.append(str(source.provider), f"{source.schema}://{source.path}")
        name = cfg.hydra.job.config_name
    except Exception:  # noqa: BLE001 - no Hydra node (a plain config): no example from the files
        return None
    return _composed_without(path, name, given, key)


class CommandLine(list):
    """A command line's overrides (``str``s, a list as any other) with the config they compose on: the
    primary config dir and name (``--config-path``/``--config-name``; conf/config.yaml without them)
    and ``--config-dir``'s dirs, so that an example is read from the config the user runs."""

    def __init__(self, overrides: list[str], config_dir: str, config_name: str, extra: list[str] | None = None) -> None:
        super().__init__(overrides)
        self.config_dir, self.config_name, self.extra = config_dir, config_name, list(extra or ())


def shipped_value(key: str, given: list[str]) -> Any:
    """``key``'s value in the config the command line composes (``given`` a ``CommandLine``: its own primary
    config and --config-dir's; a plain list: conf/config.yaml) with its overrides ``given``, less those that
    set ``key`` (where the command line's composition failed on that key's value); None where that fails."""
    from hydra._internal.utils import create_config_search_path

    from mnist_sweep import PROJECT_ROOT

    if not isinstance(given, CommandLine):
        given = CommandLine(given, str(PROJECT_ROOT / "conf"), "config")
    searchpath = [searchpath_override(given.extra)] if given.extra else []  # as the command line composed
    return _composed_without(create_config_search_path(given.config_dir), given.config_name, [*searchpath, *given], key)


def _composed_without(path: Any, name: str | None, given: list[str], key: str) -> Any:
    """``key`` in config ``name`` on search path ``path`` with ``given`` less the overrides of ``key``
    and the sweep expressions (only the sweep expands them); None where that fails."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.types import RunMode

    try:
        kept = [o.input_line for o in OverridesParser.create().parse_overrides(given)
                if not o.is_sweep_override() and o.key_or_group.lstrip("+~") != key]
        composed = ConfigLoaderImpl(config_search_path=path).load_configuration(
            config_name=name, overrides=kept, run_mode=RunMode.MULTIRUN)
        value = OmegaConf.select(composed, key, default=None)
    except Exception:  # noqa: BLE001 - a composition that fails: no example from the files
        return None
    return OmegaConf.to_container(value, resolve=True) if isinstance(value, DictConfig) else value


def example_of(cfg: Any, schema: type, name: str, key: str) -> Any:
    """The example a range refusal of ``key`` (``schema``'s field ``name``) shows: the config files'
    value, what the user runs, where ``cfg`` is a composed config with its Hydra node; else the field's
    plain default (None when it has a factory or none). Range.how_to checks that it is valid."""
    from dataclasses import MISSING, fields

    shipped = file_value(cfg, key) if isinstance(cfg, DictConfig) and "hydra" in cfg else None
    if shipped is not None:
        return shipped
    return next((f.default for f in fields(schema) if f.name == name and f.default is not MISSING), None)


def composed_from(cfg: Any, given: list[str]) -> list[str]:
    """``given`` as a ``CommandLine`` on the config sources the composed ``cfg`` (with its Hydra node:
    a sweep's base config) was composed from, its primary config dir and --config-dir's; ``given`` as it
    is where ``cfg`` has no such node (``file_named`` then names no file)."""
    try:
        sources = cfg.hydra.runtime.config_sources
        main = next(str(s.path) for s in sources if s.provider == "main" and s.schema == "file")
        extra = [str(s.path) for s in sources if s.provider == "command-line" and s.schema == "file"]
        return CommandLine(given, main, str(cfg.hydra.job.config_name), extra)
    except Exception:  # noqa: BLE001 - no Hydra node, or a primary config of a package: no file named
        return list(given)


_RANGE_REFUSAL = re.compile(r"([\w.]+?)(?:\[\d+\])?: must be ")  # check_fields's line (and the model check's)


def file_named(line: str, given: list[str]) -> str:
    """A range refusal ``line`` (``trainer.seed: must be in [0, ...], got -1; ...``) of a key the command
    line ``given`` (a ``CommandLine``) does not set, with the config file that set the value first:
    ``experiment/mine.yaml: trainer.seed: ...`` (a --config-dir's file; one of conf/ as conf/...). Every
    file a run composes is checked as a whole only after the merge, which keeps no file's name; the
    defaults list, followed again, says which file set the key last. ``line`` as it was where the
    command line sets the key, or no file does (conf/'s own options are named only under experiment/)."""
    from mnist_sweep.config.config_files import file_shown

    m = _RANGE_REFUSAL.match(line)
    if m is None or not isinstance(given, CommandLine) or any(
            o.lstrip("+~").split("=", 1)[0] == m[1] for o in given):
        return line
    source = _set_by(given, m[1])
    shown = file_shown(source) if source else ""
    if not shown or shown.startswith("conf/") and not shown.startswith("conf/experiment/"):
        return line
    return f"{shown}: {line}"


def _set_by(given: CommandLine, key: str) -> str | None:
    """The config (``experiment/mine``) the composition's defaults list merges last among those that set
    ``key``, its packages applied; None where none does or following it fails."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra._internal.utils import create_config_search_path
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.types import RunMode

    try:
        path = create_config_search_path(given.config_dir)
        for d in given.extra:
            path.append("command-line", f"file://{d}")
        loader = ConfigLoaderImpl(config_search_path=path)
        kept = [o.input_line for o in OverridesParser.create().parse_overrides(list(given)) if not o.is_sweep_override()]
        found = None
        for d in loader.compute_defaults_list(given.config_name, kept, RunMode.RUN).defaults:
            package = d.package or ""
            if d.config_path is None or package and not key.startswith(package + "."):
                continue
            loaded = loader.repository.load_config(d.config_path)
            if loaded is not None and OmegaConf.select(loaded.config, key.removeprefix(package + ".") if package else key,
                                                       default=_ABSENT, throw_on_missing=False) is not _ABSENT:
                found = d.config_path
        return found
    except Exception:  # noqa: BLE001 - a composition that fails: the line as it was
        return None


_ABSENT = object()
