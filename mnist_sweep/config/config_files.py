"""A config file Hydra cannot read, or whose defaults list it cannot follow, as one line naming the
file and a fix that works: its YAML (Hydra's parser error, a traceback in a sweep's swept option), a
config its defaults list names that no dir has (``- defualt``: 'Could not load'), a group written
relative to the file's own group (``- override model: x`` in experiment/: 'Could not override
experiment/model@model'), a group chosen twice (``- /model: x`` without ``override``: Hydra's advice,
'override model: x', is relative, and fails the same way; ``+hparams_search=mine`` on the command
line, where it is defaults-list syntax too). A run's composition and a sweep's
candidates word them alike (``settings.hydra_error_line``, the sweeper's ``_groups.not_composed``)."""
from __future__ import annotations

from typing import Any

from mnist_sweep.errors import one_line


def config_file_line(e: BaseException) -> str | None:
    """The one line for ``e`` if it is one of the mistakes above, else None."""
    if (line := yaml_line(e)) is not None:
        return line
    frames = _locals(e)
    return _chosen_twice(e, frames) or _relative_override(e, frames) or _missing_config(e, frames) or \
        _relative_option(e, frames)


def yaml_line(e: BaseException) -> str | None:
    """``/d/experiment/mine.yaml: not valid YAML (mapping values are not allowed here at line 4,
    column 6); fix that file``; None for another error."""
    import yaml

    if not isinstance(e, yaml.YAMLError):
        return None
    mark = getattr(e, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    name = getattr(mark, "name", None) or "a config file"
    problem = getattr(e, "problem", None) or type(e).__name__
    return one_line(f"{name}: not valid YAML ({problem}{where}); fix that file")


def _locals(e: BaseException) -> dict[str, list[dict[str, Any]]]:
    """The locals of Hydra's defaults-list frames in ``e``'s traceback, by function name (outermost first)."""
    found: dict[str, list[dict[str, Any]]] = {}
    tb = e.__traceback__
    while tb is not None:
        found.setdefault(tb.tb_frame.f_code.co_name, []).append(tb.tb_frame.f_locals)
        tb = tb.tb_next
    return found


def file_shown(config_path: str) -> str:
    """``experiment/tiny`` as its file: ``conf/experiment/tiny.yaml`` for conf/'s, ``experiment/mine.yaml``
    for a --config-dir's."""
    from mnist_sweep import PROJECT_ROOT

    name = f"{config_path}.yaml"
    return f"conf/{name}" if (PROJECT_ROOT / "conf" / name).is_file() else name


def _pick(group: str, value: str, known: Any) -> str:
    """The defaults-list entry that picks ``value`` of the top-level ``group``: an override where
    the config has chosen the group already (``known``: the groups chosen)."""
    return f"- override /{group}: {value}" if group in (known or ()) else f"- /{group}: {value}"


def _primary_groups(frames: dict) -> set[str]:
    """The groups the primary config's defaults list picks (conf/config.yaml's model, optimizer, ...)."""
    from hydra.core.default_element import GroupDefault

    primary = [f for f in frames.get("_create_defaults_tree_impl", []) if getattr(getattr(f.get("root"), "node", None),
                                                                                  "primary", False)]
    listed = (primary[0].get("defaults_list") or []) if primary else []
    return {d.get_override_key() for d in listed if isinstance(d, GroupDefault) and not d.external_append}


def _holder_of(frames: dict, key: str, name: Any) -> tuple[Any, str | None]:
    """(the default that picked option ``name`` for ``key`` earlier in the composition, the config
    whose defaults list holds it): Hydra follows a defaults list from its end, so the choice it
    met first sits in a subtree it has finished, a local of the frames still open."""
    from hydra.core.default_element import GroupDefault, InputDefault

    def search(items: list, holder: Any) -> tuple[Any, str | None] | None:
        for item in items or []:
            node = item if isinstance(item, InputDefault) else getattr(item, "node", None)
            if isinstance(node, GroupDefault) and node.get_override_key() == key and node.get_name() == name:
                return node, holder.get_config_path()
            if not isinstance(item, InputDefault) and (found := search(item.children, item.node)):
                return found
        return None

    for f in frames.get("_create_defaults_tree_impl", []):
        if "root" in f and (found := search(f.get("children"), f["root"].node)):
            return found
    return None, None


def _chosen_twice(e: BaseException, frames: dict) -> str | None:
    """Hydra: "Multiple values for model. To override a value use 'override model: eva8_seed'"."""
    if not str(e).startswith("Multiple values for ") or not (at := frames.get("set_known_choice")):
        return None
    default, prev, key = at[-1].get("default"), at[-1].get("prev"), at[-1].get("key")
    roots = [f["root"] for f in frames.get("_create_defaults_tree_impl", []) if "root" in f]
    if default is None or key is None or len(roots) < 2:
        return None
    picks = [(default, roots[-2].node.get_config_path()), _holder_of(frames, key, prev)]
    group = key.split("@", 1)[0]
    if (appended := next((d for d, _ in picks if getattr(d, "external_append", False)), None)) is not None:
        other = prev if appended is default else default.get_name()  # +model=eva8_seed on the command line
        return (f"+{group}={appended.get_name()}: {group} already has an option ({other}); + adds a group the "
                f"config lacks: pick the option with {group}={appended.get_name()}")
    node, holder = next(((d, h) for d, h in picks if h and h != "config" and d is not None), picks[0])
    value, other = node.get_name(), prev if node is default else default.get_name()
    return one_line(f"{file_shown(holder)}, defaults list: /{group}: {value}: {group} already has an option ({other}); "
                    f"a defaults list replaces it with an override: write '- override /{group}: {value}'")


def _relative_override(e: BaseException, frames: dict) -> str | None:
    """Hydra: "In 'experiment/mine': Could not override 'experiment/model@model'. No match in the
    defaults list": ``- override model: x`` in a file of group experiment names experiment/model."""
    at = frames.get("ensure_overrides_used")
    if not str(e).startswith("In '") or "Could not override '" not in str(e) or not at:
        return None
    key, meta, overrides = at[-1].get("key"), at[-1].get("meta"), at[-1].get("self")
    holder = getattr(meta, "containing_config_path", None)
    if not key or not holder or "/" not in holder:
        return None
    own = holder.rpartition("/")[0]
    group = key.split("@", 1)[0]
    if not group.startswith(own + "/"):
        return None
    top, value = group.removeprefix(own + "/"), overrides.override_choices.get(key)
    return one_line(f"{file_shown(holder)}, defaults list: override {top}: {value}: a group there is read under the "
                    f"file's own group ({group}, which the config lacks); name it from the top: "
                    f"'{_pick(top, value, overrides.known_choices)}'")


def _missing_config(e: BaseException, frames: dict) -> str | None:
    """Hydra: "In 'hparams_search/mine': Could not load 'hparams_search/defualt'" (a plain config the
    defaults list names, ``- defualt`` or ``- /model/cnnn``, that no dir has)."""
    from hydra.errors import MissingConfigException

    from mnist_sweep.config.options import nearest_option

    at = frames.get("config_not_found_error")
    if not isinstance(e, MissingConfigException) or e.options is not None or not at:
        return None
    from hydra.core.default_element import ConfigDefault

    tree, repo = at[-1].get("tree"), at[-1].get("repo")
    if repo is None or getattr(tree, "parent", None) is None or not isinstance(tree.node, ConfigDefault):
        return None
    path, written = tree.node.get_config_path(), tree.node.path
    group, _, name = path.rpartition("/")
    options = sorted(repo.get_group_options(group)) if group and repo.group_exists(group) else []
    near = nearest_option(name, options)
    fix = (f"did you mean {written.rpartition('/')[0] + '/' if '/' in written else ''}{near}?" if near
           else f"{group or 'conf/'} has {', '.join(options) or 'no such configs'}")
    return one_line(f"{file_shown(tree.parent.node.get_config_path())}, defaults list: {written}: no config "
                    f"{path}.yaml; {fix}" + (f" ({group}'s options: {', '.join(options)})" if near else ""))


def _relative_option(e: BaseException, frames: dict) -> str | None:
    """Hydra: "In 'experiment/mine': Could not find 'experiment/model/eva8_seed'": ``- model: x`` in a
    file of group experiment names the group experiment/model."""
    from hydra.errors import MissingConfigException

    at = frames.get("config_not_found_error")
    if not isinstance(e, MissingConfigException) or e.options or not at:
        return None
    from hydra.core.default_element import GroupDefault

    tree, repo = at[-1].get("tree"), at[-1].get("repo")
    if repo is None or getattr(tree, "parent", None) is None or not isinstance(tree.node, GroupDefault):
        return None
    holder, group, value = tree.parent.node.get_config_path(), tree.node.get_group_path(), tree.node.get_name()
    own = holder.rpartition("/")[0]
    top = group.removeprefix(own + "/")
    if not own or top == group or not repo.group_exists(top):
        return None
    return one_line(f"{file_shown(holder)}, defaults list: {top}: {value}: a group there is read under the file's "
                    f"own group ({group}, which has no options); name it from the top: '{_pick(top, value, _primary_groups(frames))}'")


def config_name_error(conf: str, name: str, extra: list[str]) -> str | None:
    """``--config-name NAME`` of conf/ (``conf``; ``extra``: --config-dir's dirs) that is no config there:
    a group's option (``experiment/tiny``: Hydra composed the option alone, 'In 'experiment/tiny': Could not
    override 'model''; ``model/cnn``: 'trainer: missing section') or a name no dir has (``best_20k``: '<root>.yaml,
    defaults list: best_20k: no config best_20k.yaml; conf/ has no such configs'), in one line with the
    override that adds such an option to conf/config.yaml, the one config; None for a config that is there."""
    import os

    stem, dirs = name.removesuffix(".yaml"), [conf, *extra]
    group, _, option = stem.rpartition("/")
    if group.startswith("hydra") or not group and any(os.path.isfile(os.path.join(d, f"{stem}.yaml")) for d in dirs):
        return None
    groups = [g for g in sorted(os.listdir(conf)) if g != "hydra" and os.path.isdir(os.path.join(conf, g))]
    held = [g for g in ([group] if group in groups else groups)
            if any(os.path.isfile(os.path.join(d, g, f"{option}.yaml")) for d in dirs)]
    if group and group not in groups:  # a config of its own in a subdir that is no group: Hydra's to read
        return None
    adds = " or ".join(f"{'+' * (g == 'experiment')}{g}={option}" for g in held)
    what = (f"an option of {' and '.join(held)}, not a config" if held else f"no {stem}.yaml in conf/") + \
        "; conf/config.yaml is the config (leave --config-name out)"
    return one_line(f"--config-name {name}: {what}" + (f", and {adds} adds the option" if held else
                                                       "; a config of your own: --config-path DIR (absolute)"))
