#!/usr/bin/env python3
"""e2e: the Python client (client/python/vidserve_client.py) against the real server,
with Debian's python3-grpcio and the stubs the build generated into build/python."""

import os
import sys

from e2e_util import (FRAMES, HEIGHT, STEPS, WIDTH, VidserveServer, check, main_wrapper, run,
                      temp_workdir)


def test(args):
    sys.path[:0] = [os.path.join(args.build_dir, "python"),
                    os.path.join(args.source_dir, "client", "python")]
    import grpc
    from vidserve_client import Latent, VidserveClient, VidserveError

    with temp_workdir("vidserve-e2e-py-") as work, \
            VidserveServer(args.build_dir, args.source_dir, work) as server, \
            VidserveClient(server.address, timeout_s=120) as client:
        check(client.health() == "SERVING", "health() == SERVING")
        info = client.model_info()
        check(info.preset == "tiny" and info.latent_channels > 0, f"model_info: {info.model_name}")

        steps_seen = []
        result = client.generate("a blue square", frames=FRAMES, height=HEIGHT, width=WIDTH,
                                 steps=STEPS, seed=3, return_latent=True,
                                 on_progress=lambda p: steps_seen.append(p.step))
        check(steps_seen == list(range(1, STEPS + 1)), f"one progress event per step: {steps_seen}")
        v = result.video
        check((v.frames, v.height, v.width) == (FRAMES, HEIGHT, WIDTH), "generated video shape")
        check(len(v.rgb) == FRAMES * HEIGHT * WIDTH * 3, "generated video byte count")
        check(result.summary.seed == 3 and result.summary.steps == STEPS, "summary seed and steps")
        info = client.model_info()
        check(result.summary.stochasticity == info.sampler.stochasticity,
              "the summary reports the model's sampler settings by default")
        euler = client.generate("a blue square", frames=FRAMES, height=HEIGHT, width=WIDTH,
                                steps=STEPS, seed=3, stochasticity=0.0, guidance_min_t=0.0)
        check(euler.summary.stochasticity == 0.0 and euler.summary.guidance_min_t == 0.0,
              "per-request sampler settings reach the server and the summary")
        check(result.latent is not None and result.latent.shape[1:] == [2, HEIGHT // 8, WIDTH // 8],
              f"return_latent gives the latent {result.latent.shape if result.latent else None}")

        latent = client.encode(v, dtype="float16")
        check(latent.dtype == "float16" and latent.shape == result.latent.shape,
              "encode() returns a float16 latent of the same shape")
        back = client.decode(latent, decoder="thin", fps=12)
        check((back.frames, back.height, back.width, back.fps) == (FRAMES, HEIGHT, WIDTH, 12),
              "decode(thin) restores the shape and takes the fps")

        try:
            client.generate("x", frames=6, height=HEIGHT, width=WIDTH, steps=STEPS)
            check(False, "frames=6 must fail")
        except VidserveError as e:
            check(e.code == grpc.StatusCode.INVALID_ARGUMENT and "frames" in e.details,
                  f"frames=6 -> INVALID_ARGUMENT naming frames ({e.details})")
        try:
            client.decode(Latent(latent.shape, "float32", latent.data))
            check(False, "a wrong byte count must fail")
        except VidserveError as e:
            check(e.code == grpc.StatusCode.INVALID_ARGUMENT, f"wrong latent bytes -> INVALID_ARGUMENT ({e.details})")

        out = os.path.join(work, "example.y4m")
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path[:2]))
        r = run([sys.executable, os.path.join(args.source_dir, "client", "python", "examples", "generate.py"),
                 "--server", server.address, "--prompt", "example", "--frames", FRAMES,
                 "--height", HEIGHT, "--width", WIDTH, "--steps", STEPS, "--out", out], env=env)
        check(r.returncode == 0 and os.path.getsize(out) > FRAMES * HEIGHT * WIDTH * 3,
              "examples/generate.py writes a clip")
        check(client.health() == "SERVING", "still SERVING")


if __name__ == "__main__":
    main_wrapper(test)
