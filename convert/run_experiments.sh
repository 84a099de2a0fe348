#!/usr/bin/env bash
# The experiments behind docs/experiments.md, in the order they ran.
# Usage: bash convert/run_experiments.sh CACHE_DIR VGG16_WEIGHTS.h5 RUNS_DIR STAGE
#   STAGE 1: the four decoders at an equal 9-minute CPU budget, then 20 more minutes for classify
#            (session 1, on the 7,101 training photos whose features were cached by then, with
#            the decoder's last ReLU that later runs replaced by a leaky one: see docs/experiments.md).
#   STAGE 2: 33x33 vs 56x56 chroma at stage 1's budget and photos; the long Euclidean run on all
#            training photos (session 2's shipped model); transfer vs scratch end to end at equal budget.
#   STAGE 3: the long run again with the MSE loss (shipped since session 3), and with log_mse (the
#            per-photo metric as a loss), to compare the losses at that budget instead of nine minutes.
#   STAGE 4: frozen, then fine-tuned: stage 3's MSE run with VGG16's block5 unfrozen, trained on
#            cached block4 features (the cache extended once by `convert.features --extend block4`).
#   STAGE 5: speed: stage 3's frozen MSE recipe with the encoder seeing the photo at 112x112 and at
#            80x80 instead of 224x224 (features cached per size in CACHE/input<size>/).
#   STAGE 6: the 112 run of stage 5, frozen then fine-tuned like stage 4 (two epochs).
#   STAGE 7: stage 6's model with VGG16 pruned to 5/8 of its inner channels (least squares, no
#            training; at 1/2 too), then the whole pruned model fine-tuned from the photos (stopped
#            early in its second epoch), and distilled one epoch from stage 6's model (shipped as fast-v2).
#   STAGE 8: stage 7's 1/2 model distilled like fast-v2; fast-v2 one more epoch distilled from stage 4's
#            224x224 model (the default) instead of stage 6's.
#   STAGE 9: one more epoch from the default for fast-v3 (x2); the 1/2 model of stage 8 distilled from the
#            default once, then once more (fast-v4), then a third time (not shipped). The default's chroma is
#            reused from stage 8's run.
#   STAGE 10: the default as a mirror-averaged teacher (--distill-mirror: its chroma for each photo and
#            its mirror image, averaged; 39 minutes more for the mirror images): fast-v4 one more epoch
#            (x3m), and stage 9's one-epoch 1/2 model a second epoch (x2m), instead of the plain teacher.
# Needs the cache from `python -m convert.dataset` and `python -m convert.features`.
# Each run resumes if its folder exists, so run each stage once per RUNS_DIR.
set -euo pipefail
cache=$1 weights=$2 runs=$3 stage=$4
log() { tr '\r' '\n' | grep -v -E '^\s*$|step - ' >> "$runs/$1.log"; }
train() { python -m convert.train "$runs/$1" --cache "$cache" --weights "$weights" "${@:2}" 2>&1 | log "$1"; }
# RUN FROM SOURCE [ARGS]: one epoch of FROM distilled from the default, reusing SOURCE's teacher chroma files
from_default() {
  mkdir -p "$runs/$1"; cp -n "$runs/$3"/teacher_uv* "$runs/$1/"
  train "$1" --loss mse --finetune-all "$runs/$2" --distill 1 --distill-from "$runs/ft5-mse-56" "${@:4}" \
        --epochs 1 --lr 5e-5 --cosine
}
mkdir -p "$runs"
if [ "$stage" = 1 ]; then
  budget=(--minutes 9 --epochs 100)
  train hyper-classify-56 --model hyper --loss classify --chroma-size 56 "${budget[@]}"
  train hyper-mse-56      --model hyper --loss mse --chroma-size 56 "${budget[@]}"
  train hyper-euclid-56   --model hyper --loss euclidean --chroma-size 56 "${budget[@]}"
  train seed-mse-33       --model seed --loss mse --chroma-size 33 --optimizer sgd --lr 0.01 "${budget[@]}"
  # the most colourful of the four got more time
  train hyper-classify-56 --model hyper --loss classify --chroma-size 56 --minutes 20 --epochs 100
