"""A sampler or pruner class of one's own given inline (``hydra.sweeper.pruner._target_`` with keys the picked
option's schema lacks) is refused by Hydra as keys the option lacks: ``own_class_line`` says where such a class
goes instead, an option of one's own in ``DIR/hydra/sweeper/<group>/NAME.yaml`` (keys.unknown_key's first word)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def own_class_line(key: str, choices: Mapping[str, Any] | None, near: str) -> str | None:
    """A sampler's or pruner's key its option lacks, no typo of one it has: ``hydra.sweeper.pruner.wrapped_pruner``
    in a search file that gives the pruner a ``_target_`` of its own, or ``hydra.sweeper.pruner={_target_:...,
    percentile:30}`` (Hydra names the node: its 'did you mean' offered other options' keys). Such keys merge into
    the picked option's schema, so a class of one's own is an option of one's own: the line says where it goes.
    ``near``: the key's 'did you mean' (keys.did_you_mean): a typo of a key the option has is told so instead."""
    node = next((n for n in ("hydra.sweeper.sampler", "hydra.sweeper.pruner") if key == n or key.startswith(f"{n}.")), None)
    if node is None or (key != node and near):
        return None
    group, kind = node.replace(".", "/"), node.rsplit(".", 1)[1]
    how = (f"a {kind} of your own (another _target_, with its keys) is an option of your own: write "
           f"DIR/{group}/NAME.yaml and pick it with --config-dir DIR {group}=NAME (in a search file: "
           f"'- override /{group}: NAME' in its defaults list)")
    if key != node:  # a typo with no near key, or a class of one's own's key: both told
        return f"{key}: no such key (`python -m mnist_sweep.train --cfg hydra -p {node}` lists the keys; {how})"
    picked = f"{group}={p}" if (p := (choices or {}).get(group)) else f"the {group} option picked"
    return f"{key}: sets keys that {picked} lacks; {how}"
