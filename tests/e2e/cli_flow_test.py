#!/usr/bin/env python3
"""e2e: vidserve-cli against the real server.

generate -> encode -> decode --decoder thin -> info -> health, checking the files it writes
(y4m headers and frame counts, .latent headers and sizes), then the error paths: server
down, invalid flags, bad input files, and a request the server rejects with
INVALID_ARGUMENT naming the field (the server must keep serving afterwards).
"""

import os
import struct

from e2e_util import (FRAMES, HEIGHT, STEPS, WIDTH, VidserveServer, check, free_port, log,
                      main_wrapper, run, temp_workdir)


def y4m_info(path):
    """(width, height, colourspace, frames) of a .y4m file, parsed independently of media/."""
    with open(path, "rb") as f:
        data = f.read()
    header, _, body = data.partition(b"\n")
    tags = header.decode().split()
    assert tags[0] == "YUV4MPEG2", f"{path}: bad signature {tags[0]!r}"
    t = {tag[0]: tag[1:] for tag in tags[1:]}
    w, h, c = int(t["W"]), int(t["H"]), t.get("C", "420jpeg")
    plane = w * h
    chroma = plane if c == "444" else ((w + 1) // 2) * ((h + 1) // 2)
    frame_bytes = len(b"FRAME\n") + plane + 2 * chroma
    assert len(body) % frame_bytes == 0, f"{path}: {len(body)} bytes is not a whole number of frames"
    return w, h, c, len(body) // frame_bytes, body.count(b"FRAME")


def latent_info(path):
    with open(path, "rb") as f:
        data = f.read()
    magic, version, dtype = data[:8], *struct.unpack("<II", data[8:16])
    shape = struct.unpack("<4q", data[16:48])
    (fps,) = struct.unpack("<d", data[48:56])
    (nbytes,) = struct.unpack("<Q", data[56:64])
    return dict(magic=magic, version=version, dtype=dtype, shape=shape, fps=fps, nbytes=nbytes,
                size=len(data))


def test(args):
    cli = os.path.join(args.build_dir, "vidserve-cli")
    with temp_workdir("vidserve-e2e-cli-") as work:
        p = lambda name: os.path.join(work, name)

        # --- no server needed ---
        dead = f"127.0.0.1:{free_port()}"
        r = run([cli, "--server", dead, "--timeout_s", "10", "health"])
        check(r.returncode == 3, "health against a closed port exits 3")
        check(f"cannot reach server at {dead}" in r.stderr, "and says it cannot reach the server")
        r = run([cli, "--server", dead, "generate", "--prompt", "x", "--out", p("x.y4m")])
        check(r.returncode == 3 and "cannot reach server" in r.stderr, "generate: same for a down server")

        r = run([cli, "generate", "--prompt", "x", "--frames", "abc", "--out", p("x.y4m")])
        check(r.returncode == 2, "non-integer --frames exits 2")
        check("invalid value for --frames: 'abc'" in r.stderr and "usage:" in r.stderr,
              "with the flag named and the usage")
        r = run([cli, "generate", "--prompt", "x", "--bogus", "1", "--out", p("x.y4m")])
        check(r.returncode == 2 and "unknown flag --bogus for 'generate'" in r.stderr, "unknown flag exits 2")
        r = run([cli, "frobnicate"])
        check(r.returncode == 2 and "unknown command 'frobnicate'" in r.stderr, "unknown command exits 2")
        r = run([cli, "decode", "--in", p("x.latent"), "--decoder", "wide", "--out", p("x.y4m")])
        check(r.returncode == 2 and "choose one of: full, thin" in r.stderr, "bad --decoder exits 2")
        r = run([cli, "--help"])
        check(r.returncode == 0 and "exit codes:" in r.stdout, "--help documents the exit codes")
        have_mp4 = "and .mp4" in r.stdout

        with open(p("garbage.y4m"), "wb") as f:
            f.write(b"hello, not a video\n")
        r = run([cli, "--server", dead, "encode", "--in", p("garbage.y4m"), "--out", p("g.latent")])
        check(r.returncode == 4 and "not a YUV4MPEG2 file" in r.stderr and "garbage.y4m" in r.stderr,
              "a bad input video exits 4 naming the file, before contacting the server")
        r = run([cli, "--server", dead, "encode", "--in", p("missing.y4m"), "--out", p("g.latent")])
        check(r.returncode == 4 and "missing.y4m" in r.stderr, "a missing input exits 4")

        # --- against the real server ---
        with VidserveServer(args.build_dir, args.source_dir, work) as server:
            s = ["--server", server.address]
            r = run([cli, *s, "health"])
            check(r.returncode == 0 and r.stdout.strip() == "SERVING", "health prints SERVING, exit 0")

            r = run([cli, *s, "info"])
            check(r.returncode == 0, "info exits 0")
            for field in ("model:", "preset:", "trained:", "devices:", "mixers:", "limits:",
                          "defaults:", "parameters:"):
                check(field in r.stdout, f"info shows {field}")
            check("tiny" in r.stdout and "cpu" in r.stdout, "info shows the tiny preset on cpu")
            check("decode:       float32, eager" in r.stdout, "info shows float32 eager decode on cpu")
            check("sampler:      guidance for t in [" in r.stdout, "info shows the sampler settings")

            gen = [cli, *s, "generate", "--prompt", "a red circle moving right", "--frames", FRAMES,
                   "--height", HEIGHT, "--width", WIDTH, "--steps", STEPS, "--seed", "42",
                   "--guidance", "1"]
            r = run(gen + ["--out", p("clip.y4m"), "--latent-out", p("gen.latent")], timeout=300)
            check(r.returncode == 0, "generate exits 0")
            check(f"progress: step {STEPS}/{STEPS}" in r.stderr,
                  "plain progress lines on a non-TTY stderr, up to the last step")
            check("seed 42" in r.stdout, "the summary reports the seed")
            w, h, c, frames, markers = y4m_info(p("clip.y4m"))
            check((w, h, frames, markers) == (WIDTH, HEIGHT, FRAMES, FRAMES),
                  f"clip.y4m is {FRAMES} frames of {WIDTH}x{HEIGHT} ({c})")
            gl = latent_info(p("gen.latent"))
            check(gl["magic"] == b"VSLATENT" and gl["shape"][1:] == (2, HEIGHT // 8, WIDTH // 8),
                  f"--latent-out wrote a latent of shape {gl['shape']}")

            r = run(gen + ["--out", p("clip2.y4m")], timeout=300)
            check(r.returncode == 0, "same request again")
            check(open(p("clip.y4m"), "rb").read() == open(p("clip2.y4m"), "rb").read(),
                  "same seed gives the same video on the same device")

            r = run([cli, *s, "encode", "--in", p("clip.y4m"), "--out", p("clip.latent")])
            check(r.returncode == 0, "encode exits 0")
            li = latent_info(p("clip.latent"))
            c_lat = li["shape"][0]
            check(li["magic"] == b"VSLATENT" and li["version"] == 1 and li["dtype"] == 1,
                  "clip.latent has the VSLATENT v1 header, float32")
            check(li["shape"] == (c_lat, 1 + (FRAMES - 1) // 4, HEIGHT // 8, WIDTH // 8),
                  f"latent shape {li['shape']} = [C, 1+(T-1)/4, H/8, W/8]")
            check(li["nbytes"] == c_lat * 2 * 4 * 4 * 4 and li["size"] == 64 + li["nbytes"],
                  "latent data size matches its shape")
            check(abs(li["fps"] - 24.0) < 1e-9, "the latent remembers the source fps")

            r = run([cli, *s, "encode", "--in", p("clip.y4m"), "--out", p("half.latent"),
                     "--dtype", "float16"])
            hi = latent_info(p("half.latent"))
            check(r.returncode == 0 and hi["dtype"] == 2 and hi["nbytes"] == li["nbytes"] // 2,
                  "--dtype float16 halves the data")

            r = run([cli, *s, "decode", "--in", p("clip.latent"), "--decoder", "thin",
                     "--out", p("back.y4m")])
            check(r.returncode == 0, "decode --decoder thin exits 0")
            w, h, c, frames, _ = y4m_info(p("back.y4m"))
            check((w, h, frames) == (WIDTH, HEIGHT, FRAMES), "back.y4m has the original shape")
            r = run([cli, *s, "decode", "--in", p("half.latent"), "--out", p("back420.y4m"),
                     "--y4m-chroma", "420"])
            w, h, c, frames, _ = y4m_info(p("back420.y4m"))
            check(r.returncode == 0 and c == "420jpeg" and frames == FRAMES,
                  "full decoder from a float16 latent, written as 4:2:0")

            if have_mp4:
                r = run(gen + ["--out", p("clip.mp4")], timeout=300)
                with open(p("clip.mp4"), "rb") as f:
                    head = f.read(12)
                check(r.returncode == 0 and head[4:8] == b"ftyp", "generate writes a real .mp4")
                r = run([cli, *s, "encode", "--in", p("clip.mp4"), "--out", p("mp4.latent")])
                check(r.returncode == 0 and latent_info(p("mp4.latent"))["shape"] == li["shape"],
                      "the .mp4 reads back and encodes to the same latent shape")
            else:
                log("skip: vidserve-cli built without libav, no .mp4 checks")

            # Server-side validation: the message names the field, exit 1.
            r = run([cli, *s, "generate", "--prompt", "x", "--frames", "6", "--height", HEIGHT,
                     "--width", WIDTH, "--steps", STEPS, "--out", p("bad.y4m")])
            check(r.returncode == 1 and "INVALID_ARGUMENT" in r.stderr and "frames" in r.stderr,
                  "--frames 6 -> INVALID_ARGUMENT naming frames, exit 1")
            check(not os.path.exists(p("bad.y4m")), "and no output file")
            r = run([cli, *s, "generate", "--prompt", "x", "--height", "20", "--width", WIDTH,
                     "--frames", FRAMES, "--steps", STEPS, "--out", p("bad.y4m")])
            check(r.returncode == 1 and "INVALID_ARGUMENT" in r.stderr and "height" in r.stderr,
                  "--height 20 -> INVALID_ARGUMENT naming height")
            r = run([cli, *s, "generate", "--prompt", "", "--out", p("bad.y4m")])
            check(r.returncode == 2 and "needs --prompt" in r.stderr, "empty --prompt is a usage error")

            # A 4-frame clip is a valid file but not a valid Encode input (T = 4k+1).
            with open(p("clip.y4m"), "rb") as f:
                data = f.read()
            header, _, body = data.partition(b"\n")
            frame_len = len(body) // FRAMES
            with open(p("four.y4m"), "wb") as f:
                f.write(header + b"\n" + body[:4 * frame_len])
            r = run([cli, *s, "encode", "--in", p("four.y4m"), "--out", p("four.latent")])
            check(r.returncode == 1 and "INVALID_ARGUMENT" in r.stderr and "frames" in r.stderr,
                  "encoding 4 frames -> INVALID_ARGUMENT naming frames")

            # Corrupted latent files fail locally, before any RPC.
            with open(p("clip.latent"), "rb") as f:
                lat = f.read()
            with open(p("cut.latent"), "wb") as f:
                f.write(lat[:-7])
            r = run([cli, *s, "decode", "--in", p("cut.latent"), "--out", p("cut.y4m")])
            check(r.returncode == 4 and "truncated data" in r.stderr, "a truncated .latent exits 4")
            with open(p("clip.y4m.latent"), "wb") as f:
                f.write(data)
            r = run([cli, *s, "decode", "--in", p("clip.y4m.latent"), "--out", p("x.y4m")])
            check(r.returncode == 4 and "not a .latent file" in r.stderr, "a non-latent file exits 4")

            # A latent with the wrong channel count passes the file checks but not the server's.
            bad = bytearray(lat)
            bad[16:24] = struct.pack("<q", c_lat + 1)
            per_channel = li["nbytes"] // c_lat
            bad[56:64] = struct.pack("<Q", li["nbytes"] + per_channel)
            bad += b"\0" * per_channel
            with open(p("wrongc.latent"), "wb") as f:
                f.write(bad)
            r = run([cli, *s, "decode", "--in", p("wrongc.latent"), "--out", p("x.y4m")])
            check(r.returncode == 1 and "INVALID_ARGUMENT" in r.stderr, "wrong latent channels -> INVALID_ARGUMENT")

            r = run([cli, *s, "health"])
            check(r.returncode == 0 and "SERVING" in r.stdout, "the server still serves after the errors")


if __name__ == "__main__":
    main_wrapper(test)
