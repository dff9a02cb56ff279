"""What trainer.precision=auto decides for an experiment, measured N times, each with a fresh cache.

    .venv/bin/python bench/precision_auto.py tiny 4      # prints: name, decision, speed-up, images/s
"""
import glob
import json
import os
import sys
import tempfile

from hydra import compose, initialize_config_dir

from mnist_sweep import PROJECT_ROOT, training
from mnist_sweep.config.settings import validate

name = sys.argv[1]
for i in range(int(sys.argv[2])):
    d = tempfile.mkdtemp(prefix="prec_")
    os.environ["MNIST_SWEEP_CACHE"] = d
    with initialize_config_dir(version_base="1.3", config_dir=str(PROJECT_ROOT / "conf")):
        cfg = compose("config", overrides=[f"+experiment={name}", "trainer.precision=auto", "trainer.progress=false"])
    training.setup(validate(cfg), 0)
    (p,) = glob.glob(f"{d}/precision-*.json")
    r = json.load(open(p))
    print(name, r["precision"], r["speedup"], r["images_per_s"], flush=True)
