from __future__ import annotations

import os
import shutil

import pytest
import torch

from mnist_sweep import data
from mnist_sweep.errors import DataError

ROOT = data.default_root()


@pytest.fixture
def copy_root(tmp_path):
    """A copy of the real data root that a test may damage."""
    dst = data.raw_dir(tmp_path)
    dst.mkdir(parents=True)
    for name in data.SHA256:
        shutil.copy(data.raw_dir(ROOT) / name, dst / name)
    return tmp_path


def test_real_files_pass_their_checksums():
    data.verify(ROOT)
    assert data.fetch(ROOT) == "present"  # idempotent: nothing to do on a second call


def test_shapes_and_labels():
    s = data.load(ROOT, val_size=5000, train_limit=None, split_seed=0, device=torch.device("cpu"))
    assert s.x_train.shape == (55_000, 1, 28, 28) and s.x_train.dtype == torch.uint8
    assert s.x_val.shape == (5000, 1, 28, 28) and s.x_val.dtype == torch.float32
    assert s.x_test.shape == (10_000, 1, 28, 28)
    assert sorted(s.y_test.unique().tolist()) == list(range(10))
    assert abs(s.x_test.mean().item()) < 0.1  # normalized


def test_split_is_disjoint_seeded_and_limited():
    tr, va = data.split_indices(60_000, 5000, None, seed=0)
    assert len(tr) == 55_000 and len(va) == 5000
    assert not set(tr.tolist()) & set(va.tolist())
    tr2, va2 = data.split_indices(60_000, 5000, None, seed=0)
    assert torch.equal(va, va2) and torch.equal(tr, tr2)
    _, va3 = data.split_indices(60_000, 5000, None, seed=1)
    assert not torch.equal(va, va3)
    small, va4 = data.split_indices(60_000, 5000, 1000, seed=0)
    assert len(small) == 1000 and torch.equal(va4, va)  # the limit never changes the validation set
    assert set(small.tolist()) <= set(tr.tolist())


@pytest.mark.parametrize("damage, message", [
    ("truncate", "SHA-256 mismatch"),
    ("flip", "SHA-256 mismatch"),
    ("delete", "missing"),
    ("unreadable", "unreadable"),
])
def test_bad_file_names_the_file(copy_root, damage, message):
    path = data.raw_dir(copy_root) / "t10k-labels-idx1-ubyte"
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:100])
    elif damage == "flip":
        raw = bytearray(path.read_bytes())
        raw[-1] ^= 0xFF
        path.write_bytes(bytes(raw))
    elif damage == "delete":
        path.unlink()
    else:
        path.unlink()
        path.mkdir()  # reading a directory fails even as root
    with pytest.raises(DataError) as e:
        data.verify(copy_root)
    text = str(e.value)
    assert str(path) in text and message in text and "make data" in text
    assert "\n" not in text


def test_load_refuses_a_corrupt_file(copy_root):
    path = data.raw_dir(copy_root) / "train-images-idx3-ubyte"
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)
    with pytest.raises(DataError, match="train-images-idx3-ubyte"):
        data.load(copy_root, val_size=10, train_limit=10, split_seed=0, device=torch.device("cpu"))


def test_load_reads_once_per_process_and_again_when_a_file_changes(copy_root):
    """A sweep process trains many trials: MNIST is read and verified once, unless a file changed."""
    kw = dict(val_size=10, train_limit=10, split_seed=0, device=torch.device("cpu"))
    data._read.cache_clear()
    a = data.load(copy_root, **kw)
    b = data.load(copy_root, **kw)
    assert data._read.cache_info().hits == 1 and torch.equal(a.x_train, b.x_train)
    b.y_test[0] += 1  # a trial's tensors are its own: the cached ones stay as read
    assert torch.equal(data.load(copy_root, **kw).y_test, a.y_test)
    path = data.raw_dir(copy_root) / "t10k-labels-idx1-ubyte"
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte: SHA-256 mismatch"):
        data.load(copy_root, **kw)


