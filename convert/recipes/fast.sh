#!/usr/bin/env bash
# The recipe of the shipped speed model, vgg16p50-distill224x2-hyper-mse-56-in112-fast-v4 (colorize_core/models/fast.*).
# Usage: bash convert/recipes/fast.sh RUNS_DIR [CACHE]   (after convert/recipes/default-v4.sh RUNS_DIR [CACHE]:
# that model's run, ft5-mse-56, is the teacher of the last two steps)
# Steps: v4's recipe with VGG16 seeing the photo at 112x112 (fast-v1), pruned to half of its inner
# channels by least squares, distilled one epoch from fast-v1, then twice from the 224x224 v4 (default-v4.sh);
# dynamic-range export at gain 1.1. Every step resumes where it stopped.
set -euo pipefail
RUNS=$1 CACHE=${2:-$1/cache}
W=$RUNS/weights/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5
python -m convert.features --cache "$CACHE" --weights "$W" --input-size 112
python -m convert.train "$RUNS/hyper-mse-56-in112" --cache "$CACHE" --weights "$W" --loss mse --epochs 7 --cosine \
       --input-size 112
python -m convert.features --cache "$CACHE" --weights "$W" --input-size 112 --extend block4
python -m convert.train "$RUNS/ft5-mse-56-in112" --cache "$CACHE" --weights "$W" \
       --finetune-block5 "$RUNS/hyper-mse-56-in112" --epochs 2 --lr 5e-5 --cosine
[ -f "$RUNS/prune50-in112/model.weights.h5" ] || \
  python -m convert.prune "$RUNS/prune50-in112" --from "$RUNS/ft5-mse-56-in112" --cache "$CACHE" --ratio 0.5
python -m convert.train "$RUNS/distill-prune50-in112" --cache "$CACHE" --weights "$W" --loss mse \
       --finetune-all "$RUNS/prune50-in112" --distill 1 --epochs 1 --lr 5e-5 --cosine
python -m convert.train "$RUNS/distill224-prune50-in112" --cache "$CACHE" --weights "$W" --loss mse \
       --finetune-all "$RUNS/distill-prune50-in112" --distill 1 --distill-from "$RUNS/ft5-mse-56" --epochs 1 --lr 5e-5 --cosine
# the same teacher on the same photos: reuse its chroma (46 minutes) with the sidecar that names it
mkdir -p "$RUNS/distill224x2-prune50-in112"
cp -n "$RUNS/distill224-prune50-in112"/teacher_uv.* "$RUNS/distill224x2-prune50-in112/"
python -m convert.train "$RUNS/distill224x2-prune50-in112" --cache "$CACHE" --weights "$W" --loss mse \
       --finetune-all "$RUNS/distill224-prune50-in112" --distill 1 --distill-from "$RUNS/ft5-mse-56" --epochs 1 --lr 5e-5 --cosine
python -m convert.export "$RUNS/distill224x2-prune50-in112" --out colorize_core/models/fast.tflite --output-gain 1.1 \
       --name vgg16p50-distill224x2-hyper-mse-56-in112-fast-v4 --quantization dynamic --compare float32 float16 \
       --card-extra convert/card_fast.json
