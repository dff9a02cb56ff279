"""A ``KEY={...}`` override (the search space's ``hydra.sweeper.params={...}`` above all) that Hydra
cannot merge, in one line naming what was given and the form that works: into a null (a ``KEY=null``
before it, or a key that is null in the config, such as the stock sweeper's deprecated
``hydra.sweeper.search_space``), a key the dict does not have, a sweep expression left unquoted in it."""
from __future__ import annotations

import re
from typing import Any

PARAMS = "hydra.sweeper.params"
_MERGING = re.compile(r"(?:Error merging override|To append to your config use \+)(.+)$")


def dict_override_error(e: BaseException, given: list[str] | None = None) -> str | None:
    """One line for a ``KEY={...}`` override (the search space's ``hydra.sweeper.params={...}``
    above all) that Hydra cannot merge, else None: into a null (OmegaConf's 'NoneType' object has no
    attribute 'get': ``_into_null``), a key the dict does not have (Hydra's 'no such key', for a key of
    the space it does not have yet), a sweep expression left unquoted in it (OmegaConf's 'tags:
    Unexpected type annotation: Set[str]'). ``given``: the command line's overrides, where known."""
    from omegaconf.errors import ConfigAttributeError, ConfigKeyError, ValidationError

    cause = e.__cause__
    if isinstance(e, AssertionError) and str(e).startswith("Unexpected type"):  # KEY.NAME=VALUE under a null KEY
        return _under_null(given or [])
    if isinstance(e, AttributeError) and "'NoneType' object has no attribute 'get'" in str(e):
        key = (re.findall(r"full_key: (\S+)", str(e)) or [None])[0]
        return None if key is None else _into_null(key, given)
    if (null := _null_in_space(e)) is not None:  # hydra.sweeper.params={model.c1:null}, or model.c1: null in a file
        return null
    line = _MERGING.search(str(e))
    if line is None:
        return None
    if (nested := _nested(cause, given, line[1])) is not None:  # hydra.sweeper.params.model.c1=4
        return nested
    searched = isinstance(cause, ConfigAttributeError) and str(cause.full_key) == f"{PARAMS}.{cause.key}"  # .optimizer=...
    if (isinstance(cause, ConfigKeyError) or searched) and getattr(cause, "object_type", None) is dict \
            and "not in struct" in str(cause) and str(cause.full_key) != str(cause.key):  # a top key: unknown_key names it
        name, key = str(cause.key), str(cause.full_key).removesuffix(f".{cause.key}")
        if key == PARAMS and (nested := _given_space(given)):  # hydra.sweeper.params={model:{c1:...}}
            return nested
        return _lacks(key, name, given)
    if isinstance(cause, ValidationError) and _is_sweep(getattr(cause, "object_type", None)):
        return _unquoted_sweep(line[1].strip())
    return None


def _lacks(key: str, name: str, given: list[str] | None) -> str:
    """The line for a key ``name`` the dict ``key`` lacks: for the search space, a key no run reads is
    said to be one at once (adding it to the space was refused next as 'no such key'); else how to add
    it, worded for the form given (``KEY.NAME=VALUE`` sets a key the dict has; ``KEY={...}`` changes them)."""
    if key == PARAMS and "." not in name:
        from mnist_sweep.config.keys import GROUPS, all_keys, did_you_mean

        if name.lstrip("+") not in GROUPS and name not in all_keys():
            hint = did_you_mean(name) or " (its keys are a config's keys, such as model.c1, or groups, such as optimizer)"
            return f"{key}.{name}: no such key, no run reads {name}, so the search space cannot search it{hint}"
    dotted = any(a.lstrip("+~").partition("=")[0] == f"{key}.{name}" for a in given or ())
    form = f"{key}.{name}=VALUE sets a key it has" if dotted else f"{key}={{...}} changes the keys it has"
    more = f", or search it with a sweep override ({name}=choice(...))" if key == PARAMS else ""
    return f"{key}.{name}: {key} has no key {name}, and {form}, it adds none; add it with +{key}={{{name}:VALUE}}{more}"


def _null_in_space(e: BaseException) -> str | None:
    """The line for a key of the space given null (OmegaConf: "Incompatible value 'None' for field of type
    'str'", or "... is not Optional" for a new key): each value is an expression, and no null takes a key
    out of the space; or given a list ("Cannot convert 'ListConfig' to string"): a choice is written choice(...)."""
    text = str(e.__cause__ if e.__cause__ is not None else e)  # a search file's: Hydra's text alone
    key = (re.findall(r"full_key: (\S+)", text) or [""])[0]
    leaf, listed = key.removeprefix(f"{PARAMS}."), re.search(r"Cannot convert 'ListConfig' to string: '\[(.*)\]'", text)
    if key.startswith(f"{PARAMS}.") and listed:  # model.c1: [4, 8]: a list, which the space does not take
        return (f"{key}: a list ([{listed[1]}]), while each value of the search space is text, a sweep expression or "
                f"one value; write {leaf}: choice({listed[1]}) under params in a file, {PARAMS}={{{leaf}:\"choice("
                f"{listed[1].replace(' ', '')})\"}} on the command line")
    if not key.startswith(f"{PARAMS}.") or not ("Incompatible value 'None'" in text or "is not Optional" in text):
        return None
    return (f"{key}: null, while each value of the search space is text, a sweep expression or one value; to take {leaf} "
            f"out of the search give it one value ({leaf}=VALUE on the command line, {leaf}: VALUE under params in a "
            f"file; the text \"null\", quoted, runs it as null), or start from an empty space with {PARAMS}=null")


