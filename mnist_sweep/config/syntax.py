"""An override Hydra's grammar refuses, or reads as no key, in one ``arg: what is wrong; how to
write it`` line: no key or no '=', a space or quote in the key, a quote or bracket left open, a
closing one that closes nothing, a second '=' in the value; else Hydra's words, shortened."""
from __future__ import annotations

import os
import re
import shlex

from mnist_sweep.errors import SweepError, one_line

GRAMMAR = "https://hydra.cc/docs/advanced/override_grammar/basic/"
_CLOSER = {"(": ")", "[": "]", "{": "}"}


def sweep_without_m(arg: str, value_type: str, prog: str) -> str:
    """A sweep expression given to a plain run (``value_type``: Hydra's ValueType name): -m searches
    its values; a comma list (SIMPLE_CHOICE_SWEEP) may have meant a list value, written in brackets,
    or for a config group (no dot: ``optimizer=sgd,adam``) one option, which a run takes."""
    key, _, values = arg.partition("=")
    alt = ""
    if value_type == "SIMPLE_CHOICE_SWEEP":
        alt = (f"; a config group takes one option in a run: pick one, e.g. {key}={values.split(',')[0]}"
               if "." not in key else f"; a list value is written in brackets: '{key}=[{values}]'")
    return f"{arg}: a sweep expression needs -m, which searches its values: {prog} -m {shlex.quote(arg)}{alt}"


def override_syntax_error(arg: str, hydra_message: str = "") -> str:
    """One ``arg: what is wrong; how to write it`` line for an override Hydra's grammar refuses
    (``hydra_message``: its parser's words) or reads as no key: no key or no '=', a space or quote in the key,
    a quote or bracket left open, a closing one that closes nothing, a second '=' in the value; else
    Hydra's words, shortened, with the grammar's page."""
    sign = arg[:len(arg) - len(arg.lstrip("+~"))]
    key, eq, value = arg[len(sign):].partition("=")
    if eq and not key.strip():
        what = "no key before '='; an override is KEY=VALUE, e.g. model.c1=8"
    elif not eq and "~" not in sign and re.fullmatch(r"[\w@/-]+(\.[\w@/-]+)+", key):
        what = f"not KEY=VALUE (no '='); give the key a value ({key}=VALUE) or delete it (~{key})"
    elif not eq and "~" not in sign:  # a bare word (train, 8): no dotted key, nothing to delete
        what = "not KEY=VALUE (no '='); an override is KEY=VALUE, e.g. model.c1=8"
    elif re.search(r"\s", key):
        what = f"a key holds no spaces; write {sign}{''.join(key.split())}={value}"
    elif quote := re.search(r"['\"]", key):  # the whole override quoted ('data.root=/x' reaching us as is)
        value = value[:-1] if value.endswith(quote[0]) and key.startswith(quote[0]) else value
        bare, value = re.sub("['\"]", "", key), f"'{value}'" if re.search(r"\s", value) else value
        what = f"a key holds no quotes; quote its value alone if it needs it: {sign}{bare}{eq}{value}"
    else:
        what = _value_problem(f"{sign}{key}=", value) or _hydra_words(arg, hydra_message, f"{sign}{key}=", value)
    return one_line(f"{arg}: {what}")


def shell_override(head: str, value: str) -> str:
    """``KEY=`` (``head``) and ``value`` as typed into a shell: Hydra's quotes inside the shell's
    (``"data.root='~/x'"``); a bare ``data.root='~/x'`` reaches Hydra unquoted (the shell drops its
    quotes), and Hydra refuses it again."""
    word = f"{head}{hydra_value(value, resolved=False)}"
    return shlex.quote(word) if re.search(r"[\"$`\\!]", word) else f'"{word}"'


_PLAIN = re.compile(r"[A-Za-z0-9_./-]+")  # a value Hydra's override grammar reads as it stands
_WORD, _NOT_STRINGS = re.compile(r"[A-Za-z_][\w.-]*", re.ASCII), ("true", "false", "null", "nan", "inf")  # as Hydra reads them


def hydra_value(text: str, resolved: bool = True) -> str:
    """``text`` (a path: hydra.run.dir, data.root) as one value of Hydra's override grammar that
    reads back as ``text`` whatever it holds (a space, a comma, ``=``, quotes, brackets, ``${``):
    quoted, with Hydra's escapes, unless it is plain. Unquoted, a comma split it in two (a sweep, or
    two items of a list). OmegaConf resolves such a key, so a ``${`` in it is escaped (``\\${``);
    ``resolved=False``: a value Hydra reads as written, never resolved (a search path's dir)."""
    if _PLAIN.fullmatch(text) and ("/" in text or _WORD.fullmatch(text) and text.lower() not in _NOT_STRINGS):
        return text  # not a number, true or null either; a word plain (reproduce --out rep2: 'hydra.run.dir='"'"'rep2'"'"'')
    if resolved:
        text = omegaconf_literal(text)
    quoted = re.sub(r"(\\*)('|$)", lambda m: m[1] * 2 + ("\\'" if m[2] else ""), text)
    return f"'{quoted}'"


