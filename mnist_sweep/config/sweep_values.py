"""A command line's sweep expressions (``model.dropout=0.1,0.2``, ``optimizer.lr=interval(0.01,0.1)``)
checked before Hydra starts, as the sweep checks them: each as the Optuna distribution the sweep draws
its values from, against its key's type and range (``space.check_distribution``, the sweeper's own
check), and built as the sweeper builds it (ends Optuna refuses, a value a choice lists twice). A bad
value is named in the line the sweep gives, with -m or without it; so is a plain value beside them that
is wrong whatever the sweep draws (``model.c1=0``)."""
from __future__ import annotations

import copy
import warnings
from typing import Any

from mnist_sweep.config.commas import comma_number
from mnist_sweep.config.intervals import interval_ends
from mnist_sweep.config.space import check_distribution, read_as_trial
from mnist_sweep.errors import SweepError, one_line


BOUND_FIXES = {"for `log=True`": "a log scale needs a low end above 0 (tag(log,interval(0.001,0.3))); raise it or drop the log",
               "`low <= high`": "give the low end first", "`step > 0`": "give a step above 0"}  # Optuna's checks


def invalid_space(entry: str, error: BaseException) -> str:
    """The sweep's line for ``KEY=EXPR`` whose distribution Optuna (or the stock sweeper) refuses to
    build: its words, and how to write it (a reversed interval: the low end first)."""
    lines = str(error).splitlines()
    msg = lines[1] if len(lines) > 1 else str(error)
    fix = next((f for k, f in BOUND_FIXES.items() if k in msg), "see docs/sweeps.md, the search space")
    return f"hydra.sweeper.params.{entry.split('=', 1)[0]}: invalid search space '{entry}' ({msg.strip().rstrip('.')}); {fix}"


def repeated_choice(name: str, choices: tuple[Any, ...] | list[Any]) -> str | None:
    """A value listed twice in a ``choice`` is drawn twice as often, silently: most likely a typo; and
    first a number written with thousands commas (``10,000``: 10 and '000'), whose '000' repeats too."""
    if line := comma_number(name, choices):
        return line
    seen: list[tuple[type, Any]] = []
    for c in choices:
        if (type(c), c) in seen:
            return f"hydra.sweeper.params.{name}: choice({','.join(map(str, choices))}) lists {c} twice; list each value once"
        seen.append((type(c), c))
    return None


def as_written(override: Any, choices: list[Any]) -> list[Any]:
    """A choice's values as the sweep passes them on (Transformer.encode), each value quoted inside
    ``choice(...)`` kept the string it is written as, as the list ``'1000',2000`` keeps it: Hydra's
    choice() unquotes its strings, so ``choice('1000',2000)``, ``choice('true',false)`` and
    ``choice('null',4)`` passed 1000, true and null on (the trial's ``KEY=1000``). A quoted value that
    reads back as the same string bare (``choice('sgd',adamw)``) is passed on bare, as before."""
    from hydra.core.override_parser.types import ChoiceSweep, Quote, QuotedString

    value = override.value()
    if not isinstance(value, ChoiceSweep) or value.simple_form or not override.input_line:
        return list(choices)
    quoted = _quoted_in_choice(override.input_line)
    return [QuotedString(text=c, quote=Quote.single).with_quotes() if isinstance(c, str) and c in quoted
            and not _reads_as_itself(c) else c for c in choices]


def _quoted_in_choice(line: str) -> set[str]:
    """The texts written quoted among the values of ``line``'s ``choice(...)`` (Hydra's parser, its
    choice() told to keep them); none where the line parses only as Hydra's own (``sort(choice(...))``)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import QuotedString

    parser = OverridesParser.create()
    unquoting = parser.functions.eval
    texts: set[str] = set()

    def keeping(call: Any) -> Any:
        if call.name == "choice":
            texts.update(a.text for a in call.args if isinstance(a, QuotedString))
        return unquoting(call)

    parser.functions.eval = keeping  # type: ignore[method-assign]
    try:
        parser.parse_overrides([line])
    except Exception:  # noqa: BLE001 - Hydra's own parse of the line said what is wrong
        return set()
    return texts


def _reads_as_itself(text: str) -> bool:
    """Whether ``KEY=text``, as a trial's override, reads back as the string ``text``."""
    try:
        return read_as_trial(text) == text
    except Exception:  # noqa: BLE001 - not a bare value at all: keep its quotes
        return False