def _nested(cause: Any, given: list[str] | None, merged: str) -> str | None:
    """The line for ``hydra.sweeper.params.model.c1=VALUE`` that Hydra refused (its key ``model``, read as a level)."""
    full = str(getattr(cause, "full_key", ""))
    if not full.startswith(f"{PARAMS}."):
        return None
    typed = next((a for a in given or () if a.lstrip("+~").partition("=")[0].startswith(f"{full}.")), merged.strip())
    return nested_params_error(typed, getattr(cause, "parent_node", None))


def nested_params_error(override: str, space: Any) -> str | None:
    """The line for ``[+]hydra.sweeper.params.model.c1=VALUE``: Hydra reads each dot of the key as a level
    (params, then model, then c1), while the space's keys are whole names with dots (``model.c1``), so no
    form of it can set one; the dict form that does (with a + where ``space``, the space, lacks the key;
    none where it is null: nothing merges into it) and the plain override. None for any other override."""
    key, _, value = override.lstrip("+~").partition("=")
    leaf = key.removeprefix(f"{PARAMS}.")
    if leaf == key or "." not in leaf:
        return None
    value = value.strip()
    bare = value[1:-1] if len(value) > 1 and value[0] == value[-1] and value[0] in "'\"" else value
    shown = _quoted(bare)
    plus = "" if hasattr(space, "keys") and leaf in space else "+"
    fix = f"{leaf}={bare} after {PARAMS}=null" if space is None else \
        f"{plus}{PARAMS}={{{leaf}:{shown}}}, or as {leaf}={bare} on the command line"
    return (f"{override}: Hydra reads each dot of the key as a level ({' then '.join(leaf.split('.'))} inside "
            f"{PARAMS}), while the space's keys are whole names with dots ({leaf}); give it as {fix}")


# The stock sweeper's deprecated keys (null in conf/, so nothing merges into them) -> the key to use.
DEPRECATED = {"hydra.sweeper.search_space": PARAMS}


def _into_null(key: str, given: list[str] | None) -> str:
    """The line for ``KEY={...}`` where ``key`` is null: why it is null (a ``KEY=null`` before it, else
    the config's value) and the form that works; for a deprecated key (``hydra.sweeper.search_space``,
    which no ``=null`` of the user's made null) the override as typed and the key to give it to."""
    typed = [a.lstrip("+~") for a in given or () if a.lstrip("+~").split("=", 1)[0] == key]
    shown = next((a for a in typed if a.partition("=")[2].lstrip().startswith("{")), f"{key}={{...}}")
    if key in DEPRECATED:
        return (f"{shown}: {key} is the stock sweeper's deprecated key for the search space, null in this config, "
                f"so Hydra cannot merge {{...}} into it; give the space as {DEPRECATED[key]}={shown.split('=', 1)[1]}, "
                f"or each key as a sweep override (model.c1=choice(4,8))")
    nulled = any(a.partition("=")[2].strip().lower() == "null" for a in typed)
    why = f"{key}=null before it" if nulled else "the config's value" if given is not None else \
        f"{key}=null before it, or a config"
    if key == PARAMS:
        fix = (f"to search only the keys you give, write each as a sweep override after {PARAMS}=null "
               f"(model.c1=choice(4,8))" + (f", or drop {PARAMS}=null to add them to the space" if nulled or given is None
                                            else ""))
    else:
        fix = f"drop {key}=null" if nulled or given is None else "set it in the config file instead"
    return f"{key}: null at this point ({why}), and Hydra cannot merge {key}={{...}} into null; {fix}"


def _under_null(given: list[str]) -> str | None:
    """The line for ``KEY.NAME=VALUE`` where ``KEY`` is null (OmegaConf's bare 'Unexpected type: None'):
    the deprecated ``hydra.sweeper.search_space``, or a key a ``KEY=null`` before it made null."""
    for i, arg in enumerate(given):
        key = arg.lstrip("+~").partition("=")[0]
        for parent in (key.rsplit(".", n)[0] for n in range(1, key.count(".") + 1)):
            leaf = key.removeprefix(f"{parent}.")
            if parent in DEPRECATED:
                return (f"{arg.lstrip('+~')}: {parent} is the stock sweeper's deprecated key for the search space, null "
                        f"in this config, so it holds no {leaf}; search it with a sweep override ({leaf}=choice(...)), "
                        f"or give it in {DEPRECATED[parent]}={{{leaf}:\"...\"}}")
            if any(a.lstrip("+~").partition("=")[::2] == (parent, "null") for a in given[:i]):
                return (f"{arg.lstrip('+~')}: {parent} is null at this point ({parent}=null before it), so it holds no "
                        f"{leaf}; " + (f"search it with a sweep override after the null: {leaf}=choice(...)"
                                       if parent == PARAMS else f"drop {parent}=null"))
    return None


