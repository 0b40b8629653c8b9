#!/usr/bin/env bash
# Trains the shipped vidserve-tiny checkpoint on a CUDA machine in phases that each fit a
# 10-minute lease, writing logs and results to $OUT (or ./gpu-out). Prerequisite as for
# run-gpu-bench.sh (bash ../shared/gpu/prepare.sh, carry .gpu). From the project root:
#   bash tools/gpu/run-gpu-train.sh build vae      # ~VAE_MINUTES of VAE training (VAE_LRS)
#   bash tools/gpu/run-gpu-train.sh rest           # thin decoder + one denoiser per mixer
#   bash tools/gpu/run-gpu-train.sh eval           # merge, vidserve-bench quality, split ckpt
#   bash tools/gpu/run-gpu-train.sh build continue # thin + denoiser from INIT, merged candidate
#   BUILD_TESTS=1 bash tools/gpu/run-gpu-train.sh build decode  # decode speed, eager vs CUDA graphs
#   bash tools/gpu/run-gpu-train.sh build sweep   # sampler steps x guidance on the tuning set
#   bash tools/gpu/run-gpu-train.sh build profile  # per-kernel decode times (Nsight Compute)
#   bash tools/gpu/run-gpu-train.sh build serve    # gRPC serving bench, shipped model
#   BUILD_TESTS=all bash tools/gpu/run-gpu-train.sh build cudatests cudaintegration
#                                                  # CUDA tests; the server's tests on the GPU
#   BUILD_TESTS=1 bash tools/gpu/run-gpu-train.sh build folds  # the default-off decode folds:
#                                                  # their CUDA tests, then their speed
#   bash tools/gpu/run-gpu-train.sh build thinshapes continue  # untrained thin shapes' speed,
#                                                  # then train the one picked (THIN_FLAGS=pick)
# Runs live in runs-gpu/ (git-ignored, so they survive between calls while the machine
# stays warm; every stage resumes from its state if a phase is repeated). The exact runs
# behind the shipped checkpoint (these phases, then continuation runs started from the
# exports) are listed in models/vidserve-tiny/README.md.
set -uo pipefail
OUT="${OUT:-$PWD/gpu-out}"
mkdir -p "$OUT"
RUNS="${RUNS:-$PWD/runs-gpu}"
mkdir -p "$RUNS"
CONFIG="${CONFIG:-models/vidserve-tiny/config.yaml}"
VAE_MINUTES="${VAE_MINUTES:-6}"
REST_MINUTES="${REST_MINUTES:-8}"
# REST_MINUTES=auto: fit the training runs to what is left of a CALL_LIMIT_S-second call
# (the device lends at most 10 minutes a command), keeping REST_MARGIN_S for the held-out
# evaluation, export, merge and transfer that follow the runs.
CALL_START=$(date +%s)
rest_minutes() {
  if [ "$REST_MINUTES" = auto ]; then
    awk -v l="${CALL_LIMIT_S:-560}" -v m="${REST_MARGIN_S:-75}" -v e="$(( $(date +%s) - CALL_START ))" \
      'BEGIN{x=(l-m-e)/60; if (x < 1) x = 1; printf "%.2f", x}'
  else
    echo "$REST_MINUTES"
  fi
}
DEVICE="${DEVICE:-cuda}"  # cpu: a dry run of the phases on a development machine
[ "$DEVICE" = cpu ] || source .gpu/env.sh
BIN="${BIN:-./build-gpu}"
TRAIN="$BIN/vidserve-train"
BENCH="$BIN/vidserve-bench"
# Extra flags for every training run (dry runs: tiny clips, few clips in the cache).
EXTRA=(${TRAIN_FLAGS:-})
has() { for s in "$@"; do [ "$s" = "$phase" ] && return 0; done; return 1; }
# One test binary with the model on this GPU (VIDSERVE_TEST_DEVICE=cuda) in one process
# under a time limit, its log in $RUNS/<log dir>/<name>.log; prints the verdict.
run_cuda_tests() {  # log dir, name, seconds, binary, [gtest filter]
  local dir=$1 name=$2 limit=$3 bin=$4 filter=${5:-*}
  mkdir -p "$RUNS/$dir"
  VIDSERVE_TEST_DEVICE=cuda timeout "$limit" "$BIN/tests/$bin" --gtest_filter="$filter" \
    > "$RUNS/$dir/$name.log" 2>&1
  echo "$name rc=$? $(grep -E '^\[  (PASSED|FAILED|SKIPPED)  \]' "$RUNS/$dir/$name.log" | tr '\n' ' ')"
  grep -E '^\[  FAILED  \] [A-Za-z]' "$RUNS/$dir/$name.log" | head -10
}
# The CUDA kernels' and decode tests, then the model facade's with the model on this GPU.
run_model_cuda_tests() {  # log dir
  run_cuda_tests "$1" kernels 120 vidserve_model_tests \
    'NarrowConv3dCuda.*:DecoderOutputBytesCuda.*:SkipProjectionAddCuda.*:ChannelRmsNormSilu*:CudaGraphDecode.*:CudaDecodeVariants.*:DecodeTimings.*'
  run_cuda_tests "$1" model 150 vidserve_model_tests 'VideoModel.*'
}

