#!/usr/bin/env python3
"""e2e: the Node client (client/node) against the real server.

Dependencies come from client/node/package-lock.json with `npm ci`, installed into the build
directory (never into the source tree) and reused while the lock file is unchanged, so the
network is touched once. If the install fails, this test FAILS: it never skips silently.
"""

import json
import os
import shutil

from e2e_util import (FRAMES, HEIGHT, STEPS, WIDTH, Failure, VidserveServer, check, log,
                      main_wrapper, run, temp_workdir)


def install_node_modules(source_dir, build_dir):
    src = os.path.join(source_dir, "client", "node")
    dest = os.path.join(build_dir, "node_client")
    stamp = os.path.join(dest, "installed-package-lock.json")
    lock = os.path.join(src, "package-lock.json")
    with open(lock, "rb") as f:
        wanted = f.read()
    if os.path.exists(stamp) and open(stamp, "rb").read() == wanted and \
            os.path.isdir(os.path.join(dest, "node_modules", "@grpc", "grpc-js")):
        log(f"node_modules in {dest} match package-lock.json; no install")
        return os.path.join(dest, "node_modules")
    if not shutil.which("npm"):
        raise Failure("npm is not installed (deploy/install-deps.sh installs it)")
    os.makedirs(dest, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(os.path.join(src, name), dest)
    r = run(["npm", "ci", "--prefix", dest, "--no-audit", "--no-fund", "--ignore-scripts"],
            timeout=240)
    if r.returncode != 0:
        raise Failure("npm ci failed (see output above); the Node client cannot be tested")
    shutil.copy(lock, stamp)
    return os.path.join(dest, "node_modules")


def test(args):
    node_modules = install_node_modules(args.source_dir, args.build_dir)
    env = dict(os.environ, NODE_PATH=node_modules)
    check_js = os.path.join(args.source_dir, "tests", "e2e", "node_client_check.js")
    example = os.path.join(args.source_dir, "client", "node", "examples", "generate.js")
    with temp_workdir("vidserve-e2e-node-") as work, \
            VidserveServer(args.build_dir, args.source_dir, work) as server:
        r = run(["node", check_js, args.source_dir, server.address, FRAMES, HEIGHT, WIDTH, STEPS],
                env=env, timeout=180)
        check(r.returncode == 0, "node_client_check.js exits 0")
        facts = json.loads(r.stdout.strip().splitlines()[-1])
        check(facts["health"] == "SERVING", "health() resolves to SERVING")
        check(facts["preset"] == "tiny", "modelInfo() reports the tiny preset")
        check(facts["steps"] == list(range(1, STEPS + 1)), "one progress callback per step")
        check(facts["video"] == [FRAMES, HEIGHT, WIDTH, FRAMES * HEIGHT * WIDTH * 3],
              "generate() assembles the whole video")
        check(facts["seed"] == 11, "the summary carries the seed")
        check(facts["summarySampler"] == facts["modelSampler"],
              "a request naming no sampler settings runs the model's")
        check(facts["eulerSampler"] == [0, facts["modelSampler"][1], 0],
              "per-request guidanceMinT / stochasticity reach the server")
        check(facts["latentShape"][0] == facts["latentChannels"] and
              facts["latentShape"][1:] == [2, HEIGHT // 8, WIDTH // 8], "encode() latent shape")
        check(facts["decoded"] == facts["video"], "decode(thin) restores the shape")
        inv = facts["invalid"]
        check(isinstance(inv, dict) and inv["code"] == "INVALID_ARGUMENT" and "frames" in inv["details"],
              f"frames=6 rejects with INVALID_ARGUMENT naming frames ({inv})")
        r = run(["node", example, server.address, "example", FRAMES, HEIGHT, WIDTH, STEPS],
                env=env, timeout=180)
        check(r.returncode == 0 and "health: SERVING" in r.stdout and '"frames":%d' % FRAMES in r.stdout,
              "examples/generate.js runs")


if __name__ == "__main__":
    main_wrapper(test)
