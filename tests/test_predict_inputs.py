"""predict and checkpoint.load on inputs a user feeds: image files of odd shapes, names and
permissions, and run dirs whose model.pt is not what training wrote. No training: a run dir
made here (test_predict.made_run) with an untrained model."""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from conftest import exit_code
from mnist_sweep import predict
from test_predict import made_run, one_error


def test_a_very_wide_image_is_resized_before_it_is_padded(tmp_path, monkeypatch):
    """A 30000x2 strip was padded to a 30000x30000 square before it was resized (a 60000x28 scan:
    3.6 GB); now nothing larger than 28x28 is made, and the strokes of a one-pixel-thin line stay."""
    a = np.zeros((2, 30000), np.uint8)
    a[:, 10000:20000] = 255
    Image.fromarray(a).save(tmp_path / "strip.png")
    made = []
    new = Image.new
    monkeypatch.setattr(Image, "new", lambda mode, size, *args, **kw: made.append(size) or new(mode, size, *args, **kw))
    img = predict.load_image(tmp_path / "strip.png")
    assert made and max(w * h for w, h in made) <= 28 * 28, made
    back = (img.x * 0.3081 + 0.1307)[0]
    rows = [r for r in range(28) if float(back[r].max()) > 0.02]  # the line: one row, boxed to 20 pixels, centred
    assert img.size == (30000, 2) and rows in ([13], [14]) and float(back[rows[0], 4:24].min()) > 0.5
    Image.fromarray(a[:1, :]).save(tmp_path / "line.png")  # 30000x1: 28 x 0.0009 pixels, rounded up to one row
    assert float(predict.load_image(tmp_path / "line.png").x.max()) > 1.0


def test_a_file_that_cannot_be_read_is_not_called_a_bad_image(tmp_path, capsys, monkeypatch):
    """A file the system refuses (no read permission, a link that loops) was 'not a readable image
    (OSError: [Errno 40] ...); give a PNG/JPEG', and an empty one 'cannot identify image file': the
    fix is the file's permissions or link, or a complete copy, not another format."""
    (tmp_path / "loop.png").symlink_to(tmp_path / "loop.png")
    (tmp_path / "empty.png").write_bytes(b"")
    Image.new("L", (28, 28)).save(tmp_path / "locked.png")
    made_run(tmp_path / "run")
    run = str(tmp_path / "run")
    line = one_error(capsys, [run, str(tmp_path / "loop.png")])
    assert line == (f"error: {tmp_path / 'loop.png'}: cannot be read (Too many levels of symbolic links); "
                    "check the file or the link, or give another image"), line
    line = one_error(capsys, [run, str(tmp_path / "empty.png")])
    assert line.startswith(f"error: {tmp_path / 'empty.png'}: empty file (0 bytes"), line
    opened = Image.open

    def refused(fp, *args, **kw):  # chmod 000 does not stop root, who runs CI
        if str(fp).endswith("locked.png"):
            raise PermissionError(13, "Permission denied", str(fp))
        return opened(fp, *args, **kw)

    monkeypatch.setattr(Image, "open", refused)
    line = one_error(capsys, [run, str(tmp_path / "locked.png")])
    assert line.endswith("locked.png: cannot be read (Permission denied); make it readable (chmod u+r), "
                         "or give another image"), line


