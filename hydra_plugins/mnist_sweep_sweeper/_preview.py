"""``hydra.sweeper.dry_run=true``: what a sweep would do, without opening a study or training.

Prints the search space, the parameter counts of sampled candidates (how many would be over the
budget), and an estimated duration from a short timing of the median candidate on this machine.
"""
from __future__ import annotations

import collections
import statistics
import time
from collections.abc import Callable
from typing import Any

import optuna
import torch
import torch.nn.functional as F
from hydra.errors import HydraException
from omegaconf import DictConfig

from hydra_plugins.mnist_sweep_sweeper import _corner, _groups, _space
from hydra_plugins.mnist_sweep_sweeper._log import log
from mnist_sweep import model as mmodel
from mnist_sweep.config.settings import validate
from mnist_sweep.config.tiers import narrower_searches
from mnist_sweep.errors import MnistSweepError, ParamBudgetExceeded, SweepError
from mnist_sweep.text import duration, plural

SAMPLES = 50  # composing a candidate takes tens of ms: a few seconds in all


def _images_per_s(cfg: DictConfig, batches: int = 6) -> float:
    """Training images/s of one model on random inputs, one thread (what a trial gets)."""
    st = validate(cfg)
    torch.set_num_threads(st.trainer.threads)
    model = mmodel.build(st.model, fast_dropout=st.trainer.fast_dropout).to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    bs = st.data.batch_size
    x = torch.randn(bs, 1, 28, 28).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (bs,))
    t0 = 0.0
    for i in range(batches + 2):  # two warm-up steps
        if i == 2:
            t0 = time.perf_counter()
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return batches * bs / (time.perf_counter() - t0)


def per_epoch(seconds: float) -> str:
    """An epoch's seconds as the estimate prints them: one decimal under 10 s, whole ones above,
    '<0.1' below that (a tiny data.train_limit's epoch read '0 s/epoch')."""
    if seconds < 0.05:
        return "<0.1"
    return f"{seconds:.1f}" if seconds < 10 else f"{seconds:,.0f}"


def preview(space: _space.SearchSpace, compose: Callable[[list[str]], DictConfig], n_trials: int, workers: int,
            smallest: Callable[[], tuple[int, dict[str, Any]] | None] = lambda: None,
            repeats: tuple[int, int] = (1, 5), unpruned: str | None = None) -> None:
    """Log the space, the candidates' parameter range and an estimated duration of ``n_trials`` (a resume's
    trials left: ``_revive.left_to_start``) on ``workers``; ``smallest``: the
    space's smallest model and its values, asked for where no draw fits (None: not told); ``repeats``:
    hydra.sweeper.repeats' seeds and top_k, whose further seed runs are estimated on a line of their own;
    ``unpruned``: why the sweep prunes nothing (_pruner.unpruned), or None where pruning shortens it."""
    log.info("search space (%s):", plural(len(space.distributions), "parameter"))
    for name, dist in space.distributions.items():
        log.info("  %s: %s", name, dist)
    for name, value in space.fixed.items():
        log.info("  %s = %s (fixed)", name, value)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    params, over, refused, cfgs = [], [], [], {}
    for _ in range(SAMPLES):
        trial = study.ask()
        try:
            cfg = compose(_space.suggest(trial, space, compose))
            n = validate(cfg).n_params
        except ParamBudgetExceeded as e:
            over.append(e)
            continue
        except SweepError:  # the custom space's own error: it stops the sweep, as it would the real one
            raise
        except (MnistSweepError, optuna.TrialPruned) as e:  # a bad config, the custom space
            refused.append(str(e) or "rejected by hydra.sweeper.custom_search_space")
            continue
        except HydraException as e:  # two swept choices that do not compose (+experiment=tiny, scheduler=step)
            drawn = [f"{k}={v}" for k, v in {**space.fixed, **trial.params}.items()]
            refused.append(_groups.not_composed(e, drawn))
            continue
        params.append(n)
        cfgs[n] = cfg
        study.tell(trial, 0.0)
    if not params:  # as a sweep that trains nothing: one error line, exit 2 (a space some candidates fit: a note)
        line, fits = _none_fit(over, refused, smallest)
        if not fits:
            raise SweepError(line)
        log.info("%s", line)
        return
    median = statistics.median_low(params)
    log.info(
        "candidates (%s): %s to %s parameters, median %s; %d%% refused before training (budget or config)",
        plural(SAMPLES, "random draw"), f"{min(params):,}", f"{max(params):,}", f"{median:,}", round(100 * (len(over) + len(refused)) / SAMPLES),
    )
    cfg = cfgs[median]
    st = validate(cfg)
    ips = _images_per_s(cfg)
    epoch_s = st.data.n_train / ips * 1.15  # + evaluation of the validation and test splits
    total = n_trials * st.trainer.max_epochs * epoch_s / max(workers, 1)
    log.info(
        "estimate: %s x %s x %s s/epoch (median candidate, %s images/s on this machine, one "
        "trial per core) / %s = about %s without pruning; %s",
        plural(n_trials, "trial"), plural(st.trainer.max_epochs, "epoch"), per_epoch(epoch_s), f"{ips:,.0f}", plural(max(workers, 1), "worker"),
        duration(total), f"{unpruned}, so nothing is pruned" if unpruned else "pruning shortens it",
    )
    if repeats[0] > 1 and n_trials:  # a resume with no trial left: its seeds to go, counted in its workers
        log.info("%s", repeat_runs(*repeats, n_trials, st.trainer.max_epochs, total / n_trials))


