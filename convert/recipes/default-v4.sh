#!/usr/bin/env bash
# The recipe of vgg16-ft5-hyper-mse-56-v4, the default until session 12 and half of the default until session
# 14; no longer shipped, kept as the teacher of the speed model (convert/recipes/fast.sh).
# Usage: bash convert/recipes/default-v4.sh RUNS_DIR [CACHE]   (run from the repository root, train extra installed)
# Steps: the cache of 224x224 crops (convert.dataset), ImageNet VGG16 features, the decoder on the frozen
# encoder (7 epochs), VGG16's block5 fine-tuned with it (3 epochs), dynamic-range export at gain 0.9.
# Made on the first 13,400 photos of ../shared/data/train (before the 2026-12 additions); on today's
# folder it trains on all of them. Every step resumes where it stopped.
set -euo pipefail
RUNS=$1 CACHE=${2:-$1/cache}
source "$(dirname "$0")/prepare.sh"
python -m convert.train "$RUNS/hyper-mse-56-long" --cache "$CACHE" --weights "$W" --loss mse --epochs 7 --cosine
python -m convert.features --cache "$CACHE" --weights "$W" --extend block4
python -m convert.train "$RUNS/ft5-mse-56" --cache "$CACHE" --weights "$W" --finetune-block5 "$RUNS/hyper-mse-56-long" \
       --epochs 3 --lr 5e-5 --cosine
python -m convert.export "$RUNS/ft5-mse-56" --weights "$W" --out colorize_core/models/default.tflite \
       --name vgg16-ft5-hyper-mse-56-v4 --quantization dynamic --compare float32 float16 int8 int16x8 \
       --output-gain 0.9 --card-extra convert/card_default_v4.json
