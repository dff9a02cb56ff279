"""predict: digits from PNG files the test writes (28x28, inverted, larger, RGB, transparent), and
--test equal to the run's recorded final test accuracy."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from omegaconf import OmegaConf

from conftest import TINY, assert_one_line_error, make_cfg, run
from mnist_sweep import checkpoint, predict
from mnist_sweep import model as mmodel
from mnist_sweep.commandline import pasteable

pytestmark = pytest.mark.slow  # every test here needs the tiny sweep (built once per session)


@pytest.fixture(scope="module")
def best(tiny_sweep):
    return checkpoint.load(tiny_sweep.dir / f"trial_{int(tiny_sweep.board.trial.iloc[0]):04d}")


@pytest.fixture(scope="module")
def digits(best, tmp_path_factory):
    """The first 8 test images as PNGs, plus their model predictions on the tensors training used."""
    d = tmp_path_factory.mktemp("digits")
    x, y, _, _ = checkpoint.test_set(best.cfg)
    raw = (x[:8] * 0.3081 + 0.1307).mul(255).round().clamp(0, 255).to(torch.uint8)  # back to the IDX bytes
    paths = []
    for i in range(8):
        p = d / f"digit_{i}.png"
        Image.fromarray(raw[i, 0].numpy()).save(p)
        paths.append(p)
    probs = torch.softmax(checkpoint.logits(best.model, x[:8]), 1)
    return paths, probs


def test_28x28_png_is_what_training_saw(best, digits):
    paths, probs = digits
    x, _, _, _ = checkpoint.test_set(best.cfg)
    for i, p in enumerate(paths):
        img = predict.load_image(p)
        assert not img.inverted and torch.equal(img.x, x[i])
    got = predict.predict(best.model, [predict.load_image(p) for p in paths])
    assert [d for d, _ in got] == probs.argmax(1).tolist()
    assert np.allclose([c for _, c in got], probs.max(1).values.numpy(), atol=1e-6)
    assert len(set(d for d, _ in got)) > 1  # the tiny model is not constant: the check means something


def test_inverted_larger_rgb_and_transparent_images(best, digits, tmp_path):
    paths, _ = digits
    base = Image.open(paths[0])
    inverted = tmp_path / "inverted.png"
    ImageOps.invert(base).save(inverted)  # dark digit on white paper
    img = predict.load_image(inverted)
    assert img.inverted and torch.equal(img.x, predict.load_image(paths[0]).x)
    assert not predict.load_image(inverted, invert="no").inverted
    big = tmp_path / "big_rgb.png"
    ImageOps.invert(base).resize((112, 112), Image.Resampling.NEAREST).convert("RGB").save(big)
    img = predict.load_image(big)
    assert img.inverted and img.size == (112, 112) and img.x.shape == (1, 28, 28)
    back = img.x * 0.3081 + 0.1307  # [0, 1] again
    assert float((back - (predict.load_image(paths[0]).x * 0.3081 + 0.1307)).abs().mean()) < 0.03
    wide = tmp_path / "wide.png"
    Image.fromarray(np.pad(np.asarray(base), ((0, 0), (28, 28)))).save(wide)  # 84x28: boxed as MNIST's, not shrunk
    w = predict.load_image(wide).x * 0.3081 + 0.1307
    assert float((w - (predict.load_image(paths[0]).x * 0.3081 + 0.1307)).abs().mean()) < 0.03
    clear = tmp_path / "transparent.png"  # black strokes on a transparent background
    rgba = np.zeros((28, 28, 4), np.uint8)
    rgba[..., 3] = np.asarray(base)
    Image.fromarray(rgba, "RGBA").save(clear)
    t = predict.load_image(clear)
    assert t.inverted and float((t.x - predict.load_image(paths[0]).x).abs().max()) < 0.05


def test_test_flag_equals_recorded_accuracy(best, capsys):
    correct, n, what = predict.test_accuracy(best)
    assert n == 256 and "data.test_limit=256" in what and "first 256 of the 10,000" in what
    assert correct / n == best.result["test_acc_final"]  # exactly
    assert predict.main([str(best.dir), "--test"]) == 0
    out = capsys.readouterr().out
    assert f"({correct}/256)" in out and "identical" in out


def test_a_different_record_is_reported(best, tmp_path, capsys):
    d = tmp_path / "run"
    shutil.copytree(best.dir, d)
    result = json.loads((d / "result.json").read_text())
    result["test_acc_final"] -= 1 / 256
    (d / "result.json").write_text(json.dumps(result))
    assert predict.main([str(d), "--test"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "differs from the recorded test_acc_final" in err[0]


def test_bad_inputs_one_line(best, digits, tmp_path, capsys):
    paths, _ = digits
    (tmp_path / "not_an_image.png").write_text("hello")
    no_weights = tmp_path / "no_weights"
    shutil.copytree(best.dir, no_weights)
    (no_weights / "model.pt").unlink()
    broken = tmp_path / "broken"
    shutil.copytree(best.dir, broken)
    (broken / "model.pt").write_bytes(b"\x00" * 10)
    (tmp_path / "empty").mkdir()
    cases = [
        ([str(best.dir)], ["IMAGE", "--test"]),
        ([str(best.dir), str(tmp_path / "missing.png")], ["missing.png", "no such image"]),
        ([str(best.dir), str(tmp_path / "not_an_image.png")], ["not_an_image.png", "not an image (it begins b'hello')"]),
        ([str(best.dir), str(tmp_path)], ["is a directory"]),
        ([str(tmp_path / "nowhere"), str(paths[0])], ["nowhere", "no such run dir"]),
        ([str(tmp_path / "empty"), str(paths[0])], ["no .hydra/config.yaml"]),  # tmp_path holds runs: named
        ([str(no_weights), str(paths[0])], ["no model.pt", "pick a complete run"]),
        ([str(broken), str(paths[0])], ["model.pt", "not a PyTorch checkpoint (it begins b'\\x00"]),
        ([str(paths[0]), str(best.dir)], [f"{paths[0]}: not a run dir, and {best.dir} is a dir: the run dir comes first, ",
                                          f"predict {best.dir} {paths[0]} (see"]),  # swapped: said 'is a file' only
        ([str(paths[0])], [f"{paths[0]}: is a file, not a run dir (the first argument)"]),  # no run dir at all
        ([str(best.dir / "model.pt"), str(paths[0])], [f"give the run dir it is in, {best.dir}"]),  # was a run dir's file
        ([str(best.dir), str(tmp_path / "missing.png")], ["; check its path and name"]),
    ]
    for args, needles in cases:
        assert predict.main(args) == 2, args
        captured = capsys.readouterr()
        err = captured.err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and captured.out == "", (args, captured)
        for needle in needles:
            assert needle in err[0], (args, err[0])


def test_cli_subprocess(best, digits, tmp_path):
    paths, probs = digits
    inverted = tmp_path / "inverted.png"
    ImageOps.invert(Image.open(paths[1]).resize((56, 56))).save(inverted)
    proc = run(["mnist_sweep.predict", str(best.dir), str(paths[0]), str(inverted), "--test"], cwd=tmp_path,
               process=True)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"{paths[0]}: {int(probs[0].argmax())} (p={float(probs[0].max()):.3f})"
    assert lines[1].startswith(f"{inverted}: ") and "56x56 resized, inverted: light background" in lines[1]
    assert "identical" in lines[-1]
    assert_one_line_error(run(["mnist_sweep.predict", str(best.dir)], cwd=tmp_path), "--test")


def test_images_pil_cannot_or_will_not_decode_are_one_line(best, tmp_path, capsys):
    """Every image is decoded before any output: each PIL failure is one line naming the file."""
    Image.new("1", (20000, 20000)).save(tmp_path / "bomb.png")  # over twice PIL's limit: DecompressionBombError
    Image.new("1", (10000, 10000)).save(tmp_path / "large.png")  # over it: PIL only warns, and would decode it
    Image.new("L", (200, 200), 128).save(tmp_path / "full.png")
    (tmp_path / "truncated.png").write_bytes((tmp_path / "full.png").read_bytes()[:150])
    frames = [Image.new("L", (28, 28), v) for v in (0, 255)]
    frames[0].save(tmp_path / "animated.gif", save_all=True, append_images=frames[1:])
    cases = {"bomb.png": "too large", "large.png": "too large", "truncated.png": "truncated",
             "animated.gif": "has 2 frames"}
    for name, needle in cases.items():
        assert predict.main([str(best.dir), str(tmp_path / name)]) == 2, name
        captured = capsys.readouterr()
        err = captured.err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"error: {tmp_path / name}: ") and needle in err[0], (name, captured)


def test_a_16_bit_png_reads_as_its_8_bit_twin(tmp_path):
    """16-bit grayscale is scaled to 8 bits (PIL's convert('L') clips it: every stroke and the background white)."""
    eight = (np.arange(28 * 28).reshape(28, 28) % 256).astype(np.uint8)
    Image.fromarray(eight).save(tmp_path / "8.png")
    Image.fromarray(eight.astype(np.uint16) * 257).save(tmp_path / "16.png")
    assert Image.open(tmp_path / "16.png").mode.startswith("I")
    assert torch.equal(predict.load_image(tmp_path / "16.png", "no").x, predict.load_image(tmp_path / "8.png", "no").x)


def made_run(d, **result) -> dict:
    """A run dir without training: a tiny config, an untrained model's model.pt and result.json;
    returns the state dict."""
    cfg = make_cfg(*TINY)
    (d / ".hydra").mkdir(parents=True)
    OmegaConf.save(cfg, d / ".hydra" / "config.yaml")
    torch.manual_seed(0)
    state = mmodel.build(OmegaConf.to_container(cfg.model, resolve=True)).state_dict()
    torch.save(state, d / "model.pt")
    (d / "result.json").write_text(json.dumps({"status": "complete", "test_acc_final": 0.1, "device": "cpu", **result}))
    return state


def one_error(capsys, argv: list[str]) -> str:
    assert predict.main(argv) == 2, argv
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and captured.out == "", captured
    return err[0]


def test_a_damaged_checkpoint_and_another_models_are_told_apart(tmp_path, capsys):
    """The same check serves export (checkpoint.load)."""
    d = tmp_path / "run"
    state = made_run(d)
    checkpoint.load(d)
    whole = (d / "model.pt").read_bytes()
    (d / "model.pt").write_bytes(whole[: len(whole) // 2])
    line = one_error(capsys, [str(d), "--test"])
    assert "model.pt: damaged (truncated?) or not a PyTorch checkpoint" in line and "another model" not in line
    assert "config.yaml" not in line and line.endswith("or train the run again"), line
    first = next(iter(state))
    torch.save({**state, first: torch.zeros(3, 3), "extra.weight": torch.zeros(1)}, d / "model.pt")
    line = one_error(capsys, [str(d), "--test"])
    assert "weights of another model than" in line and "config.yaml" in line and "damaged (" not in line
    assert f"other shape: {first} [3, 3]" in line and "unexpected: extra.weight" in line
    torch.save([1, 2], d / "model.pt")
    assert "not a model's state dict (holds a list)" in one_error(capsys, [str(d), "--test"])


def test_test_flag_says_what_is_wrong_with_result_json(tmp_path, capsys):
    """--test checks the record before evaluating: missing, not JSON, not an object, no or a bad accuracy."""
    d = tmp_path / "run"
    made_run(d)
    record = d / "result.json"
    cases = [(None, "result.json: no such file"), ("{bad", "result.json: not valid JSON"),
             ("[1, 2]", "result.json: not a JSON object (a list)"), ("{}", "result.json: no test_acc_final recorded"),
             ('{"test_acc_final": "abc"}', "test_acc_final 'abc' is not a finite number")]
    for text, needle in cases:
        record.unlink(missing_ok=True)
        if text is not None:
            record.write_text(text)
        line = one_error(capsys, [str(d), "--test"])
        assert needle in line and "leave out --test" in line, line
    record.write_text(json.dumps({"test_acc_final": 1.5}))
    assert "1.5 is not an accuracy" in one_error(capsys, [str(d), "--test"])
    record.write_text(json.dumps({"test_acc_final": 0.0001}))  # no device recorded: no guess at one
    assert predict.main([str(d), "--test"]) == 1
    err = capsys.readouterr().err
    assert "differs from the recorded test_acc_final 0.0001" in err and "trained on" not in err, err


def test_a_file_given_as_the_run_dir_is_called_a_file(tmp_path, capsys):
    (tmp_path / "afile").write_text("")
    assert "afile: is a file, not a run dir" in one_error(capsys, [str(tmp_path / "afile"), "--test"])
    assert "nowhere: no such run dir" in one_error(capsys, [str(tmp_path / "nowhere"), "--test"])
    (tmp_path / "run").mkdir()  # predict IMAGE RUN: 'afile: is a file, not a run dir', the swap unsaid
    assert one_error(capsys, [str(tmp_path / "afile"), str(tmp_path / "run"), "--test"]).endswith(
        f"afile: not a run dir, and {tmp_path / 'run'} is a dir: the run dir comes first, "
        f"{pasteable('mnist_sweep.predict', tmp_path / 'run', tmp_path / 'afile', '--test')} (see python -m mnist_sweep.predict --help)")


def test_a_float_image_in_0_1_reads_as_its_8_bit_twin(tmp_path):
    """A 32-bit float TIFF (mode F) with pixels in [0, 1], as numpy code saves one: PIL's
    convert('L') rounded every pixel to 0 or 1, so the network saw a black image."""
    eight = (np.arange(28 * 28).reshape(28, 28) % 256).astype(np.uint8)
    Image.fromarray(eight).save(tmp_path / "8.png")
    Image.fromarray(eight.astype(np.float32) / 255).save(tmp_path / "unit.tiff")
    Image.fromarray(eight.astype(np.float32)).save(tmp_path / "bytes.tiff")
    assert Image.open(tmp_path / "unit.tiff").mode == "F"
    want = predict.load_image(tmp_path / "8.png", "no").x
    assert torch.equal(predict.load_image(tmp_path / "unit.tiff", "no").x, want)
    assert torch.equal(predict.load_image(tmp_path / "bytes.tiff", "no").x, want)


def test_a_directory_of_images_says_to_give_the_files(best, tmp_path, capsys):
    """A directory (empty, or of images) was 'is a directory, not an image', with no way out."""
    (tmp_path / "digits").mkdir()
    assert predict.main([str(best.dir), str(tmp_path / "digits")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {tmp_path / 'digits'}: is a directory, not an image; give the image files in it "
                   f"(e.g. {tmp_path / 'digits'}/*.png)"]


def test_a_photo_stored_on_its_side_is_read_upright(tmp_path):
    """A JPEG whose EXIF orientation says 'rotate 90' (how phones store photos) reached the network
    on its side: PIL does not apply the orientation; ImageOps.exif_transpose does."""
    glyph = np.zeros((28, 40), np.uint8)
    glyph[4:24, 12:16] = 255
    glyph[4:8, 6:30] = 255
    upright = Image.fromarray(glyph)
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: the stored pixels are turned; rotate 90 clockwise to show them
    upright.transpose(Image.Transpose.ROTATE_90).save(tmp_path / "photo.png", exif=exif.tobytes())
    upright.save(tmp_path / "upright.png")
    got = predict.load_image(tmp_path / "photo.png", "no")
    assert got.size == (40, 28) and torch.equal(got.x, predict.load_image(tmp_path / "upright.png", "no").x)


RUN_EDITS = {  # a run's saved config edited by hand: (old, new, what the line says)
    "bad width": ("c1: 8", "c1: -8", "model.c1: must be >= 1, got -8"),
    "renamed key": ("c1: 8", "cc1: 8", "model.c1"),  # the interpolation ${model.c1} left without its key
    "test_limit text": ("test_limit: 256", "test_limit: abc", "data.test_limit: Value 'abc'"),
    "test_limit negative": ("test_limit: 256", "test_limit: -5", "data.test_limit: must be in"),
    "no data section": ("\ndata:", "\ndataX:", "no data section"),
}


@pytest.mark.parametrize("edit", RUN_EDITS)
def test_a_hand_edited_run_config_is_one_line_naming_it(tmp_path, capsys, edit):
    """predict (and export --onnx) read the run's config: test_limit 'abc' or a missing data section
    was a traceback, test_limit -5 tested on 9,995 images and reported a mismatch, a bad width
    was a model error naming no file."""
    made_run(tmp_path / "run")
    config = tmp_path / "run" / ".hydra" / "config.yaml"
    old, new, says = RUN_EDITS[edit]
    assert old in config.read_text()
    config.write_text(config.read_text().replace(old, new, 1))
    line = one_error(capsys, [str(tmp_path / "run"), "--test"])
    assert line.startswith(f"error: {config}: ") and says in line and "train the run again" in line, line


@pytest.mark.parametrize("image", ["white", "black", "one pixel"])  # a transparent one: test_predict_alpha
def test_a_blank_image_is_one_line(tmp_path, capsys, image):
    """A blank image (no strokes) was classified: the network named a digit, with a probability."""
    made_run(tmp_path / "run")
    img = {"white": Image.new("L", (28, 28), 255), "black": Image.new("RGB", (40, 30)),
           "one pixel": Image.new("L", (1, 1), 7)}[image]
    img.save(tmp_path / "blank.png")
    line = one_error(capsys, [str(tmp_path / "run"), str(tmp_path / "blank.png")])
    assert line.startswith(f"error: {tmp_path / 'blank.png'}: blank (every pixel is ") and "one digit" in line


def relative_root_run(tmp_path) -> tuple:
    """A run started in ``tmp_path/start`` with ``data.root=mnist`` (a link to the data there)."""
    from mnist_sweep.mnist_files import default_root

    d, start = tmp_path / "run", tmp_path / "start"
    made_run(d)
    start.mkdir()
    (start / "mnist").symlink_to(default_root().resolve())
    config = d / ".hydra" / "config.yaml"
    OmegaConf.save(OmegaConf.merge(OmegaConf.load(config), {"data": {"root": "mnist"}}), config)
    OmegaConf.save({"hydra": {"runtime": {"cwd": str(start)}}}, d / ".hydra" / "hydra.yaml")
    return d, start


def test_a_relative_data_root_is_read_from_where_the_run_started(tmp_path, monkeypatch, capsys):
    """predict --test from another dir read the run's data.root=mnist there: 'mnist/MNIST/raw/...:
    missing; run fetch --root mnist', which would fetch a second copy (export --onnx alike)."""
    d, start = relative_root_run(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert checkpoint.load(d).cfg.data.root == str(start / "mnist")
    predict.main([str(d), "--test"])  # an untrained model: its accuracy differs from the recorded 0.1
    captured = capsys.readouterr()
    assert "test accuracy" in captured.out and "missing" not in captured.err, captured


def test_a_relative_data_root_of_a_run_without_its_start_dir_says_so(tmp_path, monkeypatch, caplog):
    d, start = relative_root_run(tmp_path)
    (d / ".hydra" / "hydra.yaml").unlink()
    monkeypatch.chdir(start)
    assert checkpoint.load(d).cfg.data.root == "mnist"  # as before: from the current directory
    [line] = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert f"{d}/.hydra/hydra.yaml: missing or without hydra.runtime.cwd" in line and f"current directory, {start}" in line


def test_predict_test_needs_and_names_only_the_test_files(tmp_path, monkeypatch, capsys):
    """predict --test reads MNIST's two test files alone, but a data root without MNIST (MNIST_SWEEP_DATA
    set wrong) was 'train-images-idx3-ubyte: missing', a file it never needs; a root holding only the
    test files was refused the same way."""
    from mnist_sweep import mnist_files

    made_run(tmp_path / "run")
    real, data = mnist_files.raw_dir(mnist_files.default_root()).resolve(), tmp_path / "data"
    mnist_files.raw_dir(data).mkdir(parents=True)
    monkeypatch.setenv("MNIST_SWEEP_DATA", str(data))
    assert predict.main([str(tmp_path / "run"), "--test"]) != 0
    err = capsys.readouterr().err
    assert "t10k-images-idx3-ubyte: missing" in err and "train-" not in err, err
    for name in mnist_files.TEST_FILES:
        (mnist_files.raw_dir(data) / name).symlink_to(real / name)
    predict.main([str(tmp_path / "run"), "--test"])  # an untrained model: its accuracy differs from the recorded 0.1
    captured = capsys.readouterr()
    assert "test accuracy" in captured.out and "missing" not in captured.err, captured