def test_idx_reader_equals_torchvisions_mnist_and_checks_the_header(tmp_path):
    from torchvision.datasets import MNIST

    x, y, x_test, y_test = data.arrays(ROOT)
    for train, (images, labels) in ((True, (x, y)), (False, (x_test, y_test))):
        tv = MNIST(str(ROOT), train=train, download=False)
        assert torch.equal(images, tv.data.unsqueeze(1)) and torch.equal(labels, tv.targets)
    good = tmp_path / "ok-idx1-ubyte"
    good.write_bytes(bytes([0, 0, 8, 2]) + (2).to_bytes(4, "big") + (3).to_bytes(4, "big") + bytes(range(6)))
    assert data.read_idx(good).tolist() == [[0, 1, 2], [3, 4, 5]]
    for name, raw in [("short", bytes([0, 0, 8, 1]) + (5).to_bytes(4, "big") + bytes(4)),
                      ("float", bytes([0, 0, 0x0D, 1]) + (1).to_bytes(4, "big") + bytes(4)),
                      ("empty", b"")]:
        bad = tmp_path / name
        bad.write_bytes(raw)
        with pytest.raises(DataError, match=f"{name}: not an unsigned-byte IDX file"):
            data.read_idx(bad)


def test_augment_is_batched_seeded_and_offable():
    s = data.load(ROOT, val_size=0, train_limit=64, split_seed=0, device=torch.device("cpu"))
    x = s.x_train.float() / 255
    kw = dict(rotate_deg=10.0, translate=0.1, scale=0.1)
    a = data.augment(x, torch.Generator().manual_seed(0), **kw)
    b = data.augment(x, torch.Generator().manual_seed(0), **kw)
    c = data.augment(x, torch.Generator().manual_seed(1), **kw)
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, c)
    assert not torch.allclose(a, x)
    per_sample = (a - x).abs().flatten(1).sum(1)
    assert (per_sample > 0).all()  # every sample moved, each by its own draw
    assert per_sample.std() > 0
    assert torch.equal(data.augment(x, torch.Generator(), rotate_deg=0, translate=0, scale=0), x)


@pytest.mark.parametrize("damage, message", [("missing_dir", "missing"), ("truncate", "SHA-256 mismatch")])
def test_data_cli_bad_root_one_line(copy_root, damage, message):
    """The missing dir as a subprocess (the entry point's one), the truncated file in-process."""
    from conftest import assert_one_line_error, run, run_inproc

    root = copy_root / "nowhere" if damage == "missing_dir" else copy_root
    path = data.raw_dir(copy_root) / "train-labels-idx1-ubyte"
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:50])
    proc = run(["mnist_sweep.data", "verify", "--root", str(root)], cwd=copy_root, process=damage == "missing_dir")
    assert_one_line_error(proc, message, "make data")
    assert proc.returncode == 2


@pytest.mark.parametrize("argv, needle", [(["verify", "--root", ""], "--root"), (["wipe"], "invalid choice")])
def test_data_cli_bad_flags_one_line(tmp_path, argv, needle):
    from conftest import assert_one_line_error, run_inproc

    assert_one_line_error(run_inproc(["mnist_sweep.data", *argv], cwd=tmp_path), needle)
    assert list(tmp_path.iterdir()) == []


def test_train_batches_cover_the_epoch_once_shuffled_and_seeded():
    x = torch.arange(130, dtype=torch.uint8).view(130, 1, 1, 1).expand(130, 1, 28, 28).contiguous()
    y = torch.arange(130)
    batches = data.TrainBatches(x, y, 64, torch.Generator().manual_seed(0), memory_format=torch.channels_last)
    assert len(batches) == 3  # 64 + 64 + 2
    seen = [yb for _, yb in batches]
    assert sorted(torch.cat(seen).tolist()) == list(range(130)) and torch.cat(seen).tolist() != list(range(130))
    xb, yb = next(iter(batches))
    assert xb.is_contiguous(memory_format=torch.channels_last) and xb.dtype == torch.float32
    assert torch.allclose(xb[:, 0, 0, 0], data.normalize(yb.to(torch.uint8).view(-1, 1, 1, 1))[:, 0, 0, 0])
    again = data.TrainBatches(x, y, 64, torch.Generator().manual_seed(0))
    assert [b.tolist() for _, b in again] == [b.tolist() for b in seen]  # same seed, same batches
