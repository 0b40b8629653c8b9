#!/usr/bin/env bash
# Draws docs/training-losses.png: the loss curves of every run behind the shipped
# models/vidserve-tiny weights, end to end per stage, from the CSV copies kept under
# benchmarks/ (the lineage is the model card's "Training" section). Run from the project
# root; needs python3-matplotlib.
set -euo pipefail
b=benchmarks
runs=(
  "$b/2026-11-25/h100-training/vae-losses.csv:vae+1"
  "$b/2026-11-28/h200-continuation/vae-c15-losses.csv:vae+c15-decoder"
  "$b/2026-11-25/h100-training/thin-losses.csv:thin+1"
  "$b/2026-11-25/h100-training/thin-2-losses.csv:thin+2"
)
for c in 1 2 3 4 5; do runs+=("$b/2026-11-25/h100-continuation/thin-c$c-losses.csv:thin+c$c"); done
for c in 16 17 18; do runs+=("$b/2026-11-28/h200-continuation/thin-c$c-losses.csv:thin+c$c"); done
for c in 19 20 21; do runs+=("$b/2026-11-28/h200-stability/thin-c$c-losses.csv:thin+c$c"); done
# t3: c21's thin decoder with one res block at the latents' resolution instead of two.
runs+=("$b/2026-11-29/h200-thin-latent-res-blocks/thin-t3/losses.csv:thin+t3")
# t5, t6: t3's thin decoder upsampling straight to the next stage's width, distilled twice.
runs+=("$b/2026-11-29/h200-upsample-to-next-width/thin-t5-losses.csv:thin+t5"
       "$b/2026-11-29/h200-upsample-to-next-width/thin-t6-losses.csv:thin+t6")
runs+=("$b/2026-11-25/h100-training/den-softmax-losses.csv:denoiser+1"
       "$b/2026-11-25/h100-training/den-softmax-2-losses.csv:denoiser+2"
       "$b/2026-11-25/h100-training/den-softmax-3-losses.csv:denoiser+3")
# c10 branched off c9 and was not continued; c11 started from c9.
for c in 1 2 3 4 5 6 7 8 9 11 12 13 14; do
  runs+=("$b/2026-11-25/h100-continuation/den-c$c-losses.csv:denoiser+c$c")
done
for c in 15 16 17; do runs+=("$b/2026-11-28/h200-continuation/den-c$c-losses.csv:denoiser+c$c"); done
runs+=("$b/2026-11-28/h200-stability/den-c22-losses.csv:denoiser+c22")
for c in 23 24 25; do runs+=("$b/2026-11-28/h200-rounds-c23-c26/den-c$c-losses.csv:denoiser+c$c"); done
exec tools/train/plot_losses.py "${1:-docs/training-losses.png}" "${runs[@]}"
