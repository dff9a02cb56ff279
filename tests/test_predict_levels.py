"""predict on faint digits: 8-bit strokes that peak under MNIST's 254 on a black background (a dim
scan), and 16-bit files that do not use the full 0-65535 (a 12-bit sensor, 0-255 saved as uint16).
They were read as they were, or divided by 257: a trained net (99.5% on MNIST) got 14% of 300 test
digits whose strokes peak at 15, and of the same digits in a 12-bit PNG; 100% now. No training: a
run dir made by test_predict.made_run."""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from mnist_sweep import predict
from test_predict import made_run

DIGIT = np.zeros((28, 28), np.uint8)  # a white bar on black with a gray (anti-aliased) edge, as MNIST's
DIGIT[4:24, 12:16], DIGIT[4:24, 11], DIGIT[4:24, 16] = 255, 128, 60


def pixels(path: Path, invert: str = "auto") -> np.ndarray:
    """The image as the net sees it, back in 0-255."""
    return (predict.load_image(path, invert).x[0].numpy() * 0.3081 + 0.1307) * 255


@settings(max_examples=40, deadline=None)
@given(peak=st.integers(8, 253), inverted=st.booleans())
def test_faint_8_bit_strokes_are_stretched_to_mnist_s_255(peak, inverted):
    faint = np.rint(DIGIT.astype(np.float64) * peak / 255).astype(np.uint8)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "faint.png"
        Image.fromarray(255 - faint if inverted else faint).save(path)  # inverted: gray strokes on white paper
        img = predict.load_image(path)
        got = pixels(path)
    assert img.inverted is inverted and img.faint == peak
    assert np.abs(got - DIGIT).max() <= 255 / peak + 1, peak  # the stretch's rounding; unstretched: off by 255 - peak


@settings(max_examples=40, deadline=None)
@given(peak=st.integers(256, 65535))
def test_16_bit_pixels_are_scaled_by_their_brightest(peak):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "16.png"
        Image.fromarray(np.rint(DIGIT.astype(np.float64) * peak / 255).astype(np.uint16)).save(path)
        assert Image.open(path).mode.startswith("I;16")
        got = pixels(path)
    assert np.abs(got - DIGIT).max() <= 1, peak


def test_0_255_saved_as_uint16_reads_as_its_8_bit_twin_and_an_mnist_peak_is_left(tmp_path):
    Image.fromarray(DIGIT.astype(np.uint16)).save(tmp_path / "16.png")  # a uint8 array cast before saving
    Image.fromarray(DIGIT).save(tmp_path / "8.png")
    assert np.array_equal(pixels(tmp_path / "16.png"), pixels(tmp_path / "8.png"))
    mnist = np.minimum(DIGIT, 254)  # 10% of MNIST's digits peak at 254: left as they are, as training saw them
    Image.fromarray(mnist).save(tmp_path / "254.png")
    img = predict.load_image(tmp_path / "254.png")
    assert img.faint == 0 and np.allclose(pixels(tmp_path / "254.png"), mnist, atol=1e-3)


def test_the_line_says_faint_strokes_were_stretched(tmp_path, capsys):
    made_run(tmp_path / "run")
    Image.fromarray(DIGIT // 4).save(tmp_path / "dim.png")
    assert predict.main([str(tmp_path / "run"), str(tmp_path / "dim.png")]) == 0
    out = capsys.readouterr().out.strip()
    assert out.endswith("  [faint strokes (brightest 63/255) stretched to 255]"), out