def omegaconf_literal(text: str) -> str:
    """``text`` as a string OmegaConf resolves to ``text``: each ``${`` escaped. OmegaConf reads 2n
    backslashes and ``${`` as n and an interpolation, 2n + 1 as n and a plain ``${``."""
    return re.sub(r"(\\*)\$\{", lambda m: m[1] * 2 + "\\${", text)


def searchpath_override(dirs: list[str]) -> str:
    """``hydra.searchpath=[file://DIR, ...]``, as ``--config-dir DIR`` adds each dir: Hydra reads the
    list as written (a ``${`` in a dir's name is no interpolation there, and must not be escaped)."""
    return f"hydra.searchpath=[{','.join(hydra_value('file://' + d, resolved=False) for d in dirs)}]"


def relative_config_path(flag: str, value: str) -> str:
    """Hydra reads a relative --config-path as a module of mnist_sweep: one line saying to give it absolute.
    ``--config-dir`` only adds a dir's groups (experiment/NAME.yaml): offered for a dir holding no config of
    its own (a trial's .hydra/config.yaml would be passed over for the project's conf/config.yaml)."""
    try:
        own = any(n.endswith((".yaml", ".yml")) for n in os.listdir(value))
    except OSError:  # no such dir (or unreadable)
        own = False
    other = "" if own else f", or add the dir with --config-dir {value}"
    return one_line(f"{flag} {value}: a relative config path is looked up inside the mnist_sweep package; "
                    f"give an absolute path ({flag} {os.path.abspath(value)}){other}")


def not_a_config_dir(flag: str, value: str, kind: str) -> str | None:
    """One line for a --config-path given as a file (Hydra: 'Check that the config directory
    '.../config.yaml' exists') or a --config-dir that is no dir (Hydra: a warning, then 'Additional
    config directory ... not found', or with +experiment=NAME 'no such option'); None for a dir."""
    if kind == "path" and os.path.isabs(value) and os.path.isfile(value):  # a relative one: relative_config_path
        stem = os.path.splitext(os.path.basename(value))[0]
        return one_line(f"{flag} {value}: a file, not a directory; give its dir and its name without .yaml: "
                        f"{flag} {os.path.dirname(value)} --config-name {stem}")
    if kind == "dir" and "://" not in value and not os.path.isdir(value):
        return one_line(f"{flag} {value}: {'not a directory' if os.path.exists(value) else 'no such directory'}; "
                        "give the dir that holds experiment/NAME.yaml (the one export printed)")
    return None


HELP_WORDS = ("help", "h", "usage", "?")
VALUE_FLAGS = ("--config-path", "-cp", "--config-name", "-cn", "--config-dir", "-cd", "--cfg", "-c", "--info", "-i",
               "--package", "-p", "--experimental-rerun")


def spaced_override_error(argv: list[str], prog: str) -> str | None:
    """One line for a command line that asks for help in words (``help``, ``-help``) or whose
    ``KEY=VALUE`` the shell split at spaces around '=' (``model.c1 = 8``, ``model.c1 =8``,
    ``model.c1= 8``): written out joined; a setting given as a --flag (``--epochs 5``: ``dashed_override``);
    else None. A flag's own value is skipped."""
    for i, arg in enumerate(argv):
        if i and argv[i - 1] in VALUE_FLAGS:
            continue
        if arg.lstrip("-").lower() in HELP_WORDS and arg not in ("-h", "--help"):
            return one_line(f"{arg}: not an override; for help run {prog} --help")
        nxt = argv[i + 1] if i + 1 < len(argv) else ""
        plain = not nxt.startswith(("-", "~", "+")) and "=" not in nxt
        if (arg == "=" and nxt) or ("=" not in arg and not arg.startswith("-") and nxt.startswith("=")) \
                or (arg.endswith("=") and arg.count("=") == 1 and nxt and plain):
            parts = argv[i:i + 3] if nxt == "=" and i + 2 < len(argv) else argv[i:i + 2]
            joined = "".join(parts) if not parts[0].startswith("=") else "KEY" + "".join(parts)
            return one_line(f"{' '.join(parts)}: write KEY=VALUE with no spaces around '=': {joined}")
    return dashed_override(argv, prog)


