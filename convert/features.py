"""Cache a frozen ImageNet VGG16 encoder's features for every prepared photo.

Usage: python -m convert.features --cache CACHE_DIR --weights VGG16_NOTOP.h5
       python -m convert.features --cache CACHE_DIR --weights VGG16_NOTOP.h5 --extend block4
       python -m convert.features --cache CACHE_DIR --weights VGG16_NOTOP.h5 --input-size 112

A frozen encoder gives the same features every epoch, so computing them once (about 6 photos
a second on this CPU) lets decoders train at over 50 photos a second instead of 4-15. Writes
`features_<tap>.npy` (float16, memory-mapped) and resumes where a previous run stopped; a cache
whose photos were rebuilt (another fingerprint in index.json) starts its features again.
--quantization dynamic runs the encoder as the shipped models run it (int8 weights): on a CPU
with int8 matrix units it is several times faster than float32, and the decoder then learns
from the very features it will see at run time.
Features of an encoder that sees the photos smaller (--input-size, for a faster model) go
to the subfolder `input<size>/` of the cache, so both sizes can live in one cache.
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

from colorize_core.model import make_interpreter  # noqa: E402
from convert import dataset, export, models  # noqa: E402
from convert.errors import ConvertError, reports_errors  # noqa: E402


def feature_dir(cache: Path, input_size: int) -> Path:
    """Where the features of an encoder seeing the photos at input_size live."""
    return (
        cache
        if models.check_input_size(input_size) == models.INPUT_SIZE
        else cache / f"input{input_size}"
    )


QUANTIZATIONS = ("float32", "dynamic")


def _resume_state(
    folder: Path, fingerprint: str, n: int, weights: str, input_size: int, quantization: str
) -> tuple[dict, np.ndarray]:
    """The progress record (features.json) and the row order to go on with. Features of other
    photos or another encoder cannot be finished, so they start again from a fresh order, and
    that fresh start drops the features `extend` added."""
    state_path = folder / "features.json"
    state = json.loads(state_path.read_text()) if state_path.exists() else {"done": 0}
    if (
        state.get("fingerprint") != fingerprint
        or state.get("quantization", "float32") != quantization
    ):
        state["done"] = 0  # other photos, or another encoder: start again
    order_path = folder / "order.npy"
    if not order_path.exists() or state["done"] == 0:
        np.save(order_path, np.random.default_rng(2017).permutation(n))  # not the split seed
        # a fresh start drops features added by `extend`
        state = {
            "done": 0,
            "weights": weights,
            "input_size": input_size,
            "quantization": quantization,
            "fingerprint": fingerprint,
        }
    return state, np.load(order_path)


def extract(
    cache: Path,
    weights: str,
    *,
    input_size: int = 224,
    quantization: str = "float32",
    progress: bool = True,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Fill (or finish) the feature arrays for the 'hyper' encoder taps.

    Photos are processed in a seeded random order (`order.npy`: row -> photo index), so that a
    partial run is an unbiased sample of every split and training can start before it ends.
    The frozen encoder runs as a .tflite in `quantization` (float32 is 15% faster than Keras here,
    same features). Returns the memory-mapped arrays and the photo index of each finished row.
    """
    if quantization not in QUANTIZATIONS:
        raise ValueError(f"quantization {quantization!r}: choose from {QUANTIZATIONS}")
    crops, index = dataset.load(cache)
    n = len(crops)
    folder = feature_dir(cache, input_size)
    folder.mkdir(exist_ok=True)
    state_path = folder / "features.json"
    state, order = _resume_state(folder, index["fingerprint"], n, weights, input_size, quantization)
    arrays = {}
    for tap, shape in zip(
        models.ENCODER_OUTPUTS["hyper"],
        models.encoder_feature_shapes("hyper", input_size),
        strict=True,
    ):
        path = folder / f"features_{tap}.npy"
        arrays[tap] = (
            np.load(path, mmap_mode="r+")
            if state["done"] > 0
            else np.lib.format.open_memmap(path, mode="w+", dtype=np.float16, shape=(n,) + shape)
        )
    if state["done"] < n:
        _fill(
            models.build_encoder("hyper", weights, input_size),
            arrays,
            lambda row: dataset.lumas(crops[order[row] : order[row] + 1], input_size),
            state,
            "done",
            state_path,
            progress,
            quantization,
        )
    return load(cache, input_size=input_size)


def extend(
    cache: Path,
    weights: str,
    stage: str = "block4",
    *,
    input_size: int = 224,
    progress: bool = True,
) -> np.ndarray:
    """Add one VGG16 block's output to the cache, computed from the cached tap before it.

    block4 turns the cached block3_pool into block4_pool (about 19 photos a second here, against
    about 6 for the whole encoder), which is what fine-tuning block5 (`convert.train
    --finetune-block5`) trains on. Needs the whole cache extracted first, with the same weights
    file; resumable like `extract`.
    """
    src, dst = models.STAGE_IO[stage]
    folder = feature_dir(cache, input_size)
    state_path = folder / "features.json"
    state = json.loads(state_path.read_text())
    if state.get("weights") is None or os.path.realpath(state["weights"]) != os.path.realpath(
        weights
    ):
        raise ConvertError(
            f"the cache's features were made with weights {state.get('weights')!r}, "
            f"not {weights!r}: extend it with the same file "
            "(a cache made with a random encoder cannot be extended)"
        )
    arrays, _ = load(cache, input_size=input_size)
    n_total = len(np.load(folder / "order.npy"))
    if len(arrays[src]) < n_total:
        raise ConvertError(
            f"the cache has {len(arrays[src])} of {n_total} photos' features: finish "
            f"`python -m convert.features --cache {cache} --weights {state['weights']}"
            f"{_size_option(input_size)}` first"
        )
    path = folder / f"features_{dst}.npy"
    state.setdefault(dst, 0)
    out = (
        np.load(path, mmap_mode="r+")
        if state[dst] > 0
        else np.lib.format.open_memmap(
            path,
            mode="w+",
            dtype=np.float16,
            shape=(n_total,) + models.feature_shape(dst, input_size),
        )
    )
    if state[dst] < n_total:
        _fill(
            models.build_vgg_stage(stage, weights, input_size),
            {dst: out},
            lambda row: np.asarray(arrays[src][row : row + 1], np.float32),
            state,
            dst,
            state_path,
            progress,
            state.get("quantization", "float32"),
        )
    return np.load(path, mmap_mode="r")