for phase in "$@"; do
case "$phase" in
build)
  start=$(date +%s)
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader > "$OUT/gpu.txt" 2>&1
  # BUILD_TESTS=1 also builds the model tests (the CUDA-graph decode test runs in 'decode');
  # BUILD_TESTS=all builds every test binary (for 'cudatests').
  tests=OFF; targets=(vidserve-train vidserve-bench)
  [ "${BUILD_TESTS:-0}" = 1 ] && { tests=ON; targets+=(vidserve_model_tests); }
  [ "${BUILD_TESTS:-0}" = all ] && { tests=ON; targets=(all); }
  if ! { cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release \
           -DCMAKE_PREFIX_PATH="$GPU_CMAKE_PREFIX" -DCMAKE_CUDA_ARCHITECTURES="90" \
           -DVIDSERVE_WITH_FFMPEG=OFF -DVIDSERVE_BUILD_TESTS=$tests -DVIDSERVE_BUILD_CLIENT=OFF &&
         cmake --build build-gpu -j "$(nproc)" --target "${targets[@]}"; } \
         > "$OUT/build.log" 2>&1; then
    grep -E "error|Error" "$OUT/build.log" | head -40
    # Training needs only LibTorch's CUDA, not the project's own CUDA code: fall back to a
    # build without it so a compile error there does not cost the training phases.
    echo "BUILD FAILED with the CUDA code paths; building without them"
    cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DVIDSERVE_WITH_CUDA=OFF \
      -DCMAKE_PREFIX_PATH="$GPU_CMAKE_PREFIX" -DVIDSERVE_WITH_FFMPEG=OFF \
      -DVIDSERVE_BUILD_TESTS=OFF -DVIDSERVE_BUILD_CLIENT=OFF > "$OUT/build-fallback.log" 2>&1 &&
      cmake --build build-gpu -j "$(nproc)" --target vidserve-train vidserve-bench \
        >> "$OUT/build-fallback.log" 2>&1 || { echo "BUILD FAILED"; exit 1; }
  fi
  echo "build ok in $(( $(date +%s) - start )) s on $(nproc) cores, $(cat "$OUT/gpu.txt")"
  ;;
vae)
  # One run per peak learning rate in VAE_LRS, side by side (the GPU has room, but two
  # runs each get ~half the steps); the best held-out PSNR becomes runs-gpu/vae. The
  # shipped VAE is the 2e-4 run alone (in a side-by-side run, 6e-4 ended ~6 dB lower in
  # train-batch PSNR).
  for lr in ${VAE_LRS:-2e-4}; do
    $TRAIN vae --device $DEVICE --config "$CONFIG" --run_dir "$RUNS/vae-lr$lr" --steps 0 \
      --time_budget_minutes "$VAE_MINUTES" --batch_size 32 --learning_rate $lr \
      --warmup_steps 300 --loader_threads 12 --log_every 100 --save_every 2000 \
      --progress_bar=false "${EXTRA[@]}" > "$RUNS/vae-lr$lr.log" 2>&1 &
  done
  wait
  best=""; best_psnr=-1
  for lr in ${VAE_LRS:-2e-4}; do
    tail -3 "$RUNS/vae-lr$lr.log"
    p=$(grep -o '"heldout_psnr_db": *[-0-9.e]*' "$RUNS/vae-lr$lr/summary.json" 2>/dev/null | awk '{print $2}')
    p=${p:--1}
    echo "vae lr=$lr held-out PSNR $p dB"
    if awk -v a="$p" -v b="$best_psnr" 'BEGIN{exit !(a > b)}'; then best=$lr; best_psnr=$p; fi
  done
  [ -n "$best" ] || { echo "VAE FAILED"; exit 1; }
  ln -sfn "$RUNS/vae-lr$best" "$RUNS/vae"
  echo "best vae: lr=$best ($best_psnr dB)"
  # Bring the VAE back (fp16, in parts under the 16 MiB transfer limit), so a lost machine
  # does not lose the stage; tar the logs and loss curves.
  $TRAIN merge --vae "$RUNS/vae" --thin "$RUNS/vae" --denoiser "$RUNS/vae" --trained=false \
    --out "$RUNS/vae-fp16.safetensors" --dtype fp16 && \
    split -b 15m -d "$RUNS/vae-fp16.safetensors" "$OUT/vae-fp16.safetensors.part"
  tar czf "$OUT/vae-runs.tar.gz" -C "$RUNS" --exclude='*.safetensors' --exclude='*.pt' \
    --exclude=state --exclude=vae .
  ;;