def tag_error(override: Any) -> str | None:
    """The line for a sweep expression whose tags the sweep would not read: hydra-optuna-sweeper reads
    one tag, ``log``, and only on an interval; any other tag (``tag(Log,interval(...))``, a typo) and a
    tag on a choice or range were dropped, silently, and the values drawn on a linear scale."""
    value, key = override.value(), override.get_key_element()
    tags = sorted(getattr(value, "tags", None) or ())
    if not tags or (override.is_interval_sweep() and tags == ["log"]):
        return None
    where = f"hydra.sweeper.params.{key}: tag({','.join(tags)},...)"
    if override.is_interval_sweep():
        ends = f"interval({value.start},{value.end})"
        ends = f"int({ends})" if isinstance(value.start, int) and isinstance(value.end, int) else ends
        return (f"{where}: the sweep reads one tag, log (a log scale), and no other; write {key}=tag(log,{ends}) "
                f"for a log scale, or {key}={ends} for a linear one")
    if override.is_range_sweep() and not value.shuffle:
        whole = all(isinstance(v, int) for v in (value.start, value.stop))
        ends = f"{'int(' if whole else ''}interval({value.start},{value.stop}){')' if whole else ''}"
        step = f" (a log scale has no step: drop step {value.step})" if value.step != 1 else ""
        return (f"{where}: a range is drawn on a linear scale whatever its tags; for a log scale write "
                f"{key}=tag(log,{ends}){step}, else drop the tag")
    choices = ",".join(str(v) for v in override.sweep_iterator())
    return f"{where}: a choice has no scale (each value is drawn as often), so its tags are not read; drop them: {key}=choice({choices})"


def step_error(override: Any) -> str | None:
    """The line for a range whose step is wider than its span (``range(0.0,0.1)``: the default step 1):
    Optuna cuts its end to the last value on the step, the start, and the sweep drew that one value
    (``model.dropout`` searched as 0.0 alone) after a warning; and one of zero span (``range(4,4)``, 4 alone),
    as a zero-width interval is refused (intervals.py)."""
    value, key = override.value(), override.get_key_element()
    if not override.is_range_sweep() or value.shuffle or not 0 <= value.stop - value.start < value.step:
        return None
    if value.stop == value.start:
        return (f"hydra.sweeper.params.{key}: range({value.start},{value.stop}) has zero span, so it draws {value.start} "
                f"alone; write {key}={value.start} to set it, or a wider range (the start below the end)")
    span, whole = value.stop - value.start, all(isinstance(v, int) for v in (value.start, value.stop, value.step))
    fix = (f"range({value.start},{value.stop},{span // 2 or 1})" if whole
           else f"interval({value.start},{value.stop}) for any value between, or range({value.start},{value.stop},{span / 2:g})")
    return (f"hydra.sweeper.params.{key}: range({value.start},{value.stop}) steps by {value.step}, more than its span, so it "
            f"draws {value.start} alone; write {key}={fix}")


def deletion_error(override: Any) -> str | None:
    """The line for a sweep of a deletion (``~model.c1=choice(4,8)``): ~ deletes a key (with a value: only
    where the key has it), so no value is searched; the sweeper said 'hydra.sweeper.params.~model.c1: no
    such key; did you mean model.k1 ...'."""
    if not override.is_delete() or not override.is_sweep_override():  # ~z alone, or ~z=1: a plain deletion
        return None
    key, value = override.get_key_element().lstrip("~"), override.input_line.partition("=")[2]
    return (f"hydra.sweeper.params.~{key}: ~ deletes a key (~{key}=VALUE only where its value is VALUE), and a search "
            f"gives it values; search it as {key}={value}")


def distribution(override: Any) -> Any | None:
    """The distribution hydra-optuna-sweeper builds for a sweep override (its
    ``create_optuna_distribution_from_override``, which this package may not import): a choice's
    values (encoded as Hydra passes them on), a range's or an interval's ends; None for a glob. Ends
    Optuna refuses (``interval(0.5,0.1)``) and a choice listing a value twice are the sweep's SweepError line."""
    from hydra.core.override_parser.types import Glob, Transformer
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if isinstance(override.value(), Glob):  # its options are listed by Hydra's config loader, set only once Hydra runs
        return None
    if bad := tag_error(override) or step_error(override) or deletion_error(override):
        raise SweepError(bad)
    value = override.value()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Optuna's note on a float range whose end is off its step
            if override.is_choice_sweep() or (override.is_range_sweep() and value.shuffle):
                choices = as_written(override, list(override.sweep_iterator(transformer=Transformer.encode)))
                if repeated := repeated_choice(override.get_key_element(), choices):
                    raise SweepError(repeated)
                return CategoricalDistribution(choices)
            if override.is_range_sweep():
                if any(isinstance(v, float) for v in (value.start, value.stop, value.step)):
                    return FloatDistribution(value.start, value.stop, step=value.step)
                return IntDistribution(int(value.start), int(value.stop), step=int(value.step))
            if override.is_interval_sweep():
                whole = isinstance(value.start, int) and isinstance(value.end, int)
                kind = IntDistribution if whole else FloatDistribution
                return kind(*interval_ends(override), log="log" in value.tags)
    except ValueError as e:  # Optuna's checks of the ends and step
        raise SweepError(invalid_space(override.input_line, e)) from None
    except TypeError:
        return None
    return None


