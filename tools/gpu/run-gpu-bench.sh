#!/usr/bin/env bash
# Builds vidserve on the CUDA machine and runs the GPU tests and benchmarks, writing logs and
# JSON results to $OUT (or ./gpu-out). Prerequisite (on the development machine):
#   bash ../shared/gpu/prepare.sh $(grep -v '^#' deploy/gpu-packages.txt)
# then carry .gpu to the GPU machine and run, from the project root:
#   bash tools/gpu/run-gpu-bench.sh [build|test|bench|all]...
# libav is not bundled for the GPU machine, so the GPU build has VIDSERVE_WITH_FFMPEG=OFF.
set -uo pipefail
OUT="${OUT:-$PWD/gpu-out}"
mkdir -p "$OUT"
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(all)
has() { for s in "${steps[@]}"; do [ "$s" = "$1" ] || [ "$s" = all ] && return 0; done; return 1; }

source .gpu/env.sh
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader > "$OUT/gpu.txt" 2>&1
echo "host: $(nproc) cores; $(cat "$OUT/gpu.txt")"

if has build; then
  start=$(date +%s)
  if ! bash .gpu/build.sh -DVIDSERVE_WITH_FFMPEG=OFF > "$OUT/build.log" 2>&1; then
    grep -E "error|Error" "$OUT/build.log" | head -40
    echo "BUILD FAILED (see build.log)"; exit 1
  fi
  echo "build ok in $(( $(date +%s) - start )) s"
fi
if has test; then
  # Unit + integration suites with the model on the GPU (VIDSERVE_TEST_DEVICE); the e2e
  # suites need Debian's python3-grpcio, Node and Prometheus, which that machine lacks.
  (cd build-gpu && VIDSERVE_TEST_DEVICE=cuda ctest -j 4 --timeout 300 -E '^e2e_' --output-on-failure) > "$OUT/ctest.log" 2>&1
  tail -15 "$OUT/ctest.log"
fi
if has bench; then
  export VIDSERVE_LOG_LEVEL=warning
  # One text file for all three (the device tool returns at most 8 files).
  ./build-gpu/vidserve-bench serve --device cuda --json "$OUT/serve.json" 2>&1 | tee "$OUT/bench.txt"
  ./build-gpu/vidserve-bench vae --device cuda --json "$OUT/vae.json" 2>&1 | tee -a "$OUT/bench.txt"
  # MIXER_FLAGS, e.g. "--cuda-graph 1", adds graph-replay timings to the same run.
  ./build-gpu/vidserve-bench mixers --device cuda --dtype bf16 \
      --seq "${MIXER_SEQ:-1024,2048,4096,8192,16384,32768,65536,131072}" --repeats 20 \
      ${MIXER_FLAGS:-} --json "$OUT/mixers.json" 2>&1 | tee -a "$OUT/bench.txt"
fi
