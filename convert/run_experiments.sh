#!/usr/bin/env bash
# The experiments behind docs/experiments.md, in the order they ran, at equal CPU budgets.
# Usage: bash convert/run_experiments.sh CACHE_DIR VGG16_WEIGHTS.h5 RUNS_DIR [MINUTES_EACH] [EXTRA_MINUTES]
# Needs the cache from `python -m convert.dataset` and `python -m convert.features`.
set -euo pipefail
cache=$1 weights=$2 runs=$3 minutes=${4:-9} extra=${5:-20}
train() { python -m convert.train "$runs/$1" --cache "$cache" --weights "$weights" --minutes "$minutes" \
            --epochs 100 "${@:2}" 2>&1 | tr '\r' '\n' | grep -v -E '^\s*$|step - ' >> "$runs/$1.log"; }
mkdir -p "$runs"
train hyper-classify-56 --model hyper --loss classify --chroma-size 56
train hyper-mse-56      --model hyper --loss mse --chroma-size 56
train hyper-euclid-56   --model hyper --loss euclidean --chroma-size 56
train seed-mse-33       --model seed --loss mse --chroma-size 33 --optimizer sgd --lr 0.01
# the best of the four (chosen by the tune loss curves and Kodak24 afterwards) gets more time
minutes=$extra train hyper-classify-56 --model hyper --loss classify --chroma-size 56
echo "all done" >> "$runs/driver.log"
