"""The sweep's base config, checked before the study is touched: each trainer.teacher (``_teacher``), a
config error in a key the search does not vary (it would reject every candidate), a precheck that does not fit its contract, a
budget that even the space's smallest model is over (``_corner``), and a space none of whose
candidates is a valid model (``_buildable``)."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import optuna
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf

from hydra_plugins.mnist_sweep_sweeper import _buildable, _corner, _groups, _space, _teacher
from hydra_plugins.mnist_sweep_sweeper._space import SearchSpace
from mnist_sweep.config.file_values import composed_from, file_named
from mnist_sweep.errors import MnistSweepError, ParamBudgetExceeded, SweepError, one_line

NOT_A_PRECHECK = (TypeError, AttributeError, NameError, ImportError)  # on the base config: a wrong function
PRECHECK_CONTRACT = ("give module.function(cfg) -> dict of user attrs or None, raising to reject a candidate "
                     "(e.g. mnist_sweep.training.precheck), or null")
Overrides = Callable[[dict[str, Any]], list[str]]


def base_overrides(space: SearchSpace) -> Overrides:
    """The base config's overrides (each swept group at its first option: a fixed key may be of a
    swept option), with some values set."""
    choice = {g: d.choices[0] for g, d in space.groups.items()}
    return lambda values: [f"{k}={v}" for k, v in {**choice, **space.fixed, **values}.items()]


class Precheck:
    """``hydra.sweeper.precheck`` (``name``: its dotted path) run on the sweep's base config."""

    def __init__(self, compose: Callable[[list[str]], DictConfig],
                 precheck: Callable[[DictConfig], Any] | None, name: str | None) -> None:
        self.compose, self.precheck, self.name = compose, precheck, name

    def base(self, space: SearchSpace) -> None:
        """A config error in a key the search does not vary would reject every candidate: report
        it once. An over-budget base model is fine, widths are sampled, unless even the space's
        smallest model is over the budget; a base that fits is no candidate (its searched keys are
        conf/'s values), so one candidate is counted then (``_fits_at_low_end``). Each trainer.teacher first,
        loaded once (``_teacher``): a candidate's precheck does not load it."""
        _teacher.check(space, self.compose, base_overrides(space))
        if self.precheck is None:
            return
        fixed = base_overrides(space)
        try:
            base = self.compose(fixed({}))
            attrs = self.precheck(base)
        except ParamBudgetExceeded:
            _corner.check(space, self._counter(fixed), OmegaConf.select(base, _corner.BUDGET, default=None),
                          lambda groups: self._model_of(fixed(groups)))
            return
        except MnistSweepError as e:  # a residual block's fit hangs on searched widths: 'model.block[4]: ...'
            if str(e).split(":", 1)[0] not in space.distributions and not self._any_passes(space):
                raise SweepError(file_named(str(e), composed_from(base, fixed({})))) from None  # a file's value: named
            self._buildable(space, fixed)  # its key searched: some value of it may build, or none
            return
        except HydraException as e:  # the swept groups' first options do not compose together (model=a, scheduler=x)
            if space.groups and self._any_passes(space):
                return  # other choices do: a draw that does not is rejected in one line (_loop)
            if len(space.groups) < 2:
                raise
            first = " ".join(f"{g}={d.choices[0]}" for g, d in space.groups.items())  # type: ignore[attr-defined]
            raise SweepError(f"hydra.sweeper.params: no candidate composes ({first}, nor any of 50 random draws): "
                             f"{_groups.not_composed(e, fixed({}))}; take one of the groups out of the search, or fix "
                             "the file it names") from None
        except NOT_A_PRECHECK as e:  # the function does not fit the contract: every candidate would fail alike
            raise SweepError(f"hydra.sweeper.precheck: '{self.name}' raised {type(e).__name__} on the "
                             f"sweep's config ({one_line(str(e))}); {PRECHECK_CONTRACT}") from None
        if attrs is not None and not isinstance(attrs, Mapping):
            raise SweepError(f"hydra.sweeper.precheck: '{self.name}' returned {type(attrs).__name__}; "
                             f"{PRECHECK_CONTRACT}")
        self._fits_at_low_end(space, fixed, OmegaConf.select(base, _corner.BUDGET, default=None))

    def _fits_at_low_end(self, space: SearchSpace, fixed: Overrides, budget: int | None) -> None:
        """A base that fits while every candidate is over the budget (``model.c3=choice(96,128)``) ran
        to max_rejected (1,000 rejections, minutes): the candidate with every model key at its low end
        is counted (one count), and only where it does not fit is the space's smallest sought and
        refused (``_corner.check``, a second or two of counting). Where it is no valid model, more
        candidates are tried, and a space none of whose candidates builds is refused (``_buildable``)."""
        low = {k: _corner.low(d) for k, d in space.values.items() if k.lstrip("+").startswith("model.")}
        if not low:
            return
        count = self._counter(fixed)
        if (n := count(low)) is None:  # no valid model there: is any candidate one? (``_buildable``)
            self._buildable(space, fixed)
        if budget is not None and _corner.BUDGET not in low and (n is None or n > budget):
            _corner.check(space, count, budget, lambda groups: self._model_of(fixed(groups)))

    def _buildable(self, space: SearchSpace, fixed: Overrides) -> None:
        """One line where none of the structured candidates and random draws is a valid model (one
        over the budget is: ``_corner``'s to refuse); tried only where the start found an invalid one."""
        errors = []
        for values in _buildable.probes(space):
            if (error := self._refused(fixed(values))) is None:
                return
            errors.append(error)
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        for _ in range(_buildable.DRAWS):
            trial = study.ask()
            try:
                overrides = _space.suggest(trial, space, self.compose)
            except optuna.TrialPruned:  # the custom space rejected it
                errors.append("rejected by hydra.sweeper.custom_search_space")
                continue
            if (error := self._refused(overrides)) is None:
                return
            errors.append(error)
        raise SweepError(_buildable.line(space, errors))

    def _refused(self, overrides: list[str]) -> str | None:
        """Why this candidate is no valid model (None where it is one, or only over the budget)."""
        try:
            self.precheck(self.compose(overrides))  # type: ignore[misc]
        except ParamBudgetExceeded:
            return None
        except SweepError:  # the custom space's own error: the sweep reports it
            raise
        except HydraException as e:  # two choices that do not compose together
            return _groups.not_composed(e, overrides)
        except (MnistSweepError, optuna.TrialPruned, *NOT_A_PRECHECK) as e:
            return one_line(str(e)) or type(e).__name__
        return None

    def _any_passes(self, space: SearchSpace, draws: int = 50) -> bool:
        """Whether some of ``draws`` random candidates passes the precheck or is only over the budget
        (a valid model): the base config's error then hangs on a searched key. Asked only where the
        base config is refused; a valid region narrower than the draws find is refused as before."""
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        for _ in range(draws):
            trial = study.ask()
            try:
                self.precheck(self.compose(_space.suggest(trial, space, self.compose)))  # type: ignore[misc]
            except ParamBudgetExceeded:
                return True
            except SweepError:  # the custom space's own error: the sweep reports it
                raise
            except (MnistSweepError, HydraException, optuna.TrialPruned, *NOT_A_PRECHECK):
                continue
            return True
        return False

    def smallest(self, space: SearchSpace) -> tuple[int, dict[str, Any]] | None:
        """The space's smallest model and its values (``_corner``), where the precheck can count it."""
        if self.precheck is None:
            return None
        fixed = base_overrides(space)
        return _corner.smallest_model(space, self._counter(fixed), lambda groups: self._model_of(fixed(groups)))

    def _counter(self, fixed: Overrides) -> _corner.Count:
        """The precheck's parameter count of the sweep's config with some values set (no budget)."""
        def count(values: dict[str, Any]) -> int | None:
            try:
                attrs = self.precheck(self.compose(fixed({**values, _corner.BUDGET: "null"})))
            except ParamBudgetExceeded as e:  # over the hard limit
                return e.params
            except (MnistSweepError, *NOT_A_PRECHECK):
                return None
            return attrs.get("params") if isinstance(attrs, Mapping) else None
        return count

    def _model_of(self, overrides: list[str]) -> Any:
        """The model section these overrides compose (None where they do not compose)."""
        try:
            return OmegaConf.to_container(self.compose(overrides).model, resolve=True)
        except Exception:  # noqa: BLE001 - Hydra's many composition errors: not the base's model
            return None