def test_a_newline_in_an_image_name_stays_on_its_line(tmp_path, capsys):
    """A name with a newline split its result over two lines (a script reading one line per image
    read 'line.png: 3 (p=...)' as a second image); it is written as \\n, as in error lines."""
    a = np.zeros((28, 28), np.uint8)
    a[4:24, 12:16] = 255
    Image.fromarray(a).save(tmp_path / "new\nline.png")
    Image.fromarray(a).save(tmp_path / "tab\there ü.png")
    made_run(tmp_path / "run")
    assert predict.main([str(tmp_path / "run"), str(tmp_path / "new\nline.png"), str(tmp_path / "tab\there ü.png")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"{tmp_path}/new\\nline.png: "), lines
    assert lines[1].startswith(f"{tmp_path}/tab\\there ü.png: "), lines


def test_a_run_file_that_is_no_file_is_named_as_such(tmp_path, capsys):
    """model.pt or .hydra/config.yaml as a directory or a link that loops or dangles was 'no model.pt
    (the run did not finish ...)' or 'no .hydra/config.yaml, not a run dir': it is there, and broken."""
    for name, make, says in [
        ("model.pt", lambda f: f.mkdir(), "model.pt: a directory, not a file"),
        ("model.pt", lambda f: f.symlink_to(f), "model.pt: a link that loops"),
        ("model.pt", lambda f: f.symlink_to(f.parent / "gone.pt"), "model.pt: a link to "),
        (".hydra/config.yaml", lambda f: f.mkdir(), "config.yaml: a directory, not a file"),
    ]:
        d = tmp_path / f"run{len(list(tmp_path.iterdir()))}"
        made_run(d)
        (d / name).unlink()
        make(d / name)
        line = one_error(capsys, [str(d), "--test"])
        assert f"{d}/" in line and says in line and "restore the file the run wrote" in line, line


def test_weights_that_are_not_a_state_dict_or_not_finite_are_one_line(tmp_path, capsys):
    """A whole pickled model (torch.save(model)) was 'damaged (truncated?) or not a PyTorch checkpoint
    (Weights only load failed)'; NaN weights (a diverged run) predicted 'p=nan' with exit 0."""
    d = tmp_path / "run"
    state = made_run(d)
    torch.save(torch.nn.Linear(2, 2), d / "model.pt")
    line = one_error(capsys, [str(d), "--test"])
    assert "model.pt: holds a pickled Python object (torch.nn.modules.linear.Linear)" in line, line
    assert "damaged" not in line and "state_dict()" in line, line
    first = next(k for k, v in state.items() if v.is_floating_point())
    torch.save({**state, first: state[first] * float("nan")}, d / "model.pt")
    line = one_error(capsys, [str(d), "--test"])
    assert f"model.pt: NaN or infinite weights in {first} (the training diverged?)" in line, line


def test_a_camera_jpeg_with_previews_is_read_as_its_photo(tmp_path):
    """Many cameras and phones write a JPEG as MPO: the photo, then previews (or a depth map) as more
    frames. It was refused as 'has 2 frames (an animation or a multi-page file)'; the photo is read."""
    a = np.zeros((28, 28, 3), np.uint8)
    a[4:24, 12:16] = 255
    photo = Image.fromarray(a)
    photo.save(tmp_path / "camera.jpg", format="MPO", save_all=True, append_images=[photo.resize((14, 14))])
    photo.save(tmp_path / "plain.jpg")
    assert Image.open(tmp_path / "camera.jpg").n_frames == 2
    got = predict.load_image(tmp_path / "camera.jpg")
    assert got.size == (28, 28) and torch.equal(got.x, predict.load_image(tmp_path / "plain.jpg").x)


def test_a_dash_reads_the_image_from_stdin(tmp_path, capsys, monkeypatch):
    """'-' was 'no such image file'; piped bytes are read as the image file would be, and an empty
    pipe or a pattern no file matches is one line saying which."""
    import io

    a = np.zeros((28, 28), np.uint8)
    a[4:24, 12:16] = 255
    Image.fromarray(a).save(tmp_path / "digit.png")
    made_run(tmp_path / "run")
    run = str(tmp_path / "run")
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO((tmp_path / "digit.png").read_bytes())))
    assert predict.main([run, "-", str(tmp_path / "digit.png")]) == 0
    piped, read = capsys.readouterr().out.splitlines()
    assert piped.startswith("-: ") and piped[3:] == read.split(": ", 1)[1], (piped, read)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO((tmp_path / "digit.png").read_bytes())))
    assert one_error(capsys, [run, "-", "-"]) == ("error: -: given 2 times; standard input holds one image: give - once "
                                                  "(see python -m mnist_sweep.predict --help)")  # 'nothing on stdin'
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"")))
    assert one_error(capsys, [run, "-"]) == "error: -: nothing on stdin (0 bytes); give a PNG/JPEG of one digit"
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"hello")))
    assert "-: not a readable image (UnidentifiedImageError: cannot identify image file stdin)" in one_error(capsys, [run, "-"])
    line = one_error(capsys, [run, str(tmp_path / "*.jpeg")])
    assert line.endswith("*.jpeg: no such image file; a pattern no file matches (check it, or leave it unquoted for the shell)")
    line = one_error(capsys, [run, str(tmp_path / "*.png")])  # quoted, so the shell left it: it matches a file
    assert line.endswith(f"*.png: no such image file; a pattern the shell did not expand (quoted?), matching 1 file "
                         f"({tmp_path / 'digit.png'}); leave it unquoted for the shell"), line