def _is_sweep(tp: Any) -> bool:
    from hydra.core.override_parser.types import Glob, Sweep

    return isinstance(tp, type) and issubclass(tp, (Sweep, Glob))


def _unquoted_sweep(override: str) -> str | None:
    """The line for ``KEY={name:choice(...)}``: the expression is read as a sweep, not as text."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        (parsed,) = OverridesParser.create().parse_overrides([override])
    except HydraException:
        return None
    value, key = parsed.value(), parsed.key_or_group
    names = [str(k) for k, v in value.items() if _is_sweep(type(v))] if isinstance(value, dict) else []
    if not names:
        return None
    expr = _expression(override, names[0]) or "choice(...)"
    fix = (f'quote it, as each value of the search space is text: {key}={{{names[0]}:"{expr}"}}' if key == PARAMS
           else f"sweep it in an override of its own: {key}.{names[0]}={expr}")
    return f"{key}.{names[0]}: {expr} inside {key}={{...}} is read as a sweep of the command line; {fix}"


def _expression(override: str, name: str) -> str | None:
    """The text after ``name:`` in ``override`` up to its closing bracket: ``choice(4,8)``."""
    start = override.find(f"{name}:")
    if start < 0:
        return None
    depth, begin = 0, start + len(name) + 1
    for i in range(begin, len(override)):
        depth += override[i] in "([{"
        depth -= override[i] in ")]}"
        if depth == 0 and override[i] == ")":
            return override[begin:i + 1].strip()
        if depth < 0:
            return None
    return None


def given_twice_error(plain: list[str], sweeps: list[Any]) -> str | None:
    """The line for a key of the search space that the command line gives in ``hydra.sweeper.params={...}``
    and as an override of its own (``model.c1=choice(4,8)``, ``model.c1=4``): the sweeper reads the dict
    first and the overrides after, so the override won whatever their order, silently (a dict after it
    too, where Hydra's rule is that the later wins)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    in_dict: dict[str, str] = {}
    for arg in plain:
        if arg.lstrip("+").partition("=")[0] == PARAMS:
            try:
                value = OverridesParser.create().parse_override(arg).value()
            except HydraException:  # composing it says what is wrong
                continue
            in_dict.update({str(k): arg for k in value} if isinstance(value, dict) else {})
    own = [*(o.input_line for o in sweeps), *plain]
    for line in own:
        if (key := line.partition("=")[0].lstrip("+~")) in in_dict:
            return (f"{key}: given twice on the command line, in {in_dict[key]} and as {line}, and the override wins "
                    f"whatever their order (the sweep reads the dict first); keep one")
    return None


def nested_space_error(params: Any) -> str | None:
    """The line for a search space with a mapping for a value (``model: {c1: choice(4,8)}`` under params in
    a file, ``hydra.sweeper.params={model:{c1:"choice(4,8)"}}``): its keys are whole names with dots, each
    given one expression; the same space written flat. None where every value is one expression."""
    from collections.abc import Mapping

    for name, value in params.items() if isinstance(params, Mapping) else ():
        if isinstance(value, Mapping):
            flat = dict(_flat(str(name), value))
            return (f"{PARAMS}.{name}: holds keys ({', '.join(flat)}), while the space's keys are whole names with dots, "
                    f"each given one expression; write them flat: {PARAMS}={{{','.join(f'{k}:{_quoted(v)}' for k, v in flat.items())}}}"
                    f" (+ before it where the space lacks them; in a file, under params: "
                    f"{', '.join(f'{k}: {v}' for k, v in flat.items())})")
    return None


def _flat(prefix: str, value: Any) -> list[tuple[str, Any]]:
    from collections.abc import Mapping

    if not isinstance(value, Mapping):
        return [(prefix, value)]
    return [pair for k, v in value.items() for pair in _flat(f"{prefix}.{k}", v)]


def _quoted(value: Any) -> str:
    text = str(value)
    return f'"{text}"' if any(c in text for c in "()[]{},: '\"") else text


def _given_space(given: list[str] | None) -> str | None:
    """nested_space_error of the command line's ``hydra.sweeper.params={...}``, where one is given."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    for arg in given or ():
        if arg.lstrip("+").partition("=")[0] == PARAMS:
            try:
                if line := nested_space_error(OverridesParser.create().parse_override(arg).value()):
                    return line
            except HydraException:
                continue
    return None
