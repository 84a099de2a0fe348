#!/usr/bin/env bash
# The recipe of the shipped default, vgg16-mean-v4-hints-v5 (colorize_core/models/default.*): 1.1 x the mean of
# two networks' chroma, run side by side. Its members: vgg16-ft5-hyper-mse-56-v4 (default-v4.sh; the file
# default.tflite) and the hint model vgg16-hyper-hints-mse-56-v1 given no hints (hints.sh; hints.tflite).
# convert.blend then rewrites default.tflite's card into the blend (the gain by session 10's rule: the smallest
# reaching the previous default's colourfulness on the clean tune photos; docs/experiments.md, session 12).
# Usage: bash convert/recipes/default.sh RUNS_DIR [CACHE]   (run from the repository root, train extra installed)
set -euo pipefail
here=$(dirname "$0")
bash "$here/default-v4.sh" "$@"
bash "$here/hints.sh" "$@"
python -m convert.blend colorize_core/models/default.tflite --with hints.tflite --gain 1.1 \
       --name vgg16-mean-v4-hints-v5 --card-extra convert/card_default.json
