#!/usr/bin/python3
"""Pools `vidserve-bench quality --json` runs over several held-out sets, pairing two
checkpoints clip by clip (same held-out seed and prompt), with an exact McNemar test.

    tools/bench/pool_quality.py NAME=A.json#I,B.json#J [NAME=...]

Each argument is one held-out set: checkpoint I of A.json (the candidate) against
checkpoint J of B.json (the baseline); the two may come from one run or from two runs of
the same prompts and seeds (generation is deterministic). Prints each set and the pooled
totals of colour, shape and motion accuracy.
"""
import json
import math
import sys

ATTRIBUTES = ("colour", "shape", "motion")


def samples(spec):
    path, _, index = spec.partition("#")
    checkpoint = json.load(open(path))["checkpoints"][int(index or 0)]
    return {(s["held_out_seed"], s["prompt"]): s for s in checkpoint["prompt_following"]["samples"]}


def mcnemar_p(gained, lost):
    n, k = gained + lost, min(gained, lost)
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n) if n else 1.0


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    totals = {a: [0, 0, 0, 0, 0] for a in ATTRIBUTES}  # candidate, baseline, gained, lost, n
    for arg in argv[1:]:
        name, _, pair = arg.partition("=")
        candidate_spec, baseline_spec = pair.split(",")
        candidate, baseline = samples(candidate_spec), samples(baseline_spec)
        if candidate.keys() != baseline.keys():
            print(f"{name}: the two runs scored different prompts or seeds")
            return 1
        row = []
        for a in ATTRIBUTES:
            key = a + "_correct"
            c = sum(s[key] for s in candidate.values())
            b = sum(s[key] for s in baseline.values())
            g = sum(1 for k in candidate if candidate[k][key] and not baseline[k][key])
            l = sum(1 for k in candidate if baseline[k][key] and not candidate[k][key])
            for i, value in enumerate((c, b, g, l, len(candidate))):
                totals[a][i] += value
            row.append(f"{a} {c}/{len(candidate)} vs {b} (+{g} -{l}, p {mcnemar_p(g, l):.2g})")
        print(f"{name}: " + "; ".join(row))
    for a, (c, b, g, l, n) in totals.items():
        print(f"pooled {a}: {c}/{n} = {100 * c / n:.1f}% vs {b}/{n} = {100 * b / n:.1f}%, "
              f"gained {g}, lost {l}, exact McNemar p {mcnemar_p(g, l):.2g}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
