#!/usr/bin/env bash
# The recipe of the shipped hint model, vgg16-hyper-hints-mse-56-v1 (colorize_core/models/hints.*).
# Usage: bash convert/recipes/hints.sh RUNS_DIR [CACHE]   (run from the repository root, train extra installed)
# Steps: the cache of 224x224 crops of all 24,740 photos (convert.dataset), ImageNet VGG16 features, the hint
# decoder on the frozen encoder with simulated hints (6 epochs, convert.hints), dynamic-range export at gain 1.0
# (hinted colours come back as given), then the hint-count curve on Kodak24 and the tune split's people photos.
# Every step resumes where it stopped.
set -euo pipefail
RUNS=$1 CACHE=${2:-$1/cache}
source "$(dirname "$0")/prepare.sh"
python -m convert.train "$RUNS/hint-224" --cache "$CACHE" --weights "$W" --loss mse --epochs 6 --cosine --hints
python -m convert.export "$RUNS/hint-224" --weights "$W" --out colorize_core/models/hints.tflite \
       --name vgg16-hyper-hints-mse-56-v1 --quantization dynamic --compare float32 \
       --output-gain 1.0 --card-extra convert/card_hints.json
python -m convert.hint_curve --model colorize_core/models/hints.tflite --photos ../shared/data/eval/kodak24 \
       --cache "$CACHE" --split tune --group people --sample 1500 --out docs/results/hints
