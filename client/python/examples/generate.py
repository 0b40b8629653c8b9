#!/usr/bin/env python3
"""Generate a clip with the Python client and save it as .y4m (no extra dependencies).

    PYTHONPATH=build/python:client/python python3 client/python/examples/generate.py \
        --server 127.0.0.1:50051 --prompt "a red circle moving right" --out clip.y4m
"""

import argparse
import sys

from vidserve_client import VidserveClient, VidserveError


def write_y4m(path, video):
    """4:4:4 full-range BT.601, the same as vidserve-cli writes."""
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{video.width} H{video.height} F{round(video.fps * 1000)}:1000 "
                f"Ip A1:1 C444 XCOLORRANGE=FULL\n".encode())
        n = video.height * video.width
        for t in range(video.frames):
            rgb = video.frame(t)
            r, g, b = rgb[0::3], rgb[1::3], rgb[2::3]
            clamp = lambda v: max(0, min(255, round(v)))
            y = bytes(clamp(0.299 * r[i] + 0.587 * g[i] + 0.114 * b[i]) for i in range(n))
            u = bytes(clamp(128 - 0.168736 * r[i] - 0.331264 * g[i] + 0.5 * b[i]) for i in range(n))
            v = bytes(clamp(128 + 0.5 * r[i] - 0.418688 * g[i] - 0.081312 * b[i]) for i in range(n))
            f.write(b"FRAME\n" + y + u + v)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--server", default="127.0.0.1:50051")
    p.add_argument("--prompt", required=True)
    p.add_argument("--frames", type=int, default=0)
    p.add_argument("--height", type=int, default=0)
    p.add_argument("--width", type=int, default=0)
    p.add_argument("--steps", type=int, default=0)
    p.add_argument("--seed", type=int)
    p.add_argument("--decoder", choices=["full", "thin"])
    p.add_argument("--out", required=True)
    args = p.parse_args()

    with VidserveClient(args.server) as client:
        try:
            result = client.generate(
                args.prompt, frames=args.frames, height=args.height, width=args.width,
                steps=args.steps, seed=args.seed, decoder=args.decoder,
                on_progress=lambda pr: print(f"step {pr.step}/{pr.total_steps} "
                                             f"batch {pr.batch_size}", file=sys.stderr))
        except VidserveError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
    write_y4m(args.out, result.video)
    s = result.summary
    print(f"wrote {args.out}: {result.video.frames} frames {result.video.height}x"
          f"{result.video.width}, seed {s.seed}, total {s.total_seconds:.3f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
