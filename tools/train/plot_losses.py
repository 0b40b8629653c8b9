#!/usr/bin/python3
"""Plots vidserve-train loss curves (losses.csv of one or more run directories) into a PNG.

    tools/train/plot_losses.py OUT.png RUN[:LABEL] [RUN[:LABEL] ...]

RUN is a run directory (its losses.csv is read) or a losses CSV file itself (the copies
kept under benchmarks/, e.g. benchmarks/2026-11-28/h200-continuation/den-c17-losses.csv).

Runs that continue one another (a stage re-started from the previous run's export) are
drawn end to end when their labels share a prefix before '+', e.g. den:denoiser+1
den2:denoiser+2. Needs python3-matplotlib (a development-time tool, not a server dependency).
"""
import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read(run):
    path = run if run.endswith(".csv") else os.path.join(run, "losses.csv")
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return [int(r["step"]) for r in rows], rows


def main(argv):
    if len(argv) < 3:
        print(__doc__)
        return 2
    out, runs = argv[1], argv[2:]
    panels = {}
    for spec in runs:
        run_dir, _, label = spec.partition(":")
        label = label or os.path.basename(run_dir.rstrip("/"))
        panels.setdefault(label.split("+")[0], []).append((label, run_dir))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4), squeeze=False)
    for ax, (panel, parts) in zip(axes[0], panels.items()):
        offset = 0
        twin = None  # one PSNR axis per panel, shared by its runs
        for label, run_dir in parts:
            steps, rows = read(run_dir)
            xs = [offset + s for s in steps]
            ax.plot(xs, [float(r["loss"]) for r in rows], label=f"{label} loss")
            if rows and "psnr_db" in rows[0]:
                if twin is None:
                    twin = ax.twinx()
                    twin.set_ylabel("train-batch PSNR (dB)", color="tab:green")
                twin.plot(xs, [float(r["psnr_db"]) for r in rows], color="tab:green", alpha=0.5)
            offset = xs[-1] if xs else offset
        ax.set_title(panel)
        ax.set_xlabel("optimiser step")
        ax.set_ylabel("loss")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
        if len(parts) > 1:
            ax.legend(fontsize=6, ncol=2 if len(parts) > 8 else 1)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