rest)
  VAE_EXPORT="$RUNS/vae/model.safetensors"
  $TRAIN thin --device $DEVICE --init_checkpoint "$VAE_EXPORT" --run_dir "$RUNS/thin" --steps 0 \
    --time_budget_minutes "$REST_MINUTES" --batch_size 32 --learning_rate 5e-4 \
    --warmup_steps 200 --loader_threads 6 --log_every 100 --save_every 2000 \
    --progress_bar=false "${EXTRA[@]}" > "$RUNS/thin.log" 2>&1 &
  for mixer in softmax loglinear mesa; do
    $TRAIN denoiser --device $DEVICE --init_checkpoint "$VAE_EXPORT" --run_dir "$RUNS/den-$mixer" \
      --mixer $mixer --steps 0 --time_budget_minutes "$REST_MINUTES" --batch_size 256 \
      --learning_rate 5e-4 --warmup_steps 300 --latent_cache_clips 30000 --loader_threads 3 \
      --log_every 200 --save_every 4000 --progress_bar=false "${EXTRA[@]}" > "$RUNS/den-$mixer.log" 2>&1 &
  done
  wait
  for r in thin den-softmax den-loglinear den-mesa; do echo "== $r"; tail -2 "$RUNS/$r.log"; done
  ;;
continue)
  # Continuation runs from a servable checkpoint (default: the shipped one): the thin
  # decoder and the denoiser train side by side from its weights with fresh warm-up +
  # cosine schedules (the optimizer state of earlier runs is not kept in the export), then
  # merge with its VAE into a candidate that comes back in < 16 MiB parts.
  INIT="${INIT:-models/vidserve-tiny}"
  tag="${TAG:-c1}"
  # STAGES="denoiser" keeps INIT's thin decoder. THIN_FLAGS="--thin_stages 3" (with e.g.
  # THIN_LR=5e-4) trains a thin decoder of another shape from scratch instead;
  # THIN_FLAGS=pick takes the shape the 'thinshapes' phase picked.
  # DEN_FIRST_CLIP / THIN_FIRST_CLIP: where in the training clips each run starts (a new
  # offset per round gives the denoiser's latent cache clips no earlier round saw).
  # STAGES with "vae" fine-tunes INIT's full decoder against its frozen encoder (VAE_LR),
  # side by side with the others (which still learn from INIT's decoders).
  stages="${STAGES:-thin denoiser}"
  minutes="$(rest_minutes)"
  echo "continue $tag: $stages for $minutes min from $INIT"
  thin_flags="${THIN_FLAGS:-}"
  [ "$thin_flags" = pick ] && thin_flags="$(cat "$RUNS/thin-pick.flags")"
  vae_src="$INIT"; thin_src="$INIT"; den_src="$INIT"
  [[ " $stages " == *" vae "* ]] && vae_src="$RUNS/vae-$tag"
  [[ " $stages " == *" thin "* ]] && thin_src="$RUNS/thin-$tag"
  [[ " $stages " == *" denoiser "* ]] && den_src="$RUNS/den-$tag"
  [ "$vae_src" = "$INIT" ] ||
  $TRAIN vae --device $DEVICE --init_checkpoint "$INIT" --freeze_encoder --run_dir "$RUNS/vae-$tag" \
    --steps 0 --time_budget_minutes "$minutes" --batch_size 32 --learning_rate "${VAE_LR:-1e-4}" \
    --warmup_steps 100 --loader_threads "${VAE_LOADERS:-8}" --log_every 100 --save_every 4000 \
    --first_clip "${VAE_FIRST_CLIP:-0}" --progress_bar=false "${EXTRA[@]}" > "$RUNS/vae-$tag.log" 2>&1 &
  [ "$thin_src" = "$INIT" ] ||
  $TRAIN thin --device $DEVICE --init_checkpoint "$INIT" --run_dir "$RUNS/thin-$tag" --steps 0 \
    --time_budget_minutes "$minutes" --batch_size "${THIN_BATCH:-32}" --learning_rate "${THIN_LR:-1e-4}" \
    --warmup_steps 100 --loader_threads "${THIN_LOADERS:-6}" --log_every 100 --save_every 4000 \
    --first_clip "${THIN_FIRST_CLIP:-0}" --progress_bar=false $thin_flags "${EXTRA[@]}" \
    > "$RUNS/thin-$tag.log" 2>&1 &
  [ "$den_src" = "$INIT" ] ||
  $TRAIN denoiser --device $DEVICE --init_checkpoint "$INIT" --run_dir "$RUNS/den-$tag" \
    --steps 0 --time_budget_minutes "$minutes" --batch_size "${DEN_BATCH:-256}" \
    --learning_rate "${DEN_LR:-2e-4}" --warmup_steps 200 --latent_cache_clips "${DEN_CACHE_CLIPS:-30000}" \
    --first_clip "${DEN_FIRST_CLIP:-0}" --loader_threads "${DEN_LOADERS:-6}" \
    --log_every 200 --save_every 4000 --progress_bar=false "${EXTRA[@]}" > "$RUNS/den-$tag.log" 2>&1 &
  wait
  for r in vae-$tag thin-$tag den-$tag; do
    [ -f "$RUNS/$r.log" ] || continue
    echo "== $r"; tail -3 "$RUNS/$r.log"; cat "$RUNS/$r/summary.json" 2>/dev/null | head -c 600; echo
  done
  mkdir -p "$RUNS/merged-$tag"
  $TRAIN merge --vae "$vae_src" --thin "$thin_src" --denoiser "$den_src" \
    --out "$RUNS/merged-$tag/model.safetensors" --dtype fp16 || exit 1
  split -b 15m -d "$RUNS/merged-$tag/model.safetensors" "$OUT/model-$tag.safetensors.part"
  tar czf "$OUT/runs-$tag.tar.gz" -C "$RUNS" --exclude='*.safetensors' --exclude='*.pt' \
    --exclude='merged*' --exclude=state --ignore-failed-read vae-$tag.log thin-$tag.log den-$tag.log \
    vae-$tag thin-$tag den-$tag
  ls -la "$OUT"
  ;;