def test_a_photo_of_a_digit_on_gray_paper_reads_as_mnist(tmp_path):
    """A dark digit on gray paper (background 200) was inverted to a background of 55, not MNIST's
    black, and on dim paper (background 120: under half of 255) was not inverted at all; a trained
    net got 59% and 6% of 300 test digits so photographed (100% of them as MNIST's own 99%). The
    background is now made black and the strokes stretched to 255, an MNIST-like image left alone."""
    a = np.zeros((28, 28), np.float32)
    a[4:24, 12:16], a[4:8, 9:13] = 255, 200
    Image.fromarray(a.astype(np.uint8)).save(tmp_path / "mnist.png")
    want = predict.load_image(tmp_path / "mnist.png").x
    for name, photo, inverted in [("paper", 200 - 0.7 * a, True), ("dim", 120 - 0.35 * a, True),
                                  ("faint", 40 + 0.5 * a, False)]:
        Image.fromarray(np.rint(photo).astype(np.uint8)).save(tmp_path / f"{name}.png")
        got = predict.load_image(tmp_path / f"{name}.png")
        assert got.inverted is inverted and float((got.x - want).abs().max()) * 0.3081 < 0.02, name
    forced = predict.load_image(tmp_path / "paper.png", "no")  # not inverted: a light background is left as it is
    assert not forced.inverted and float(forced.x.min()) * 0.3081 + 0.1307 > 0.05


def test_a_run_from_before_a_model_key_existed_loads_as_train_takes_it(tmp_path):
    """A saved config without model.block (a run from before blocks had kinds) validated, since the
    schema has its default, but the net was built from the raw section: 'model.block: missing'.
    The net is built from the validated spec, as train builds it."""
    from mnist_sweep import checkpoint

    d = tmp_path / "run"
    state = made_run(d)
    config = d / ".hydra" / "config.yaml"
    text = config.read_text()
    assert "\n  block: plain\n" in text
    config.write_text(text.replace("\n  block: plain\n", "\n"))
    run = checkpoint.load(d)
    assert all(torch.equal(run.model.state_dict()[k], v) for k, v in state.items())


def test_a_flag_among_the_images_is_read_as_a_flag(tmp_path, capsys):
    """'RUN --invert no a.png b.png' or 'RUN a.png --test b.png' was 'unrecognized arguments: b.png':
    argparse ends a nargs='*' positional at the first flag; intermixed parsing reads them all."""
    a = np.zeros((28, 28), np.uint8)
    a[4:24, 12:16] = 255
    for name in ("a.png", "b.png"):
        Image.fromarray(a).save(tmp_path / name)
    made_run(tmp_path / "run")
    assert predict.main([str(tmp_path / "run"), str(tmp_path / "a.png"), "--invert", "no", str(tmp_path / "b.png")]) == 0
    assert [line.split(":")[0] for line in capsys.readouterr().out.splitlines()] == [str(tmp_path / "a.png"),
                                                                                      str(tmp_path / "b.png")]
    assert exit_code(predict.main, [str(tmp_path / "run"), "--invert", "no", ""]) == 2  # the flags' checks still run
    assert capsys.readouterr().err.startswith("error: images: must be image files, got ''")


def test_a_model_pt_that_is_text_empty_or_unreadable_says_which(tmp_path, capsys, monkeypatch):
    """torch's words for a text file were a KeyError's '101' ('... not a PyTorch checkpoint (101)'),
    for an empty one 'EOFError'; a file the system refused was told to be damaged."""
    d = tmp_path / "run"
    made_run(d)
    (d / "model.pt").write_text("hello, not weights")
    line = one_error(capsys, [str(d), "--test"])
    assert "model.pt: not a PyTorch checkpoint (it begins b'hello, not weigh')" in line, line
    (d / "model.pt").write_bytes(b"")
    assert "model.pt: empty file (0 bytes, cut off while copied?), not a PyTorch checkpoint" in one_error(capsys, [str(d), "--test"])

    def refused(path, *args, **kw):  # noqa: ANN001, ANN202 - chmod 000 does not stop root, who runs CI
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(torch, "load", refused)
    line = one_error(capsys, [str(d), "--test"])
    assert line.endswith("model.pt: cannot be read (Permission denied); make it readable (chmod u+r)"), line


