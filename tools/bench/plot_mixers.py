#!/usr/bin/env python3
"""Plots `vidserve-bench mixers --json` results: time and peak memory vs sequence length,
log-log, one line per mixer, one panel pair per input file (e.g. CPU fp32 and H100 bf16).

    python3 tools/bench/plot_mixers.py cpu.json h100.json --out docs/mixers-scaling.png

Needs matplotlib (Debian: python3-matplotlib); only for regenerating the figure.
"""
import argparse
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLORS = {"softmax": "tab:red", "loglinear": "tab:blue", "mesa": "tab:green"}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("inputs", nargs="+", help="JSON files written by vidserve-bench mixers")
    parser.add_argument("--out", required=True, help="PNG to write")
    args = parser.parse_args()

    runs = [json.load(open(path)) for path in args.inputs]
    fig, axes = plt.subplots(2, len(runs), figsize=(6 * len(runs), 8), squeeze=False)
    for column, run in enumerate(runs):
        title = f"{run.get('machine', run['device'])} {run['dtype']}, B={run['batch']} H={run['heads']} Dh={run['head_dim']}"
        for mixer in ("softmax", "loglinear", "mesa"):
            rows = [r for r in run["results"] if r["mixer"] == mixer and r.get("ran")]
            if not rows:
                continue
            seq = [r["seq"] for r in rows]
            axes[0][column].plot(seq, [r["median_ms"] for r in rows], "o-", color=COLORS[mixer], label=mixer)
            mem = [(r["seq"], r["peak_bytes"] / 2**20) for r in rows if r.get("peak_bytes")]
            if mem:
                axes[1][column].plot(*zip(*mem), "o-", color=COLORS[mixer], label=mixer)
        for row, ylabel in ((0, "median time (ms)"), (1, "peak memory (MiB)")):
            ax = axes[row][column]
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xlabel("sequence length T")
            ax.set_ylabel(ylabel)
            ax.grid(True, which="both", alpha=0.3)
            ax.legend()
        axes[0][column].set_title(title, fontsize=10)
    fig.suptitle(f"vidserve-bench mixers ({runs[0].get('date_utc', '')[:10]})")
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)


if __name__ == "__main__":
    main()
