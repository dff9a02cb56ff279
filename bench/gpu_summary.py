"""summary.md of a bench/gpu_check.sh run: its phases, the CUDA tests' result, the epoch and sweep tables.

    python bench/gpu_summary.py OUT_DIR PHASES_FILE
"""
from __future__ import annotations

import csv
import re
import sys
from pathlib import Path


def table(rows: list[dict], cols: list[str]) -> str:
    if not rows:
        return "(none)\n"
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r.get(c, "")) for c in cols) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def read_csv(path: Path) -> list[dict]:
    return list(csv.DictReader(path.open())) if path.exists() and path.stat().st_size else []


def pytest_line(path: Path) -> str:
    """pytest's closing line (e.g. '7 passed in 41.2s'), or why there is none."""
    if not path.exists():
        return "not run"
    found = [l.strip("= \n") for l in path.read_text(errors="replace").splitlines()
             if re.search(r"\b(passed|failed|skipped|error|errors|deselected|no tests ran)\b", l) and " in " in l]
    return found[-1] if found else "no summary line (cut short?)"


def main(out_dir: str, phases_file: str) -> int:
    out = Path(out_dir)
    phases = [dict(zip(("phase", "exit", "seconds", "note"), l.split("|", 3))) for l in
              Path(phases_file).read_text().splitlines() if l.strip()] if Path(phases_file).exists() else []
    env = (out / "env.txt").read_text().strip() if (out / "env.txt").exists() else "(no env.txt)"
    epoch = read_csv(out / "epoch.csv")
    sweeps = read_csv(out / "sweeps.csv")
    failed = [p["phase"] for p in phases if p["exit"] not in ("0", "skipped")]
    skipped = [f"{p['phase']} ({p['note']})" for p in phases if p["exit"] == "skipped"]
    verdict = f"failed or cut short: {', '.join(failed)}" if failed or not phases else "all phases passed"
    if skipped:
        verdict += f"; skipped: {', '.join(skipped)}"
    text = [
        "# GPU check", "",
        f"Overall: **{verdict}**", "",
        "## Machine", "", "```", env, "```", "",
        "## Phases", "", table(phases, ["phase", "exit", "seconds", "note"]),
        "## CUDA tests (pytest -m cuda)", "", pytest_line(out / "cuda_tests.txt"), "",
        "## The host's CPU: seconds per epoch in each precision (bench/cpu_epoch.py, runs side by side)", "",
        table(read_csv(out / "cpu_epoch.csv"), ["status", "cpu", "amx", "cores", "experiment", "requested", "precision",
                                                "epochs", "epoch_s", "train_s", "images_per_s", "first_epoch_s"]),
        "## Seconds per epoch (train_epoch + evaluate on val and test; median of the timed epochs)", "",
        table(epoch, ["status", "model", "device_name", "batch_size", "channels_last", "bf16", "compile", "cudnn_benchmark",
                      "train_images", "epoch_s", "train_s", "eval_s", "images_per_s", "first_epoch_s", "val_acc",
                      "peak_mem_mib"]),
        "## Sweep trials at once on one device", "",
        table(sweeps, ["status", "workers", "trials", "complete", "failed", "wall_s", "trials_per_min", "mean_trial_s",
                       "gpu_util_mean_pct", "gpu_mem_peak_mib", "first_error"]),
    ]
    (out / "summary.md").write_text("\n".join(text))
    print("\n".join(text[text.index("## Phases"):]))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
