"""Cache a frozen ImageNet VGG16 encoder's features for every prepared photo.

Usage: python -m convert.features --cache CACHE_DIR --weights VGG16_NOTOP.h5

A frozen encoder gives the same features every epoch, so computing them once (about 60 ms a
photo on this CPU) lets decoders train at over 50 photos a second instead of 4-15. Writes
`features_<tap>.npy` (float16, memory-mapped) and resumes where a previous run stopped.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from convert import dataset  # noqa: E402


def extract(cache: Path, weights: str, *, progress: bool = True) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Fill (or finish) the feature arrays for the 'hyper' encoder taps.

    Photos are processed in a seeded random order (`order.npy`: row -> photo index), so that a
    partial run is an unbiased sample of every split and training can start before it ends.
    The frozen encoder runs as a float32 .tflite (15% faster than Keras here, same features).
    Returns the memory-mapped arrays and the photo index of each finished row.
    """
    from convert import export, models
    crops, _ = dataset.load(cache)
    n = len(crops)
    taps = models.ENCODER_OUTPUTS["hyper"]
    state_path = cache / "features.json"
    state = json.loads(state_path.read_text()) if state_path.exists() else {"done": 0, "weights": weights}
    order_path = cache / "order.npy"
    if not order_path.exists() or state["done"] == 0:
        np.save(order_path, np.random.default_rng(2017).permutation(n))  # not the split seed
        state["done"] = 0
    order = np.load(order_path)
    arrays = {}
    for tap, shape in zip(taps, models.encoder_feature_shapes("hyper")):
        path = cache / f"features_{tap}.npy"
        arrays[tap] = (np.load(path, mmap_mode="r+") if state["done"] > 0 else
                       np.lib.format.open_memmap(path, mode="w+", dtype=np.float16, shape=(n,) + shape))
    if state["done"] < n:
        from ai_edge_litert.interpreter import Interpreter
        interp = Interpreter(model_content=export.to_tflite(models.build_encoder("hyper", weights), "float32"),
                             num_threads=os.cpu_count())
        interp.allocate_tensors()
        inp = interp.get_input_details()[0]["index"]
        outs = [d["index"] for d in sorted(interp.get_output_details(), key=lambda d: d["name"])]
        start, t0 = state["done"], time.time()
        for row in range(start, n):
            interp.set_tensor(inp, dataset.lumas(crops[order[row]:order[row] + 1]))
            interp.invoke()
            for tap, idx in zip(taps, outs):
                arrays[tap][row] = interp.get_tensor(idx)[0].astype(np.float16)
            if (row + 1) % 200 == 0 or row + 1 == n:
                for a in arrays.values():
                    a.flush()
                state["done"] = row + 1
                state_path.write_text(json.dumps(state))
                if progress:
                    rate = (row + 1 - start) / (time.time() - t0)
                    print(f"features {row + 1}/{n}  {rate:.1f} photos/s  eta {(n - row - 1) / rate / 60:.1f} min",
                          file=sys.stderr, flush=True)
    return load(cache)


def load(cache: Path) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The cached feature arrays (rows finished so far) and the photo index of each row."""
    from convert import models
    done = json.loads((cache / "features.json").read_text())["done"]
    arrays = {k: np.load(cache / f"features_{k}.npy", mmap_mode="r")[:done] for k in models.ENCODER_OUTPUTS["hyper"]}
    return arrays, np.load(cache / "order.npy")[:done]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m convert.features", description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", type=Path, required=True, help="cache folder made by convert.dataset")
    ap.add_argument("--weights", required=True, help="ImageNet VGG16 notop .h5 (see shared/weights/README.md)")
    args = ap.parse_args(argv)
    arrays, _ = extract(args.cache, args.weights)
    print({k: v.shape for k, v in arrays.items()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
