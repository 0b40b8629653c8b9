#!/usr/bin/python3
"""Averages the tensors of checkpoints of one layout into one (weight averaging of rounds).

    tools/train/average_checkpoints.py OUT.safetensors IN.safetensors [IN.safetensors ...]

Every IN must hold the same float16 tensors at the same offsets (the exports of
`vidserve-train merge --dtype fp16` of one architecture). Each tensor is averaged in
float32 and stored back in float16; tensors equal in every IN come out unchanged. The
header, metadata included (config, latent statistics, metrics), is the first IN's.
Needs numpy (a development-time tool, not a server dependency).
"""
import json
import struct
import sys

import numpy as np


def load(path):
    with open(path, "rb") as f:
        raw = f.read()
    size = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + size])
    return header, raw[: 8 + size], raw[8 + size :]


def main(argv):
    if len(argv) < 3:
        print(__doc__)
        return 2
    out, inputs = argv[1], [load(p) for p in argv[2:]]
    header, head_bytes, body = inputs[0]
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    for path, (other, _, _) in zip(argv[3:], inputs[1:]):
        if {k: v for k, v in other.items() if k != "__metadata__"} != tensors:
            print(f"{path}: tensors differ in name, dtype, shape or offset from {argv[2]}")
            return 1
    averaged = bytearray(body)
    for name, info in tensors.items():
        if info["dtype"] != "F16":
            print(f"{name}: dtype {info['dtype']}, expected F16")
            return 1
        start, end = info["data_offsets"]
        total = sum(np.frombuffer(b[start:end], np.float16).astype(np.float32) for _, _, b in inputs)
        averaged[start:end] = (total / len(inputs)).astype(np.float16).tobytes()
    with open(out, "wb") as f:
        f.write(head_bytes + bytes(averaged))
    print(f"wrote {out} (mean of {len(inputs)})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
