from __future__ import annotations

import time

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mnist_sweep.errors import ModelConfigError, ParamBudgetExceeded
from mnist_sweep.model import Net, Residual, SqueezeExcite, build, count_params, summary
from mnist_sweep.spec import BLOCK_TYPES, check_budget, output_sizes, spec_from_config, spec_params
from omegaconf import OmegaConf

EVA8 = dict(widths=[14, 16, 32, 16, 14, 10], kernels=[3, 3, 3, 3, 3, 5], padding=0, pool_after=[1],
            dropout=0.05, block="plain", bias=True)


def two_blocks(a: int, b: int, bias: bool, max_params: int | None = 20_000) -> dict:
    return dict(widths=[a, b], kernels=3, padding=0, pool_after=[], dropout=0.0, block="plain", bias=bias,
                max_params=max_params)


def test_eva8_seed_is_17290_params(cfg):
    c = cfg("model=eva8_seed")
    model = build(OmegaConf.to_container(c.model, resolve=True))
    # conv+bias, BN(2c) per block: 140+28, 2032+32, 4640+64, 4624+32, 2030+28, 3510+20; Linear(10,10)=110
    assert count_params(model) == 17_290
    assert output_sizes(spec_from_config(EVA8)) == [26, 12, 10, 8, 6, 2]


def test_default_model_count_matches_hand_computation(cfg):
    model = build(OmegaConf.to_container(cfg().model, resolve=True))
    # 1-8 (72+16), 8-16 (1152+32), 1x1 16-8 (128+16), 8-16 (1152+32), 3x 16-16 (2304+32), Linear 16-10 (170)
    assert count_params(model) == 88 + 1184 + 144 + 1184 + 3 * 2336 + 170 == 9_778


def test_separable_block_count():
    spec = dict(widths=[8, 16], kernels=3, padding=1, pool_after=[0], dropout=0.1, block="separable", bias=False)
    # block 0: depthwise 1x(3x3)=9, pointwise 1->8=8, BN 16; block 1: depthwise 8x9=72, pointwise 8*16=128, BN 32
    assert count_params(build(spec)) == 9 + 8 + 16 + 72 + 128 + 32 + (16 * 10 + 10)


def test_budget_boundary_20000_accepted_20001_rejected():
    # 1-11 (99+22), 11-179 (17721+358), Linear 179-10 (1800) = 20,000 exactly
    assert count_params(build(two_blocks(11, 179, bias=False))) == 20_000
    # with bias: 1-18 (162+18+36), 18-113 (18306+113+226), Linear 113-10 (1140) = 20,001
    with pytest.raises(ParamBudgetExceeded) as e:
        build(two_blocks(18, 113, bias=True))
    assert (e.value.params, e.value.budget) == (20_001, 20_000)
    assert "20,001" in str(e.value) and "20,000" in str(e.value) and "model.max_params" in str(e.value)
    assert count_params(build(two_blocks(18, 113, bias=True, max_params=None))) == 20_001


def test_budget_rejection_is_fast():
    t0 = time.perf_counter()
    with pytest.raises(ParamBudgetExceeded):
        build(two_blocks(64, 512, bias=False))
    assert time.perf_counter() - t0 < 1.0


def test_every_model_has_bn_dropout_gap_fc():
    model = build(EVA8)
    kinds = {type(m).__name__ for m in model.modules()}
    assert {"Conv2d", "BatchNorm2d", "Dropout", "AdaptiveAvgPool2d", "Linear"} <= kinds
    assert isinstance(model, Net)


def test_summary_lists_layers_and_total():
    text = summary(build(EVA8))
    assert "Conv2d" in text and "Total params: 17,290" in text and "[1, 10, 2, 2]" in text
    assert "Total mult-adds (M): 2.11" in text and "Units." not in text  # it read '(Units.MEGABYTES)' on Python 3.11+