def _value_problem(head: str, value: str) -> str | None:
    """What is unbalanced in an override's value (``head``: its ``KEY=``), with the written fix."""
    opened: list[tuple[str, int]] = []  # brackets and at most one quote, last on top
    i = 0
    while i < len(value):
        ch, quote = value[i], opened[-1][0] if opened and opened[-1][0] in "'\"" else None
        if ch == "\\":
            i += 1  # an escaped character
        elif quote:
            if ch == quote:
                opened.pop()
        elif ch in "'\"" or ch in _CLOSER:
            opened.append((ch, i))
        elif ch in _CLOSER.values():
            if not opened:
                return f"'{ch}' closes nothing; drop it: {head}{value[:i]}{value[i + 1:]}"
            if _CLOSER[opened[-1][0]] != ch:
                return f"'{opened[-1][0]}' is closed by '{ch}'; write {head}{value[:i]}{_CLOSER[opened[-1][0]]}{value[i + 1:]}"
            opened.pop()
        elif ch == "=":
            return f"a second '=' in the value; quote a value that holds one: {shell_override(head, value)}"
        i += 1
    if not opened:
        return None
    ch, at = opened[-1]
    if ch in "'\"" and at and value[at - 1] not in "([{,: ":
        other = "'\""[ch == "'"]
        return f"a quote {ch} inside a value is not closed; quote the whole value with {other}: {head}{other}{value}{other}"
    if ch in "'\"":
        closed = f"close it ({head}{value}{ch}) or drop it ({head}{value[:at]}{value[at + 1:]})" if len(opened) == 1 \
            else "close it where the string ends"
        return f"the quote {ch} is not closed; {closed}"
    closers = "".join(_CLOSER[c] for c, _ in reversed(opened))
    return f"'{opened[0][0]}' is not closed; close it: {head}{value}{closers}"


CALL_FIXES = {  # a sweep function Hydra refused to evaluate: how to call it
    "choice": "a choice needs at least one value, e.g. choice(8,12)",
    "range": "a range needs its bounds, e.g. range(8,32,8)",
    "interval": "an interval needs its two bounds, e.g. interval(0.01,0.1)",
    "tag": "tag needs a sweep after its tags, e.g. tag(log,interval(0.01,0.1))",
}


def _value_refusal(key: str, text: str) -> str | None:
    """What the sweep's check (check_distribution) says of the one value ``text`` for ``key``, without
    the command line's config: ``value 0 is outside model.c1's range; it must be >= 1`` where each
    option of its section that has the key refuses it (a model's with the permissive one-block model);
    None where one takes it, or no schema has the key."""
    from omegaconf import OmegaConf
    from optuna.distributions import CategoricalDistribution

    from mnist_sweep.config.sections import SCHEMAS
    from mnist_sweep.config.space import PERMISSIVE, check_distribution, read_as_trial, schema_leaf

    section, refusals = key.lstrip("+").split(".", 1)[0], []
    try:
        dist = CategoricalDistribution([read_as_trial(text)])
    except Exception:  # noqa: BLE001 - not a value Hydra reads (its own line says so), or not hashable
        return None
    for name in SCHEMAS.get(section, {}):
        model = {**PERMISSIVE, key.split(".")[1]: 1} if section == "model" else {}  # model.c1: the cnn schema
        cfg = OmegaConf.create({section: {"name": name, **model}})
        if schema_leaf(cfg, key.lstrip("+")) == (None, None, None):
            continue  # an option without the key
        try:
            check_distribution(key.lstrip("+"), dist, cfg)
            return None
        except SweepError as e:
            refusals.append(re.sub(r"[;,] e\.g\. [^;()]*(\([^)]*\))?$", "", str(e).split(": ", 1)[-1]))
    return refusals[0] if refusals else None


def _null_in_choice(head: str, value: str) -> str:
    """``choice(null, 1000)``, which Hydra's choice refuses: the sweep list ``null,1000`` (which takes a
    null) where the key may be null; where it may not (``model.c1``), that at once, and the choice without
    the null (the list's spelling was refused in turn: 'model.c1 cannot be null'). A value the sweep's
    check refuses too (``model.c1=choice(null,0,8)``: 0) is named and left out of the spelling given."""
    from mnist_sweep.config.sections import may_be_null

    inner = re.fullmatch(r"\s*choice\((.*)\)\s*", value)
    values = None if inner is None or re.search(r"['\"()\[\]{}=]", inner[1]) else [v.strip() for v in inner[1].split(",")]
    key = head.rstrip("=")
    refused = {v: why for v in values or [] if v.lower() != "null" and (why := _value_refusal(key, v))}
    also = f"{', '.join(refused)} ({next(iter(refused.values()))})" if refused else ""
    if may_be_null(key) is not False:
        kept = [v for v in values or ["null", "1000"] if v not in refused]
        return (f"Hydra's choice(...) takes no null; list the values without choice(...)"
                f"{', leaving out ' + also if also else ''}: {head}{','.join(kept)}")
    rest = [v for v in values or [] if v.lower() != "null" and v not in refused]
    drop = f"drop the null{' and ' + also if also else ''}"
    fix = f"{drop}: {head}choice({','.join(rest)})" if rest else "drop the null from the choice" if values is None \
        else f"{drop}; list the values to search" if also else "list the values to search, without null"
    return f"{key.lstrip('+')} cannot be null (and Hydra's choice(...) takes no null); {fix}"


