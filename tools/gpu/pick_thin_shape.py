#!/usr/bin/env python3
"""Picks a thin-decoder shape from `vidserve-bench vae` runs of untrained candidates.

Usage: pick_thin_shape.py MIN_SPEEDUP "FLAGS=bench.json" ...

Each argument pairs the vidserve-train flags of one shape with the bench JSON measured on
a checkpoint of that shape. The speed-up read is the thin decoder's against the full one,
17x64x64 x THIN_PICK_BATCH (default 8), through CUDA graphs in float32 (the row the model
card reports): the whole Decode call's ("thin_speedup"), or THIN_PICK_METRIC's (e.g.
"thin_network_speedup", the decoder networks alone). Prints the flags of the first shape,
in the order given (the caller's preference: e.g. the one that keeps most of a trained thin
decoder first), that is at least MIN_SPEEDUP faster, else of the fastest one (with
THIN_PICK_STRICT=1: none, and exits 1); a table of every candidate goes to stderr.
"""
import json
import os
import sys

BATCH = int(os.environ.get("THIN_PICK_BATCH", "8"))
METRIC = os.environ.get("THIN_PICK_METRIC", "thin_speedup")
STRICT = os.environ.get("THIN_PICK_STRICT", "0") == "1"


def graph_float32_speedup(results, clip="17x64x64", batch=BATCH):
    for row in results:
        if (row.get("clip") == clip and row.get("batch") == batch
                and row.get("decode_mode") == "cuda_graph"
                and row.get("decode_precision") == "float32"
                and not row.get("decode_channels_last") and not row.get("decode_conv2d")):
            return row[METRIC]
    return None


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    min_speedup = float(argv[1])
    candidates = []
    for arg in argv[2:]:
        flags, _, path = arg.rpartition("=")
        try:
            with open(path) as f:
                bench = json.load(f)
        except (OSError, ValueError) as e:
            print(f"{flags}: no bench result ({e})", file=sys.stderr)
            continue
        speedup = graph_float32_speedup(bench.get("results", []))
        if speedup is None:
            print(f"{flags}: no 17x64x64 x {BATCH} cuda_graph float32 row", file=sys.stderr)
            continue
        params = bench.get("thin_decoder_parameters", 0)
        candidates.append((flags, speedup, params))
        print(f"{flags}: thin speed-up {speedup:.2f}x, {params} parameters", file=sys.stderr)
    if not candidates:
        sys.exit("no candidate was measured")
    fast_enough = [c for c in candidates if c[1] >= min_speedup]
    if STRICT and not fast_enough:
        sys.exit(f"no candidate is {min_speedup}x faster ({METRIC}, batch {BATCH})")
    pick = fast_enough[0] if fast_enough else max(candidates, key=lambda c: c[1])
    print(pick[0])


if __name__ == "__main__":
    main(sys.argv)
