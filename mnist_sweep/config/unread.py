"""What a run's command line gives that the run does not read as given, said as a warning (the run trains): a search
(hparams_search=NAME without -m), and the distillation settings (trainer.distill_alpha, distill_temperature) without
a teacher. The distillation settings' phrase is one: a run given one on its command line says it as a warning (an
experiment's teacher overridden by trainer.teacher=null trains as asked), a sweep that searches one without a teacher
as its refusal (the sweeper's ``_teacher.unread_knobs``)."""
from __future__ import annotations

from typing import Any

from mnist_sweep.shell import argument

KNOBS = ("trainer.distill_alpha", "trainer.distill_temperature")  # read by a run with a teacher alone
READER = {"run": "this run does not read", "sweep": "no trial reads", "confirm": "no run of this confirmation reads"}


def unread_line(given: list[str], how: str, reader: str) -> str:
    """'KEY: HOW, but trainer.teacher is null, so READER it (...); give one, trainer.teacher=RUN_DIR (...)'
    (``given``: the keys, or key=value as given, the line names; two: 'them')."""
    it, what = ("them", "distillation settings") if len(given) > 1 else ("it", "a distillation setting")
    return (f"{', '.join(given)}: {how}, but trainer.teacher is null, so {reader} {it} ({what}, read with a teacher "
            "alone); give one, trainer.teacher=RUN_DIR (a finished run dir)")


def knobs_given(plain: list[str]) -> list[str]:
    """KEY=VALUE for each distillation setting the overrides ``plain`` set, found as Hydra reads them (its override
    parser): trainer.distill_alpha=0.7 with any '+' or '++', and a dict's keys flattened (trainer={distill_alpha:0.7},
    trainer={teacher:null,distill_temperature:2}); a value as given, a dict's element as Hydra writes it."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import Override

    def flat(key: str, value: Any, text: str | None = None) -> list[str]:
        if isinstance(value, dict):
            return [kv for k, v in value.items() for kv in flat(f"{key}.{k}", v)]
        shown = text if text is not None else value if isinstance(value, str) else Override._get_value_element_as_str(value)
        return [f"{key}={shown}"] if key in KNOBS else []

    parser, found = OverridesParser.create(), []
    for arg in plain:
        try:
            (o,) = parser.parse_overrides([arg])
        except Exception:  # noqa: BLE001 - not an override: the command line's check names it
            continue
        if not o.is_delete() and not o.is_sweep_override() and "@" not in o.key_or_group:
            found += flat(o.key_or_group, o.value(), arg.split("=", 1)[1] if o.key_or_group in KNOBS else None)
    return found


def given_without_teacher(plain: list[str], teacher: str | None, reader: str = READER["run"]) -> str | None:
    """The warning for a run (or a sweep: ``reader`` 'no trial reads') whose command line (``plain``: its plain
    overrides) gives a distillation setting while its trainer.teacher is null, each named KEY=VALUE (``knobs_given``);
    None otherwise (the config files' values are no one's to drop: not named)."""
    given = knobs_given(plain)
    if teacher is not None or not given:
        return None
    return unread_line(given, "given", reader) + f", to distil with {'them' if len(given) > 1 else 'it'}"


def sweep_warning(plain: list[str], cfg: Any, sweeps: list[Any]) -> str | None:
    """A sweep's warning, said once at its start (as a run's): its command line gives a distillation setting while
    no trial can have a teacher: trainer.teacher null and searched by nothing (the command line, hydra.sweeper.params,
    a swept experiment or trainer option, a custom space). A searched setting then: the sweeper's refusal."""
    from omegaconf import OmegaConf

    searched = {str(k).lstrip("+") for k in OmegaConf.select(cfg, "hydra.sweeper.params", default=None) or {}}
    searched |= {o.key_or_group.lstrip("+") for o in sweeps}
    if searched & {"trainer.teacher", "trainer", "experiment"} or OmegaConf.select(cfg, "hydra.sweeper.custom_search_space", default=None):
        return None
    return given_without_teacher(plain, OmegaConf.select(cfg, "trainer.teacher", default=None), READER["sweep"])


def in_words_of(who: str, line: str) -> str:
    """A run's warning ``line`` (``run_warning``'s) with the reader of its distillation settings in ``who``'s words:
    confirm's 'no run of this confirmation reads it' for the run's 'this run does not read it'."""
    return line.replace(f", so {READER['run']} ", f", so {READER[who]} ")


def run_warning(plain: list[str], teacher: str | None, prog: str) -> str | None:
    """A run's warnings, one a line (None: none), for its plain overrides and the trainer.teacher they compose to."""
    search = next((a for a in plain if a.lstrip("+").split("=", 1)[0] == "hparams_search"), None)
    lines = [search and (f"{search}: a search, used only by a sweep; this run trains one config with the option's own keys "
                         f"(trainer.objectives, ...); to search add -m ({prog} -m {argument(search)})"),
             given_without_teacher(plain, teacher)]
    return "\n".join(line for line in lines if line) or None