BAD = [
    ({"widths": [8, 0]}, "model.widths[1]"),
    ({"widths": [8, -4]}, "model.widths[1]"),
    ({"widths": []}, "model.widths"),
    ({"widths": "8,16"}, "model.widths"),
    ({"dropout": 1.0}, "model.dropout: must be in [0, 1), got 1.0; e.g. model.dropout=0.05"),
    ({"dropout": "abc"}, "model.dropout: expected a number, got 'abc'; e.g. model.dropout=0.05"),  # was model.dropout[0], no fix
    ({"dropout": [0.1, -0.1]}, "model.dropout[1]"),
    ({"dropout": [0.1, 0.1, 0.1]}, "model.dropout"),
    ({"kernels": [3, 3, 3]}, "model.kernels"),
    ({"kernels": [3, 0]}, "model.kernels[1]"),
    ({"kernels": [3, 27]}, "model.kernels[1]"),
    ({"padding": -1}, "model.padding: must be in"),
    ({"block": "resnet"}, "model.block: unknown block type"),
    ({"block": ["plain", "dense"]}, "model.block[1]"),
    ({"pool_after": [5]}, "model.pool_after"),
    ({"pool_after": [[1]]}, "model.pool_after"),  # a nested list: no index (and unhashable)
    ({"pool_after": [{"a": 1}]}, "model.pool_after"),
    ({"max_params": 0}, "model.max_params"),
    ({"max_params": True}, "model.max_params"),
    ({"padding": 3}, "model.padding: must be in"),
    ({"kernels": [3, 2.5]}, "model.kernels[1]"),
    ({"widths": [8, "16"]}, "model.widths[1]"),
    ({"widths": [8, 10**9], "max_params": None}, "model.widths"),
    ({"widths": [8, 16, 16, 16, 16], "kernels": 5, "pool_after": [0, 1]}, "model.kernels"),
    ({"block": "residual"}, "model.block"),
    ({"block": ["plain", "residual"]}, "model.block[1]"),
    ({"block": "se", "se_ratio": 0}, "model.se_ratio"),
    ({"block": "se", "se_ratio": True}, "model.se_ratio"),
    ({"block": "se", "se_ratio": 65}, "model.se_ratio"),
]


@pytest.mark.parametrize("change, key", BAD, ids=[k + ":" + repr(v) for v, k in BAD])
def test_invalid_architectures_name_the_key(change, key):
    spec = {**two_blocks(8, 16, bias=False), **change}
    with pytest.raises(ModelConfigError) as e:
        build(spec)
    assert str(e.value).startswith(key), str(e.value)
    assert not isinstance(e.value, ParamBudgetExceeded)


@pytest.mark.parametrize("change", [
    {}, {"bias": True}, {"block": "separable"}, {"block": ["plain", "separable"], "kernels": [3, 1]},
    {"widths": [3, 5], "kernels": [5, 1], "padding": [2, 0], "pool_after": [0]},
    {"block": "se"}, {"block": "se", "se_ratio": 64, "bias": True}, {"block": ["se", "separable"], "se_ratio": 3},
    {"widths": [8, 8], "padding": 1, "block": ["plain", "residual"]}, {"widths": [8, 8], "padding": 1, "block": "residual"},
])
def test_arithmetic_count_is_exact(change):
    spec = spec_from_config({**two_blocks(8, 16, bias=False), **change})
    assert spec_params(spec) == count_params(Net(spec))
    assert spec_params(spec_from_config(EVA8)) == 17_290


def test_an_enormous_width_is_refused_before_any_allocation(monkeypatch):
    """Counted arithmetically: Net is never constructed for a model over the budget or the hard limit."""
    import mnist_sweep.model as m

    def no_net(*a, **k):
        raise AssertionError("Net constructed")

    monkeypatch.setattr(m, "Net", no_net)
    with pytest.raises(ParamBudgetExceeded):
        m.build(two_blocks(8, 100_000, bias=False))
    with pytest.raises(ModelConfigError, match="hard limit"):
        check_budget(spec_from_config(two_blocks(8, 10**12, bias=False, max_params=None)))


def test_cnn_knobs_pool_position_and_padding(cfg):
    """The cnn family's scalar knobs build its per-block lists: padding changes the maps, not the count."""
    base = OmegaConf.to_container(cfg().model, resolve=True)
    knobs = OmegaConf.to_container(cfg("model.pool_at=2", "model.p1=1", "model.p2=1", "model.p6=1").model, resolve=True)
    assert knobs["padding"] == [1, 1, 0, 0, 0, 0, 1] and knobs["pool_after"] == [2]
    assert output_sizes(spec_from_config(base)) == [26, 12, 12, 10, 8, 6, 4]
    assert output_sizes(spec_from_config(knobs)) == [28, 28, 14, 12, 10, 8, 8]
    assert spec_params(spec_from_config(knobs)) == spec_params(spec_from_config(base)) == 9_778
    biased = spec_from_config(OmegaConf.to_container(cfg("model.bias=true").model, resolve=True))
    assert spec_params(biased) == 9_778 + sum(biased.widths) == count_params(Net(biased))


def test_cnn_pool_at_the_last_block(cfg):
    spec = spec_from_config(OmegaConf.to_container(cfg("model.pool_at=6").model, resolve=True))
    assert spec.pool_after == (6,) and output_sizes(spec) == [26, 24, 24, 22, 20, 18, 8]


# --------------------------------------------------------------------------- se, residual, k1
SHIPPED = {"best_20k": 15_064, "small_8k": 7_376, "tiny": 3_758, "eva8_seed": 17_290, "smallest_994": 4_960}