def _group_options(key: str) -> list[str]:
    """The options of config group ``key`` in conf/ (``optimizer``: adam, adamw, sgd); [] for a key."""
    from mnist_sweep.config.keys import GROUPS, option_keys

    return sorted(option_keys(key)) if key in GROUPS else []


def _hydra_words(arg: str, message: str, head: str, value: str) -> str:
    """Hydra's parser error for ``arg`` (``head`` + ``value``) in a few words (its token list and caret
    left out) and the quoted override to type instead; a sweep function it could not evaluate
    (``choice()``) says how to call that function, not to quote."""
    if m := re.search(r"\w+ while evaluating '(\w+)\(.*?': (.*)", message):
        if m[1] == "choice" and "NoneType" in m[2]:  # choice(null,1000): Hydra's choice takes no null, a list does
            return _null_in_choice(head, value)
        fix = CALL_FIXES.get(m[1], f"check the arguments of {m[1]}(...), see {GRAMMAR}")
        group = head.lstrip("+~").rstrip("=")
        if m[1] == "choice" and (options := _group_options(group)):  # choice(8,12) is a key's example, not a group's
            fix = (f"a choice needs at least one value, here options of the config group {group}, "
                   f"e.g. {head}choice({','.join(options)})")
        return f"{m[1]}(...) cannot be evaluated ({m[2].strip().rstrip('.')}); {fix}"
    lines = [line for line in message.splitlines() if line.strip() and not line.startswith("See ")]
    caret = next((line.index("^") for line in lines if line.strip() == "^"), None)
    prefix = "LexerNoViableAltException: "
    if caret is not None and lines[0].startswith(prefix) and 0 <= caret - len(prefix) < len(arg):
        at = caret - len(prefix)
        words = f"Hydra's override grammar cannot read {arg[at]!r} (character {at + 1})"
    elif m := re.search(r"(?:extraneous|mismatched) input '(.*)' expecting", message):
        words = f"Hydra's override grammar did not expect {m[1]!r} there"
    elif m := re.search(r"no viable alternative at input '(.*)'", message):
        words = f"Hydra's override grammar cannot read {m[1]!r}"
    else:
        words = lines[-1].strip() if lines else "Hydra's override grammar cannot read it"
    if not re.search(r"['\"()\[\]{},]", value):  # one plain value: write it quoted, as a shell passes it on
        return f"{words}; quote the value, in the shell's quotes too: {shell_override(head, value)}"
    return f"{words}; quote a value with special characters, in the shell's quotes too (\"KEY='VALUE'\"), see {GRAMMAR}"


def dashed_override(argv: list[str], prog: str) -> str | None:
    """Another tool's ``--epochs 5`` (or ``--lr=0.1``, ``--trainer.max_epochs 5``, ``--model cnn``) as
    the override it stands for, ``trainer.max_epochs=5``: a --flag that is none of Hydra's and names a
    key or group, or is near one. Hydra's parser took it for an unknown flag, or for one of its own it
    abbreviates (``--experiment tiny`` ran ``--experimental-rerun tiny``: a ValueError traceback)."""
    from hydra._internal.utils import get_args_parser

    from mnist_sweep.config.keys import GROUPS, all_keys, nearest

    flags = get_args_parser()._option_string_actions
    for i, word in enumerate(argv):
        name, eq, value = word.partition("=")
        key = name.lstrip("-").replace("-", "_")
        if not name.startswith("--") or not key or name in flags or (i and argv[i - 1] in VALUE_FLAGS):
            continue
        near = ([key] if key in all_keys() else ["+" * (key == "experiment") + key] if key in GROUPS  # model=cnn
                else [k for k in nearest(key) if " " not in k and "." in k])
        if not near:
            continue  # Hydra's parser names it (and a flag of its own it is near)
        after = argv[i + 1] if i + 1 < len(argv) and not argv[i + 1].startswith("-") and "=" not in argv[i + 1] else ""
        value, given = (value, word) if eq else (after, f"{word} {after}".strip())
        meant = shlex.quote(f"{near[0]}={value}") if value else f"{near[0]}=VALUE"
        return one_line(f"{given}: a setting is a KEY=VALUE override, not a --flag; did you mean {meant}? (see {prog} --help)")
    return None
