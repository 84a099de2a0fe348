#!/usr/bin/env bash
# The recipe of the shipped default, vgg16-hyper-hints-classify-56-v1 (colorize_core/models/default.*): one
# network, the frozen ImageNet VGG16 and the hyper decoder with the hint input, predicting a distribution over
# 480 chroma bins (rebalanced soft-encoded cross-entropy, simulated hints, 5 epochs, bfloat16), read out inside
# the graph with prior correction 0.55 at temperature 0.7 (the rule in docs/results/colour_s14/rule.txt).
# Usage: bash convert/recipes/default.sh RUNS_DIR [CACHE]   (run from the repository root, train extra installed)
# Steps: the cache of 224x224 crops of all 28,470 photos with the hash split (convert.dataset), the frozen
# encoder's features as the shipped model runs it (dynamic-range int8), training, dynamic-range export, then the
# hint-count curve and one dot's far effect. Every step resumes where it stopped.
set -euo pipefail
RUNS=$1 CACHE=${2:-$1/cache}
W=$RUNS/weights/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5
[ -f "$W" ] || python ../shared/tools/vgg16_imagenet_weights.py "$RUNS/weights"
python -m convert.dataset ../shared/data/train --cache "$CACHE"
python -m convert.features --cache "$CACHE" --weights "$W" --quantization dynamic
python -m convert.train "$RUNS/cls-hints" --cache "$CACHE" --weights "$W" --loss classify --hints --epochs 5 \
       --cosine --batch 32 --precision mixed_bfloat16
python -m convert.export "$RUNS/cls-hints" --weights "$W" --out colorize_core/models/default.tflite \
       --name vgg16-hyper-hints-classify-56-v1 --temperature 0.7 --prior-correction 0.55 --quantization dynamic \
       --card-extra convert/card_default.json
python -m convert.hint_curve --model colorize_core/models/default.tflite --photos ../shared/data/eval/kodak24 \
       --cache "$CACHE" --split tune --group people --sample 1500 --out docs/results/colour_s14/hints