@pytest.mark.parametrize("name, params", SHIPPED.items())
def test_shipped_experiments_keep_their_parameter_counts(cfg, name, params):
    """model.k1 (default 3), se and residual change nothing in the shipped experiments."""
    model = build(OmegaConf.to_container(cfg(f"+experiment={name}").model, resolve=True))
    assert count_params(model) == params
    assert not any(isinstance(m, (Residual, SqueezeExcite)) for m in model.modules())


def test_se_block_count_by_hand():
    spec = spec_from_config({**two_blocks(8, 16, bias=False), "block": "se"})
    # block 0: conv 72, BN 16, gate 8->2->8 (16+2+16+8); block 1: conv 1152, BN 32, gate 16->4->16 (64+4+64+16)
    assert spec_params(spec) == 72 + 16 + 42 + 1152 + 32 + 148 + 170 == count_params(Net(spec)) == 1_632
    # a ratio above the width still leaves one hidden channel: 8->1->8 (8+1+8+8), 16->1->16 (16+1+16+16)
    spec = spec_from_config({**two_blocks(8, 16, bias=False), "block": "se", "se_ratio": 64})
    assert spec_params(spec) == 72 + 16 + 25 + 1152 + 32 + 49 + 170 == count_params(Net(spec))


def test_se_gate_scales_each_channel():
    gate = SqueezeExcite(4, 2)
    x = torch.randn(3, 4, 5, 5)
    scale = gate.gate(x)
    assert scale.shape == (3, 4, 1, 1) and bool(((scale > 0) & (scale < 1)).all())
    assert torch.allclose(gate(x), x * scale)


def test_residual_adds_its_input():
    model = build({**two_blocks(8, 8, bias=False), "padding": 1, "block": ["plain", "residual"]}).eval()
    res = model.features[1]
    assert isinstance(res, Residual) and not isinstance(model.features[0], Residual)
    x = torch.randn(2, 8, 6, 6)
    assert torch.allclose(res(x), res.body(x) + x)


@pytest.mark.parametrize("change, wrong", [
    ({"widths": [8, 16], "padding": 1}, "c_in 8 != c_out 16"),
    ({"widths": [8, 8], "padding": 0}, "padding 0 with kernel 3"),
    ({"widths": [8, 8], "kernels": [3, 4], "padding": [1, 1]}, "an even kernel 4"),
])
def test_a_residual_that_cannot_fit_is_one_line_naming_the_block(change, wrong):
    with pytest.raises(ModelConfigError) as e:
        spec_from_config({**two_blocks(8, 8, bias=False), **change, "block": ["plain", "residual"]})
    line = str(e.value)
    assert line.startswith("model.block[1]: residual needs c_in == c_out and padding (k-1)/2") and "\n" not in line
    assert wrong in line and "or use plain there" in line


def test_a_scalar_residual_applies_where_it_fits():
    spec = spec_from_config({**two_blocks(8, 8, bias=False), "widths": [8, 8, 16, 16], "padding": 1, "block": "residual"})
    assert spec.block == ("plain", "residual", "plain", "residual")
    assert spec_params(spec) == count_params(Net(spec))


def test_cnn_k1_5(cfg):
    spec = spec_from_config(OmegaConf.to_container(cfg("model.k1=5").model, resolve=True))
    assert spec.kernels == (5, 3, 1, 3, 3, 3, 3) and output_sizes(spec)[0] == 24
    assert spec_params(spec) == 9_778 + 8 * (25 - 9) == count_params(Net(spec))
    assert spec_from_config(OmegaConf.to_container(cfg().model, resolve=True)).kernels[0] == 3


@pytest.mark.parametrize("block", BLOCK_TYPES)
def test_cnn_block_types_forward_to_ten_logits(cfg, block):
    overrides = [f"model.block={block}", "model.k1=5", "model.se_ratio=2"]
    if block == "residual":
        overrides += ["model.p4=1", "model.p5=1", "model.p6=1"]  # c3..c6 are all 16: blocks 4-6 fit
    model = build(OmegaConf.to_container(cfg(*overrides).model, resolve=True)).eval()
    assert model(torch.randn(3, 1, 28, 28)).shape == (3, 10)
    kinds = {type(m).__name__ for m in model.modules()}
    assert {"BatchNorm2d", "Dropout", "AdaptiveAvgPool2d", "Linear"} <= kinds
    assert ("SqueezeExcite" in kinds) == (block == "se") and ("Residual" in kinds) == (block == "residual")