def sweep_value_error(cfg: Any, sweeps: list[Any]) -> str | None:
    """One line for the first sweep expression over a key of ``cfg`` (composed with the command line's
    plain overrides, its hydra node too) with a value that key cannot take, as the sweep words it
    (``hydra.sweeper.params.model.dropout: value 5 does not fit model.dropout ...``); None where every
    value fits. A config group's options are not values: the sweep checks them by composing each."""
    groups = set(cfg.hydra.runtime.choices)
    for o in sweeps:
        try:
            dist = distribution(o)  # a group's choices too: listed twice, or a range it cannot be
            if dist is None or o.key_or_group in groups or o.key_or_group.split("@")[0] in groups:
                continue
            check_distribution(o.get_key_element(), dist, cfg)
        except SweepError as e:
            return one_line(str(e))
    return None


def plain_value_error(cfg: Any, plain: list[str], sweeps: list[Any]) -> str | None:
    """The run's own line for a plain override beside sweep expressions (``model.c1=0``) whose value
    is wrong whatever the sweep draws, as the sweep's check of its base config finds it: the first
    problem of the config the plain overrides compose names a key they set and no swept key, and no
    swept value set alone changes it (a cross-key rule with a swept key, ``data.train_limit`` against
    ``data.val_size=0,10000``, is the sweep's to judge per candidate). The config's hydra.sweeper.params
    count as swept, but for the keys a plain value takes out of the search. None where a config group
    is swept or a custom space samples (their draws may change the rules)."""
    from omegaconf import OmegaConf

    keys = {a.lstrip("+~").split("=", 1)[0] for a in plain}
    space = _swept(cfg, sweeps, keys)
    line = _first_problem(cfg) if space is not None else None
    if line is None or line.split(":", 1)[0].split("[", 1)[0] not in keys or any(k in line for k in space):
        return None
    moved = copy.deepcopy(cfg)  # each move set, checked and undone on one copy
    for key, value in _moves(space):
        before = OmegaConf.select(moved, key, default=_ABSENT)
        try:
            OmegaConf.update(moved, key, value, merge=False, force_add=True)
        except Exception:  # noqa: BLE001 - a value the key cannot hold: that draw is refused anyway
            continue
        if _first_problem(moved) != line:  # a draw changes the verdict: the sweep judges each candidate
            return None
        moved = copy.deepcopy(cfg) if before is _ABSENT else moved  # a key the config lacks: a fresh copy
        if before is not _ABSENT:
            OmegaConf.update(moved, key, before, merge=False)
    return line


_ABSENT = object()


def _first_problem(cfg: Any) -> str | None:
    """validate's line for ``cfg``; None where it is valid or only over the budget (widths are sampled)."""
    from mnist_sweep.config.settings import validate
    from mnist_sweep.errors import MnistSweepError, ParamBudgetExceeded

    try:
        validate(cfg)
    except ParamBudgetExceeded:
        return None
    except MnistSweepError as e:
        return one_line(str(e))
    return None


def _swept(cfg: Any, sweeps: list[Any], plain: set[str]) -> dict[str, Any] | None:
    """Each swept key -> its parsed override: the command line's, and the config's hydra.sweeper.params
    that neither it nor a plain value replaces; None where a group is swept (one a candidate adds too)
    or a custom space samples."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException
    from omegaconf import OmegaConf

    params = OmegaConf.select(cfg, "hydra.sweeper.params", default=None) or {}
    groups = set(cfg.hydra.runtime.choices)
    if OmegaConf.select(cfg, "hydra.sweeper.custom_search_space", default=None):
        return None
    out = {}
    try:
        for k, v in params.items():
            if str(k).lstrip("+") not in plain:
                (out[str(k).lstrip("+")],) = OverridesParser.create().parse_overrides([f"{k}={v}"])
    except HydraException:  # the sweep's own parse says what is wrong with it
        return None
    out.update({o.get_key_element().lstrip("+"): o for o in sweeps})
    added = any("." not in k for k in out)  # +experiment=choice(...): each option may set other keys
    return None if added or any(k in groups or k.split("@")[0] in groups for k in out) else out


def _moves(space: dict[str, Any]) -> list[tuple[str, Any]]:
    """Each swept key at each of its values (a choice) or ends (a range, an interval)."""
    from hydra.core.override_parser.types import QuotedString

    moves = []
    for key, o in space.items():
        value = o.value()
        if o.is_choice_sweep():
            moves += [(key, v.text if isinstance(v, QuotedString) else v) for v in o.sweep_iterator()]
        elif o.is_range_sweep():
            moves += [(key, value.start), (key, value.stop)]
        elif o.is_interval_sweep():
            moves += [(key, value.start), (key, value.end)]
    return moves
