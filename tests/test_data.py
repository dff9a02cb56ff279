"""data: each trial's tensors (split, limits, normalization) from the process's verified arrays,
batched augmentation and TrainBatches. The raw files themselves: tests/test_mnist_files.py."""
from __future__ import annotations

import shutil

import pytest
import torch

from mnist_sweep import data, mnist_files
from mnist_sweep.errors import DataError

ROOT = data.default_root()
CPU = torch.device("cpu")


def test_shapes_and_labels():
    s = data.load(ROOT, val_size=5000, train_limit=None, split_seed=0, device=CPU)
    assert s.x_train.shape == (55_000, 1, 28, 28) and s.x_train.dtype == torch.uint8
    assert s.x_val.shape == (5000, 1, 28, 28) and s.x_val.dtype == torch.float32
    assert s.x_test.shape == (10_000, 1, 28, 28)
    assert sorted(s.y_test.unique().tolist()) == list(range(10))
    assert abs(s.x_test.mean().item()) < 0.1  # normalized


def test_normalization_is_pixels_over_255_then_mean_std():
    x = torch.tensor([0, 255, 51], dtype=torch.uint8)
    assert torch.allclose(data.normalize(x), (torch.tensor([0.0, 1.0, 0.2]) - data.MEAN) / data.STD)
    _, _, raw_test, _ = mnist_files.arrays(ROOT)
    assert abs(float(raw_test.float().div(data.PIXEL_SCALE).mean()) - data.MEAN) < 0.005  # MNIST's own statistics
    assert abs(float(raw_test.float().div(data.PIXEL_SCALE).std()) - data.STD) < 0.005


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


def test_second_load_in_a_process_reads_and_hashes_nothing(monkeypatch):
    """Trials of one worker process share one read and one verification of the files; each gets
    its own tensors, equal to a fresh load's, and what a trial does to them stays its own."""
    reads, hashes = [], []
    read_file, digest = mnist_files.read_file, mnist_files.digest
    monkeypatch.setattr(mnist_files, "read_file", lambda path: reads.append(path) or read_file(path))
    monkeypatch.setattr(mnist_files, "digest", lambda raw: hashes.append(1) or digest(raw))
    kw = {"val_size": 100, "train_limit": 200, "split_seed": 0, "device": CPU, "test_limit": 50}
    mnist_files.clear_cache()
    a = data.load(ROOT, **kw)
    assert len(reads) == 4 and len(hashes) == 4
    b = data.load(ROOT, **kw)
    assert len(reads) == 4 and len(hashes) == 4  # neither read nor hashed again
    fields = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")
    assert all(torch.equal(getattr(a, f), getattr(b, f)) for f in fields)
    for f in fields:  # a trial scribbling over its tensors ...
        getattr(b, f).add_(1)
    c = data.load(ROOT, **kw)
    assert all(torch.equal(getattr(a, f), getattr(c, f)) for f in fields)  # ... leaves the next one untouched
    other = data.load(ROOT, **{**kw, "split_seed": 1, "train_limit": None, "test_limit": None})
    assert len(hashes) == 4 and len(other.y_train) == 59_900 and len(other.y_test) == 10_000  # own split and limits


def test_load_refuses_a_corrupt_file(tmp_path):
    raw = mnist_files.raw_dir(tmp_path)
    raw.mkdir(parents=True)
    for name in mnist_files.SHA256:
        shutil.copy(mnist_files.raw_dir(ROOT) / name, raw / name)
    (raw / "t10k-images-idx3-ubyte").write_bytes((raw / "t10k-images-idx3-ubyte").read_bytes()[:1000])
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte: SHA-256 mismatch"):
        data.load(tmp_path, val_size=10, train_limit=10, split_seed=0, device=CPU)


def test_augment_is_batched_seeded_and_offable():
    s = data.load(ROOT, val_size=0, train_limit=64, split_seed=0, device=CPU)
    x = s.x_train.float() / 255
    kw = {"rotate_deg": 10.0, "translate": 0.1, "scale": 0.1}
    a = data.augment(x, torch.Generator().manual_seed(0), **kw)
    b = data.augment(x, torch.Generator().manual_seed(0), **kw)
    c = data.augment(x, torch.Generator().manual_seed(1), **kw)
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, c)
    assert not torch.allclose(a, x)
    per_sample = (a - x).abs().flatten(1).sum(1)
    assert (per_sample > 0).all()  # every sample moved, each by its own draw
    assert per_sample.std() > 0
    assert torch.equal(data.augment(x, torch.Generator(), rotate_deg=0, translate=0, scale=0), x)


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


def test_file_layer_names_stay_importable_from_data():
    """train, bench/ and scripts use these through ``mnist_sweep.data``."""
    for name in ("default_root", "raw_dir", "verify", "fetch", "arrays", "read_idx", "SHA256", "FIX", "main"):
        assert hasattr(data, name), name
    assert data.arrays is mnist_files.arrays and data.default_root is mnist_files.default_root


def test_a_validation_set_that_leaves_under_two_training_images_names_data_val_size(tmp_path):
    """data.val_size=59999 leaves one training image: the line named data.batch_size with the
    impossible range [2, 1]."""
    from conftest import TINY, assert_one_line_error, run

    args = [a for a in TINY if not a.startswith("data.train_limit=")]
    proc = run(["mnist_sweep.train", *args, "data.val_size=59999", f"hydra.run.dir={tmp_path}/run"], cwd=tmp_path)
    assert_one_line_error(proc, "data.val_size: must be in [0, 59998] (two training images at least), got 59999")
    assert list(tmp_path.iterdir()) == []