def test_a_gray_background_made_black_is_said(tmp_path, capsys):
    """The line says the background was made black, as it says an image was inverted."""
    a = np.zeros((28, 28), np.float32)
    a[4:24, 12:16] = 255
    Image.fromarray(np.rint(120 - 0.35 * a).astype(np.uint8)).save(tmp_path / "dim.png")
    Image.fromarray(a.astype(np.uint8)).save(tmp_path / "mnist.png")
    made_run(tmp_path / "run")
    assert predict.main([str(tmp_path / "run"), str(tmp_path / "dim.png"), str(tmp_path / "mnist.png")]) == 0
    dim, mnist = capsys.readouterr().out.splitlines()
    assert dim.endswith("[inverted: light background, gray background (120/255) made black]"), dim
    assert "[" not in mnist, mnist


def test_a_dir_of_runs_names_the_runs_in_it(tmp_path, capsys):
    """A dir holding runs (confirm's seeds, a Hydra multirun without a leaderboard) was 'no
    .hydra/config.yaml, not a run or trial dir': it names the runs to pick from."""
    for i in range(4):
        made_run(tmp_path / "runs" / str(i))
    line = one_error(capsys, [str(tmp_path / "runs"), "--test"])
    runs = tmp_path / "runs"
    assert line == f"error: {runs}: holds 4 run dirs, is none itself; give one of them: {runs}/0, {runs}/1, {runs}/2, ...", line
    made_run(tmp_path / "confirmed" / "trial_0003" / "seed_1")  # confirm's --out: CONFIG/seed_N, two levels down
    line = one_error(capsys, [str(tmp_path / "confirmed"), "--test"])
    assert line == f"error: {tmp_path / 'confirmed'}: holds 1 run dir, is none itself; give it: " \
                   f"{tmp_path / 'confirmed' / 'trial_0003' / 'seed_1'}", line


def test_an_array_file_says_to_save_a_digit_as_an_image(tmp_path, capsys):
    """A .npy or MNIST's own IDX file was 'not a readable image (UnidentifiedImageError: cannot
    identify image file ...); give a PNG/JPEG': it says what the file is and how to make an image."""
    np.save(tmp_path / "digit.npy", np.zeros((28, 28), np.uint8))
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03" + bytes(12))
    made_run(tmp_path / "run")
    for name in ("digit.npy", "t10k-images-idx3-ubyte"):
        line = one_error(capsys, [str(tmp_path / "run"), str(tmp_path / name)])
        assert line.startswith(f"error: {tmp_path / name}: an array file (NumPy or IDX), not an image; ") \
            and "Image.fromarray" in line, line


def test_a_path_inside_a_run_dir_names_the_run_dir(tmp_path, capsys):
    """RUN/.hydra --test (or RUN/.hydra/config.yaml, RUN/metrics.csv) said 'no .hydra/config.yaml, not
    a run or trial dir', naming no run dir, as RUN/model.pt already did."""
    run = tmp_path / "run"
    made_run(run)
    (run / "metrics.csv").write_text("epoch\n1\n")
    for inside in (".hydra", ".hydra/config.yaml", "metrics.csv", "model.pt"):
        line = one_error(capsys, [str(run / inside), "--test"])
        assert line.endswith(f"in a run dir, not a run dir (the first argument); give the run dir it is in, {run}"), line


def test_an_interrupt_says_nothing_was_written(tmp_path, capsys, monkeypatch):
    """Ctrl-C printed a bare 'interrupted', as the commands that write did: predict only reads, and says so."""
    made_run(tmp_path / "run")

    def interrupted(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202, ARG001
        raise KeyboardInterrupt

    monkeypatch.setattr(predict, "test_accuracy", interrupted)
    assert predict.main([str(tmp_path / "run"), "--test"]) == 130
    assert capsys.readouterr().err == "interrupted: nothing written (predict only reads); run it again\n"
