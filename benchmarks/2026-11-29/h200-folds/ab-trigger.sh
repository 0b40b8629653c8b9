# One-off A/B: vidserve kernels signalling their dependents after their wait (working tree)
# against signalling at their start (HEAD), same machine, one build each; then the CUDA
# kernel and decode tests of the working tree.
set -u
FILES="channel_rms_norm_silu.cu decoder_output_bytes.cu narrow_conv3d.cu narrow_conv3d_tf32.cu skip_projection_add.cu"
BUILD_TESTS=1 bash tools/gpu/run-gpu-train.sh build | tail -1
source .gpu/env.sh
mkdir -p /tmp/ab; VIDSERVE_TEST_DEVICE=cuda timeout 150 ./build-gpu/tests/vidserve_model_tests \
  --gtest_filter='NarrowConv3dCuda.*:DecoderOutputBytesCuda.*:SkipProjectionAddCuda.*:ChannelRmsNormSilu*:CudaGraphDecode.*:CudaDecodeVariants.*:DecodeTimings.*:VideoModel.*' \
  > /tmp/ab/tests-after-wait.log 2>&1; echo "tests rc=$? $(grep -E '^\[  (PASSED|FAILED)' /tmp/ab/tests-after-wait.log | tr '\n' ' ')"
B=./build-gpu/vidserve-bench
bench() {  # tag, sizes, batches, repeats, extra flags
  $B vae --device cuda --checkpoint models/vidserve-tiny --sizes $2 --batches $3 --repeats $4 ${5:-} \
    --json /tmp/ab/$1.json > /tmp/ab/$1.txt 2>&1
  grep cuda_graph /tmp/ab/$1.txt | awk -v t=$1 '{printf "%-12s %-10s %s %-38s full %s thin %s x %s\n", t, $1, $2, $3, $8, $9, $10}'
}
small() { bench $1 17x64x64 1,8 100 "--fold-upsampling 0,1 --fold-norms 0,1"; }
small after-wait-1; small after-wait-2
bench after-wait-big 65x256x256 1 30
for f in $FILES; do cp model/cuda/$f /tmp/ab/$f.new; cp .ab-old/$f model/cuda/$f; done
cmake --build build-gpu --target vidserve-bench 2>&1 | tail -1
small at-start-1; small at-start-2
bench at-start-big 65x256x256 1 30
for f in $FILES; do cp /tmp/ab/$f.new model/cuda/$f; done
(cd /tmp/ab && tar czf "$OUT/ab-trigger.tar.gz" *.json *.txt *.log)