decode)
  # Decode speed, eager vs CUDA graphs (and the DECODE_FLAGS variants), full vs thin, in
  # one run (DECODE_CKPT: default the shipped model), after the CUDA decode tests on this
  # GPU when they were built.
  if [ "${DECODE_TESTS:-1}" = 1 ] && [ -x "$BIN/tests/vidserve_model_tests" ]; then
    run_model_cuda_tests decode-tests
    cat "$RUNS"/decode-tests/*.log > "$OUT/model-tests-cuda.log"
  fi
  # DECODE_FLAGS e.g. "--precisions float32,float16 --channels-last 0,1 --conv2d 0,1
  # --direct-conv 0,1 --fold-upsampling 0,1 --fold-norms 0,1".
  $BENCH vae --device $DEVICE --checkpoint "${DECODE_CKPT:-models/vidserve-tiny}" \
    --sizes 17x64x64,65x256x256 --batches 1,8 --repeats 20 ${DECODE_FLAGS:-} \
    --json "$OUT/vae-decode.json" 2>&1 \
    | tee "$OUT/vae-decode.txt"
  ;;
folds)
  # The decode folds, off by default (measured in BENCHMARKS.md section 3)
  # (VideoModel::Options::decode_fold_upsampling and decode_fold_norms): their CUDA tests
  # (after 'build' with BUILD_TESTS=1), then every combination against the defaults in one
  # bench run, for the sizes where launches dominate (FOLDS_SIZES, FOLDS_BATCHES).
  run_cuda_tests folds kernels 150 vidserve_model_tests \
    'NarrowConv3dCuda.*:CudaGraphDecode.*:DecoderOutputBytesCuda.*:SkipProjectionAddCuda.*'
  cp "$RUNS/folds/kernels.log" "$OUT/folds-tests.log"
  $BENCH vae --device $DEVICE --checkpoint "${DECODE_CKPT:-models/vidserve-tiny}" \
    --sizes "${FOLDS_SIZES:-17x64x64}" --batches "${FOLDS_BATCHES:-1,8}" --repeats 30 \
    --fold-upsampling 0,1 --fold-norms 0,1 --json "$OUT/vae-folds.json" > "$OUT/vae-folds.txt" 2>&1
  grep -E "^(17|65)x" "$OUT/vae-folds.txt" | grep cuda_graph
  ;;
cudatests|cudaintegration)
  # After 'build' with BUILD_TESTS=all. cudatests: the CUDA kernels' tests and the model
  # facade's with the model on this GPU; cudaintegration: the gRPC server's integration
  # tests with the model on this GPU (VIDSERVE_TEST_DEVICE=cuda). Each binary runs in one
  # process under a time limit; the logs come back in one archive per phase.
  if [ "$phase" = cudatests ]; then
    run_model_cuda_tests "$phase"
    run_cuda_tests "$phase" mixers 120 vidserve_mixer_tests 'LogLinearFusedCuda.*'
  else
    run_cuda_tests "$phase" integration "${INTEGRATION_TIMEOUT:-300}" vidserve_integration_tests
  fi
  tar czf "$OUT/$phase.tar.gz" -C "$RUNS" "$phase"
  ;;
serve)
  # The gRPC serving bench on this GPU with the shipped model (SERVE_FLAGS adds flags).
  timeout "${SERVE_TIMEOUT:-240}" $BENCH serve --device $DEVICE --model models/vidserve-tiny \
    ${SERVE_FLAGS:-} --json "$OUT/serve.json" > "$OUT/serve.txt" 2>&1
  echo "serve rc=$?"; grep -v INFO "$OUT/serve.txt" | tail -30
  ;;
sweep)
  # Sampler settings on the held-out tuning set (seeds after the first 256, which the
  # reported figures use): one quality run per SWEEP_STEPS x SWEEP_GUIDANCE pair.
  mkdir -p "$RUNS/sweep"
  for steps in ${SWEEP_STEPS:-20 40}; do
    for g in ${SWEEP_GUIDANCE:-3 4 5}; do
      $BENCH quality --device $DEVICE --checkpoint "${SWEEP_CKPT:-models/vidserve-tiny}" \
        --vae-clips 8 --prompts 256 --first-held-out 256 --steps $steps --guidance $g \
        --json "$RUNS/sweep/steps$steps-g$g.json" > "$RUNS/sweep/steps$steps-g$g.txt" 2>&1
      echo "steps $steps guidance $g: $(grep -E '^ +colour' "$RUNS/sweep/steps$steps-g$g.txt")"
    done
  done
  tar czf "$OUT/sweep.tar.gz" -C "$RUNS" sweep
  ;;
thinshapes)
  # Decode speed of thin decoders of other shapes (THIN_SHAPES: "stages:width multiplier:
  # output patch[:latent res blocks[:upsample to next width]]" each, in order of preference;
  # the fourth field, -1 by default, keeps that many of the res blocks at the latents'
  # resolution; the fifth, 0 by default, is --thin_upsample_to_next_width) against the full
  # decoder, one bench run per
  # shape, each thin decoder warm-started from the shipped one where its tensors still fit
  # (speed does not depend on the weights). The first shape at least THIN_MIN_SPEEDUP x
  # faster (17x64x64 x 8, CUDA graphs, float32) goes to $RUNS/thin-pick.flags for
  # 'continue' with THIN_FLAGS=pick.
  picks=()
  for shape in ${THIN_SHAPES:-2:0.25:2 3:0.5:2 3:0.25:2 2:0.25:4}; do
    IFS=: read -r s m p l u <<< "$shape"; p=${p:-1}; l=${l:--1}; u=${u:-0}
    tag="$s-$m-$p-$l"; [ "$u" != 0 ] && tag+="-up$u"; d="$RUNS/thinshape-$tag"
    flags="--thin_stages $s --thin_width_multiplier $m --thin_output_patch $p"
    flags+=" --thin_latent_res_blocks $l --thin_upsample_to_next_width $u"
    $TRAIN thin --device $DEVICE --init_checkpoint models/vidserve-tiny --run_dir "$d" --steps 1 \
      --batch_size 2 --loader_threads 1 --progress_bar=false $flags "${EXTRA[@]}" > "$d.log" 2>&1 &&
    $TRAIN merge --vae models/vidserve-tiny --thin "$d" --denoiser models/vidserve-tiny \
      --trained=false --out "$d-merged/model.safetensors" >> "$d.log" 2>&1 ||
      { echo "thin shape $shape: FAILED"; tail -5 "$d.log"; continue; }
    $BENCH vae --device $DEVICE --checkpoint "$d-merged" --sizes 17x64x64,65x256x256 \
      --batches 1,8 --repeats 20 ${THIN_SHAPE_BENCH_FLAGS:-} \
      --json "$RUNS/vae-thin-$tag.json" > "$RUNS/vae-thin-$tag.txt" 2>&1
    grep -E "^(17|65)x" "$RUNS/vae-thin-$tag.txt" | sed "s/^/thin $shape  /"
    picks+=("$flags=$RUNS/vae-thin-$tag.json")
  done
  python3 tools/gpu/pick_thin_shape.py "${THIN_MIN_SPEEDUP:-2.7}" "${picks[@]}" \
    > "$RUNS/thin-pick.flags" || exit 1
  echo "picked: $(cat "$RUNS/thin-pick.flags")"
  # One file back (the transfer returns at most 8).
  tar czf "$OUT/thinshapes.tar.gz" -C "$RUNS" thin-pick.flags $(cd "$RUNS" && ls vae-thin-*)
  ;;
profile)
  # Kernel times of one decode per decoder (PROFILE_SIZE, default 17x64x64, batch
  # PROFILE_BATCH, default 8) under Nsight Compute, picked out by the bench's NVTX ranges.
  # PROFILE_VARIANT names the bench variants (space-separated; each becomes an
  # --nvtx-include): by default its eager baseline (LibTorch's convolutions and norms only);
  # "cuda_graph" is the served default (vidserve's kernels), profiled node by node inside the
  # graph; PROFILE_FLAGS adds bench flags (e.g. "--fold-upsampling 0,1" for the variant
  # "cuda_graph+fold_upsampling"). PROFILE_DECODERS (default "thin full") and PROFILE_TAG (the
  # archive's name: profile$PROFILE_TAG.tar.gz) let one call run several.
  variants="${PROFILE_VARIANT:-eager+libtorch_conv+libtorch_norm}"
  tag="${PROFILE_TAG:-}"
  graph_flags=(); [[ "$variants" == *cuda_graph* ]] && graph_flags=(--graph-profiling node)
  for d in ${PROFILE_DECODERS:-thin full}; do
    includes=(); for v in $variants; do includes+=(--nvtx-include "$v-$d/"); done
    timeout "${PROFILE_TIMEOUT:-120}" ncu --nvtx "${includes[@]}" "${graph_flags[@]}" \
      --csv --metrics gpu__time_duration.sum $BENCH vae --device $DEVICE \
      --checkpoint models/vidserve-tiny --sizes "${PROFILE_SIZE:-17x64x64}" \
      --batches "${PROFILE_BATCH:-8}" --repeats 1 ${PROFILE_FLAGS:-} \
      > "$RUNS/ncu$tag-$d.csv" 2> "$RUNS/ncu$tag-$d.err"; echo "ncu$tag $d rc=$?"
  done
  (cd "$RUNS" && tar czf "$OUT/profile$tag.tar.gz" ncu$tag-*.csv ncu$tag-*.err)
  ;;
eval)
  mkdir -p "$RUNS/merged"
  for mixer in softmax loglinear mesa; do
    $TRAIN merge --vae "$RUNS/vae" --thin "$RUNS/thin" --denoiser "$RUNS/den-$mixer" \
      --out "$RUNS/merged/$mixer/model.safetensors" --dtype fp16 || exit 1
  done
  $BENCH quality --device $DEVICE --checkpoint "$RUNS/merged/softmax" \
    --checkpoint "$RUNS/merged/loglinear" --checkpoint "$RUNS/merged/mesa" \
    --vae-clips 256 --prompts 256 --steps 20 ${QUALITY_FLAGS:-} --json "$OUT/quality.json" 2>&1 | tee "$OUT/quality.txt"
  $BENCH vae --device $DEVICE ${VAE_BENCH_FLAGS:-} --json "$OUT/vae-bench.json" 2>&1 | tee -a "$OUT/quality.txt"
  # The shipped candidate comes back in parts of < 16 MiB (the transfer limit per file).
  split -b 15m -d "$RUNS/merged/softmax/model.safetensors" "$OUT/model.safetensors.part"
  tar czf "$OUT/runs.tar.gz" -C "$RUNS" --exclude='*.safetensors' --exclude='*.pt' \
    --exclude=merged --exclude=state .
  ls -la "$OUT"
  ;;
*) echo "unknown phase $phase"; exit 2 ;;
esac
done