def repeat_runs(seeds: int, top_k: int, n_trials: int, epochs: int, run_s: float) -> str:
    """The further seed runs of hydra.sweeper.repeats, which the estimate of the trials leaves out: a
    config that enters the top_k trains seeds - 1 more (``run_s``: one run's share of the estimate)."""
    extra, few = seeds - 1, min(top_k, n_trials)
    line = (f"repeats: hydra.sweeper.repeats.seeds={seeds}: each config that enters the top {top_k} trains "
            f"{plural(extra, 'more seed')} of {plural(epochs, 'epoch')}, not in the estimate: ")
    if few == n_trials:  # every trial may enter it
        return line + f"up to {plural(few * extra, 'more run')} (about {duration(few * extra * run_s)} more)"
    return line + (f"{plural(few * extra, 'more run')} where {plural(few, 'config')} do (about "
                   f"{duration(few * extra * run_s)} more), up to {plural(n_trials * extra, 'more run')} where all "
                   f"{n_trials} do (about {duration(n_trials * extra * run_s)} more)")


def _none_fit(over: list[ParamBudgetExceeded], refused: list[str],
              smallest: Callable[[], tuple[int, dict[str, Any]] | None]) -> tuple[str, bool]:
    """Why none of the draws would train: the budget (and whether any candidate fits it at all),
    or the commonest config error; and whether the space's smallest model fits (a sweep may train)."""
    if refused:
        top, n = collections.Counter(refused).most_common(1)[0]
        return (f"hydra.sweeper.params: all {SAMPLES} random draws are refused before training ({len(over)} over the "
                f"budget, {len(refused)} invalid; {n} of them: {top}): fix the space and run the dry run again"), False
    budgets, least = sorted({e.budget for e in over}), min(e.params for e in over)  # +experiment=choice(...): several
    budget = budgets[-1]
    line = (f"all {SAMPLES} random draws are over the budget of model.max_params={' or '.join(f'{b:,}' for b in budgets)} "
            f"parameters (the smallest drawn has {least:,})")
    found = smallest()
    if found is None or found[0] > budget:
        return (f"model.max_params: {line}: narrow the search space to smaller widths or raise model.max_params"
                f"{narrower_searches(budget)}"), False
    return (f"{line}; the space's smallest model has {found[0]:,} {_corner.named(found[1])}, so few candidates fit and most "
            f"trials would be rejected before training: narrow the space toward it or raise model.max_params{narrower_searches(budget)}"), True