elif [ "$stage" = 2 ]; then
  # same photos (the first 7,101 of the seeded feature order) and budget as hyper-euclid-56
  train hyper-euclid-33 --model hyper --loss euclidean --chroma-size 33 --max-train 7101 --minutes 9 --epochs 100
  # session 2's shipped model: all training photos, 7 epochs with a cosine learning-rate decay
  train hyper-euclid-56-long --model hyper --loss euclidean --chroma-size 56 --epochs 7 --cosine --minutes 50
  # transfer vs scratch, whole network trained from the photos at a fine-tuning learning rate:
  # one epoch over the same 1,200 photos each
  train e2e-transfer-euclid-56 --model hyper --loss euclidean --chroma-size 56 --end-to-end --max-train 1200 --epochs 1 --lr 1e-4
  python -m convert.train "$runs/e2e-scratch-euclid-56" --cache "$cache" --scratch --model hyper --loss euclidean \
    --chroma-size 56 --end-to-end --max-train 1200 --epochs 1 --lr 1e-4 2>&1 | log e2e-scratch-euclid-56
elif [ "$stage" = 3 ]; then
  # the same schedule as hyper-euclid-56-long; --minutes only guards against a slower machine
  train hyper-mse-56-long --model hyper --loss mse --chroma-size 56 --epochs 7 --cosine --minutes 80
  # one epoch fewer: what was left of the session
  train hyper-logmse-56-long --model hyper --loss log_mse --chroma-size 56 --epochs 6 --cosine --minutes 70
elif [ "$stage" = 4 ]; then
  python -m convert.features --cache "$cache" --weights "$weights" --extend block4
  train ft5-mse-56 --loss mse --finetune-block5 "$runs/hyper-mse-56-long" --epochs 3 --lr 5e-5 --cosine
elif [ "$stage" = 5 ]; then
  for size in 112 80; do
    python -m convert.features --cache "$cache" --weights "$weights" --input-size $size 2>&1 | log features-$size
    train hyper-mse-56-in$size --model hyper --loss mse --chroma-size 56 --epochs 7 --cosine --input-size $size
  done
elif [ "$stage" = 6 ]; then
  python -m convert.features --cache "$cache" --weights "$weights" --input-size 112 --extend block4 2>&1 | log features-112
  train ft5-mse-56-in112 --loss mse --finetune-block5 "$runs/hyper-mse-56-in112" --epochs 2 --lr 5e-5 --cosine
elif [ "$stage" = 7 ]; then
  prune() { python -m convert.prune "$runs/$1" --from "$runs/ft5-mse-56-in112" --cache "$cache" "${@:2}" 2>&1 | log "$1"; }
  prune prune50-in112 --ratio 0.5
  prune prune62-in112 --ratio 0.625
  train ftall-prune62-in112 --loss mse --finetune-all "$runs/prune62-in112" --epochs 2 --lr 5e-5 --cosine
  train distill-prune62-in112 --loss mse --finetune-all "$runs/prune62-in112" --distill 1 --epochs 1 --lr 5e-5 --cosine
elif [ "$stage" = 8 ]; then
  train distill-prune50-in112 --loss mse --finetune-all "$runs/prune50-in112" --distill 1 --epochs 1 --lr 5e-5 --cosine
  train distill224-prune62-in112 --loss mse --finetune-all "$runs/distill-prune62-in112" --distill 1 \
        --distill-from "$runs/ft5-mse-56" --epochs 1 --lr 5e-5 --cosine
elif [ "$stage" = 9 ]; then
  from_default distill224x2-prune62-in112 distill224-prune62-in112 distill224-prune62-in112
  from_default distill224-prune50-in112 distill-prune50-in112 distill224-prune62-in112
  from_default distill224x2-prune50-in112 distill224-prune50-in112 distill224-prune62-in112
  from_default distill224x3-prune50-in112 distill224x2-prune50-in112 distill224-prune62-in112
elif [ "$stage" = 10 ]; then
  from_default distill224m-x3-prune50-in112 distill224x2-prune50-in112 distill224-prune62-in112 --distill-mirror
  from_default distill224m-x2-prune50-in112 distill224-prune50-in112 distill224m-x3-prune50-in112 --distill-mirror
else
  echo "STAGE must be 1 to 10" >&2; exit 2
fi
echo "stage $stage done" >> "$runs/driver.log"
