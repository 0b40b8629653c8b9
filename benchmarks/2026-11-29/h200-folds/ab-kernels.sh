# One-off A/B of this session's kernel changes against HEAD's kernels, same machine.
set -u
bash tools/gpu/run-gpu-train.sh build | tail -1
source .gpu/env.sh
B=./build-gpu/vidserve-bench
mkdir -p /tmp/ab
bench() {  # tag, sizes, batches, repeats, extra flags
  $B vae --device cuda --checkpoint models/vidserve-tiny --sizes $2 --batches $3 --repeats $4 ${5:-} \
    --json /tmp/ab/$1.json > /tmp/ab/$1.txt 2>&1
  grep cuda_graph /tmp/ab/$1.txt | awk -v t=$1 '{printf "%-12s %-10s %s %-38s full %s thin %s x %s\n", t, $1, $2, $3, $8, $9, $10}'
}
small() { bench $1 17x64x64 1,8 100 "--fold-upsampling 0,1 --fold-norms 0,1"; }
small new-1; small new-2
VIDSERVE_CUDA_DEPENDENT_LAUNCH=0 small new-nopdl
bench new-big 65x256x256 1 30
for f in narrow_conv3d.cu narrow_conv3d_tf32.cu channel_rms_norm_silu.cu; do
  cp model/cuda/$f /tmp/ab/$f.new; cp .ab-old/$f model/cuda/$f; done
cmake --build build-gpu --target vidserve-bench 2>&1 | tail -1
small old-1; small old-2
bench old-big 65x256x256 1 30
for f in narrow_conv3d.cu narrow_conv3d_tf32.cu channel_rms_norm_silu.cu; do cp /tmp/ab/$f.new model/cuda/$f; done
(cd /tmp/ab && tar czf "$OUT/ab-kernels.tar.gz" *.json *.txt)