def test_a_sweep_can_search_block_type_k1_and_se_ratio(cfg):
    from optuna.distributions import CategoricalDistribution

    from mnist_sweep.config.space import check_distribution
    from mnist_sweep.errors import SweepError

    base = cfg()
    for key, choices in [("model.block", list(BLOCK_TYPES)), ("model.k1", [3, 5]), ("model.se_ratio", [2, 4, 8])]:
        check_distribution(key, CategoricalDistribution(choices), base)
    with pytest.raises(SweepError, match="model.k1"):
        check_distribution("model.k1", CategoricalDistribution([3, 4]), base)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(data=st.data())
def test_any_accepted_spec_is_counted_exactly(data):
    """Property: every spec the validator accepts, any block types, has spec_params == torch's count."""
    n = data.draw(st.integers(1, 4))
    widths, kernels, padding, c_in = [], [], [], 1
    for _ in range(n):  # a block that keeps its input's shape (a residual fits) or any block
        k, keep = data.draw(st.sampled_from([1, 3, 5])), data.draw(st.booleans())
        widths.append(c_in if keep else data.draw(st.sampled_from([1, 2, 4, 8])))
        padding.append((k - 1) // 2 if keep else data.draw(st.integers(0, k - 1)))
        kernels.append(k)
        c_in = widths[-1]
    block = data.draw(st.one_of(st.sampled_from(BLOCK_TYPES), st.lists(st.sampled_from(BLOCK_TYPES), min_size=n, max_size=n)))
    cfg = dict(widths=widths, kernels=kernels, padding=padding, dropout=0.0, block=block, pool_after=[],
               bias=data.draw(st.booleans()), se_ratio=data.draw(st.integers(1, 8)), max_params=None)
    try:
        spec = spec_from_config(cfg)
    except ModelConfigError as e:
        assert "\n" not in str(e) and str(e).startswith("model.")
        return
    model = Net(spec).eval()
    assert spec_params(spec) == count_params(model)
    assert model(torch.randn(2, 1, 28, 28)).shape == (2, 10)


# --------------------------------------------------------------------------- trainer.fast_dropout
@pytest.mark.parametrize("p", [0.015, 0.065, 0.3])
def test_bits_dropout_keeps_each_element_with_probability_1_minus_p_and_rescales(p):
    from mnist_sweep.model import BitsDropout

    torch.manual_seed(0)
    x = torch.rand(64, 12, 20, 20) + 1.0  # no zeros: a zero out is a dropped element
    out = BitsDropout(p).train()(x)
    kept = out != 0
    cut = round(p * 65536)
    n = x.numel()
    assert abs(kept.sum().item() / n - (1 - cut / 65536)) < 4 * (p * (1 - p) / n) ** 0.5  # 4 sigma
    assert torch.allclose(out[kept], x[kept] * 65536 / (65536 - cut))


def test_bits_dropout_is_seeded_keeps_the_memory_format_and_its_gradient_is_the_mask():
    from mnist_sweep.model import BitsDropout

    x = torch.randn(8, 6, 9, 9).contiguous(memory_format=torch.channels_last).requires_grad_()
    drop = BitsDropout(0.2).train()
    torch.manual_seed(3)
    a = drop(x)
    torch.manual_seed(3)
    assert torch.equal(drop(x), a)
    assert a.is_contiguous(memory_format=torch.channels_last)
    a.sum().backward()
    scale = 65536 / (65536 - round(0.2 * 65536))
    assert torch.allclose(x.grad, torch.where(a != 0, scale, 0.0))
    drop.eval()
    assert drop(x) is x and BitsDropout(0.0).train()(x) is x


def test_fast_dropout_changes_no_parameter_and_nothing_in_eval(cfg):
    """The same model, parameters and eval outputs; only the training masks are drawn otherwise."""
    model_cfg = OmegaConf.to_container(cfg().model, resolve=True)
    torch.manual_seed(0)
    plain = build(model_cfg)
    torch.manual_seed(0)
    fast = build(model_cfg, fast_dropout=True)
    assert count_params(fast) == count_params(plain) and fast.state_dict().keys() == plain.state_dict().keys()
    assert all(isinstance(m, torch.nn.Dropout) for m in fast.modules() if "Dropout" in type(m).__name__)
    x = torch.randn(4, 1, 28, 28)
    assert torch.equal(fast.eval()(x), plain.eval()(x))


def test_bits_dropout_inplace_drops_in_x_itself_as_torchs_does():
    """nn.Dropout(inplace=True) returns its input, masked; BitsDropout returned a new tensor and
    left x whole."""
    from mnist_sweep.model import BitsDropout

    x = torch.ones(4, 3, 5, 5)
    torch.manual_seed(0)
    expected = BitsDropout(0.5).train()(x)
    torch.manual_seed(0)
    out = BitsDropout(0.5, inplace=True).train()(x)
    assert out is x and torch.equal(x, expected)
