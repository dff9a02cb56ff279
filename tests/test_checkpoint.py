"""checkpoint.load: the one load point of a run's weights (predict, export --onnx): model.pt as
wrappers and training loops save it. No training: a run dir made by test_predict.made_run."""
from __future__ import annotations

import pytest
import torch
from omegaconf import OmegaConf

from mnist_sweep import checkpoint
from mnist_sweep import model as mmodel
from test_predict import made_run, one_error


def wrapped(net: torch.nn.Module, how: str) -> dict:
    """``net``'s state dict as saved from inside the wrapper ``how``."""
    if how == "DataParallel":
        return torch.nn.DataParallel(net).state_dict()  # module.<key>, as DistributedDataParallel's
    if how == "compile":
        return torch.compile(net).state_dict()  # _orig_mod.<key>; nothing is compiled until it runs
    if how == "DataParallel(compile)":
        return torch.nn.DataParallel(torch.compile(net)).state_dict()
    if how == "compile(DataParallel)":
        return torch.compile(torch.nn.DataParallel(net)).state_dict()
    return {"epoch": 3, "state_dict": net.state_dict(), "optimizer": {"lr": 0.1}}  # a training checkpoint


@pytest.mark.parametrize("how", ["DataParallel", "compile", "DataParallel(compile)", "compile(DataParallel)",
                                 "checkpoint"])
def test_weights_saved_from_a_wrapper_load_as_the_net(tmp_path, how):
    """A model.pt saved from a DataParallel/DDP or torch.compile'd net (keys 'module.x', '_orig_mod.x')
    was 'weights of another model than config.yaml builds'."""
    d = tmp_path / "run"
    state = made_run(d)
    net = mmodel.build(OmegaConf.to_container(OmegaConf.load(d / ".hydra" / "config.yaml").model, resolve=True))
    net.load_state_dict(state)
    saved = wrapped(net, how)
    assert how == "checkpoint" or not set(saved) & set(state)  # every key prefixed
    torch.save(saved, d / "model.pt")
    loaded = checkpoint.load(d).model.state_dict()
    assert loaded.keys() == state.keys() and all(torch.equal(loaded[k], state[k]) for k in state)


def test_weights_of_another_model_are_still_told_so_behind_a_prefix(tmp_path, capsys):
    d = tmp_path / "run"
    state = made_run(d)
    first = next(iter(state))
    torch.save({f"module.{k}": (torch.zeros(3, 3) if k == first else v) for k, v in state.items()}, d / "model.pt")
    line = one_error(capsys, [str(d), "--test"])
    assert "weights of another model than" in line and f"other shape: {first} [3, 3]" in line, line


def test_an_onnx_file_given_for_the_run_names_the_run_it_came_from(tmp_path, capsys):
    """predict m.onnx IMAGE (the file export --onnx wrote) said 'is a file, not a run dir', naming
    none: it names the run dir the file records (metadata source_run) to give instead."""
    import onnx
    from onnx import TensorProto, helper

    made_run(tmp_path / "run")
    x = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Identity", ["image"], ["logits"])], "g", [x],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1])])
    model = helper.make_model(graph)
    helper.set_model_props(model, {"source_run": str(tmp_path / "run")})
    onnx.save(model, tmp_path / "m.onnx")
    line = one_error(capsys, [str(tmp_path / "m.onnx"), "--test"])
    assert line.startswith(f"error: {tmp_path / 'm.onnx'}: an ONNX model, not a run dir (the first argument); give "
                           f"the run dir it was exported from, {tmp_path / 'run'} (or run the file with onnxruntime"), line
    (tmp_path / "not.onnx").write_text("junk")  # no ONNX model: said as any file is
    assert ": is a file, not a run dir" in one_error(capsys, [str(tmp_path / "not.onnx"), "--test"])


def test_a_sweep_dir_given_for_the_run_names_its_rank_1_trial(tmp_path, capsys):
    """predict SWEEP IMAGE (the quick sweep's dir, where a run dir goes) said only 'give one of its trial dirs
    (SWEEP/trial_NNNN, the leaderboard's trial_dir column)'; it names rank 1's, read where the sweep dir is
    now (the table records another path), and none where rank 1 has no model.pt or the table is damaged."""
    sweep = tmp_path / "sw"
    made_run(sweep / "trial_0003")
    (sweep / "leaderboard.csv").write_text("rank,trial,status,trial_dir\n1,3,complete,/elsewhere/sw/trial_0003\n"
                                           "2,1,pruned,/elsewhere/sw/trial_0001\n")
    head = f"error: {sweep}: a sweep dir, not a run; give one of its trial dirs ({sweep}/trial_NNNN, the leaderboard's trial_dir column)"
    assert one_error(capsys, [str(sweep), "--test"]) == f"{head}, e.g. its rank 1: {sweep / 'trial_0003'}"
    (sweep / "trial_0003" / "model.pt").unlink()
    assert one_error(capsys, [str(sweep), "--test"]) == head
    (sweep / "leaderboard.csv").write_text("rank,trial\n1,3\n")  # no status column: the line without the example
    assert one_error(capsys, [str(sweep), "--test"]) == head
