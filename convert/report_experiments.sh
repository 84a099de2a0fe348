#!/usr/bin/env bash
# Export every run of run_experiments.sh (dynamic-range int8) and score it, beside the gray and
# oracle references, on the tune split, on its BSDS500 photos as whole frames (the user-like tune
# photos: model choice since session 3) and on Kodak24 (report only, never tuned on).
# Usage: bash convert/report_experiments.sh CACHE_DIR VGG16_WEIGHTS.h5 RUNS_DIR KODAK_DIR OUT_DIR [RUN...]
set -euo pipefail
cache=$1 weights=$2 runs=$3 kodak=$4 out=$5
shift 5
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(hyper-classify-56 hyper-mse-56 hyper-euclid-56 seed-mse-33)
models=()
for name in "${names[@]}"; do
  [ -f "$runs/$name/model.weights.h5" ] || { echo "skipping $name: not trained"; continue; }
  mkdir -p "$runs/export"; python -m convert.export "$runs/$name" --weights "$weights" --out "$runs/export/$name.tflite" --name "$name" \
         --quantization dynamic --check-photos 16 > "$runs/export/$name.export.json" 2> "$runs/export/$name.export.log" \
    || { echo "export of $name failed: see $runs/export/$name.export.log"; exit 1; }
  models+=(--model "$runs/export/$name.tflite")
done
python -m convert.evaluate "$cache" --split tune --limit 300 "${models[@]}" --out "$out/tune"
python -m convert.evaluate "$cache" --split tune --match /bsds/ --originals "${models[@]}" --out "$out/tune_bsds"
python -m convert.evaluate "$kodak" "${models[@]}" --out "$out/kodak24"