def _fill(
    model,
    arrays: dict[str, np.ndarray],
    input_of_row,
    state: dict,
    key: str,
    state_path: Path,
    progress: bool,
    quantization: str = "float32",
) -> None:
    """Run `model` as a .tflite on rows state[key] onwards, its outputs into `arrays` in order.

    Flushes and records the rows done in features.json every 200 rows, so a stopped run resumes.
    """
    n = len(next(iter(arrays.values())))
    interp = make_interpreter(export.to_tflite(model, quantization), os.cpu_count())
    inp = interp.get_input_details()[0]["index"]
    outs = [d["index"] for d in sorted(interp.get_output_details(), key=lambda d: d["name"])]
    start, t0 = state[key], time.time()
    for row in range(start, n):
        interp.set_tensor(inp, input_of_row(row))
        interp.invoke()
        for a, idx in zip(arrays.values(), outs, strict=True):
            a[row] = interp.get_tensor(idx)[0].astype(np.float16)
        if (row + 1) % 200 == 0 or row + 1 == n:
            for a in arrays.values():
                a.flush()
            state[key] = row + 1
            state_path.write_text(json.dumps(state))
            if progress:
                rate = (row + 1 - start) / (time.time() - t0)
                print(
                    f"{'+'.join(arrays)} {row + 1}/{n}  {rate:.1f} photos/s  "
                    f"eta {(n - row - 1) / rate / 60:.1f} min",
                    file=sys.stderr,
                    flush=True,
                )


def load(
    cache: Path, taps: tuple[str, ...] | None = None, *, input_size: int = 224
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The cached feature arrays (rows finished so far) and the photo index of each row.

    taps: default the hyper encoder's; a tap added by `extend` must be complete to be loaded.
    """
    folder = feature_dir(cache, input_size)
    if not (folder / "features.json").exists():
        raise ConvertError(
            f"no features cached in {folder}: run `python -m convert.features --cache {cache} "
            f"--weights VGG16_NOTOP.h5{_size_option(input_size)}`"
        )
    state = json.loads((folder / "features.json").read_text())
    _, index = dataset.load(cache)
    if state.get("fingerprint") != index["fingerprint"]:
        raise dataset.StaleCacheError(
            f"{folder}: features of an older version of the cache's photos: run "
            f"`python -m convert.features --cache {cache} --weights {state.get('weights')}"
            f"{_size_option(input_size)}` to start them again"
        )
    done = state["done"]
    arrays = {}
    for k in taps or models.ENCODER_OUTPUTS["hyper"]:
        if k not in models.ENCODER_OUTPUTS["hyper"] and state.get(k, 0) < done:
            stage = next(st for st, (_, out) in models.STAGE_IO.items() if out == k)
            raise ConvertError(
                f"the cache has no complete {k} features: run `python -m convert.features "
                f"--cache {cache} --weights {state.get('weights')}{_size_option(input_size)} "
                f"--extend {stage}`"
            )
        arrays[k] = np.load(folder / f"features_{k}.npy", mmap_mode="r")[:done]
    return arrays, np.load(folder / "order.npy")[:done]


def _size_option(input_size: int) -> str:
    """The --input-size option a command needs for features at input_size (none for the default)."""
    return "" if input_size == models.INPUT_SIZE else f" --input-size {input_size}"


@reports_errors
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m convert.features", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument(
        "--cache", type=Path, required=True, help="cache folder made by convert.dataset"
    )
    ap.add_argument(
        "--weights", required=True, help="ImageNet VGG16 notop .h5 (see shared/weights/README.md)"
    )
    ap.add_argument(
        "--extend",
        choices=("block4",),
        help="after the cache is complete, add this VGG16 block's output (for --finetune-block5)",
    )
    ap.add_argument(
        "--input-size",
        type=int,
        default=224,
        help="side the encoder sees the photos at (a multiple of 16; default 224, VGG16's own; "
        "smaller is faster: 112 costs a quarter)",
    )
    ap.add_argument(
        "--quantization",
        choices=QUANTIZATIONS,
        default="float32",
        help="how the frozen encoder runs: float32 (default) or dynamic (int8 weights, "
        "as the shipped models run; several times faster on CPUs with int8 matrix units)",
    )
    args = ap.parse_args(argv)
    try:
        models.check_input_size(args.input_size)
    except ValueError as e:
        ap.error(str(e))
    if args.extend:
        print(
            {
                args.extend: extend(
                    args.cache, args.weights, args.extend, input_size=args.input_size
                ).shape
            }
        )
        return 0
    arrays, _ = extract(
        args.cache, args.weights, input_size=args.input_size, quantization=args.quantization
    )
    print({k: v.shape for k, v in arrays.items()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
