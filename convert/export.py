"""Keras -> SavedModel -> .tflite in each quantization, checked against the float model.

The route that works with Keras 3 (shared/docs/tflite.md): `model.export(..., "tf_saved_model")`
then `TFLiteConverter.from_saved_model`. Quantizations:
  float32   no quantization (the reference)
  dynamic   int8 weights, float activations (dynamic range)
  int8      int8 weights and activations, float input/output (needs representative data)
  int16x8   int16 activations, int8 weights (LiteRT's advice for image-to-image regression)
  float16   float16 weights
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from convert import dataset, runs  # noqa: E402
from convert import hints as hints_module  # noqa: E402
from convert.errors import reports_errors  # noqa: E402
from convert.run_config import RunConfig  # noqa: E402

QUANTIZATIONS = ("float32", "dynamic", "int8", "int16x8", "float16")


def to_tflite(
    model, quantization: str, representative: Callable[[], Iterable[np.ndarray]] | None = None
) -> bytes:
    """Convert a Keras model to .tflite bytes in `quantization`: one (1, H, W, C) input, or a hint
    model's two, [luminance, hints] (calibration then sees empty hints)."""
    import tensorflow as tf

    if quantization not in QUANTIZATIONS:
        raise ValueError(f"unknown quantization {quantization!r}: choose from {QUANTIZATIONS}")
    if quantization in ("int8", "int16x8") and representative is None:
        raise ValueError(f"{quantization} quantization needs representative inputs for calibration")
    specs = [tf.TensorSpec([1] + list(t.shape[1:]), tf.float32, name=t.name) for t in model.inputs]
    with tempfile.TemporaryDirectory() as tmp:
        model.export(
            tmp,
            format="tf_saved_model",
            verbose=False,
            input_signature=[specs] if len(specs) > 1 else specs,
        )
        conv = tf.lite.TFLiteConverter.from_saved_model(tmp)
        if quantization != "float32":
            conv.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantization == "float16":
            conv.target_spec.supported_types = [tf.float16]
        if quantization == "int8":
            conv.representative_dataset = lambda: (_calibration(x, specs) for x in representative())
            conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if quantization == "int16x8":
            conv.representative_dataset = lambda: (_calibration(x, specs) for x in representative())
            conv.target_spec.supported_ops = [
                tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
            ]
        return conv.convert()


def _calibration(y: np.ndarray, specs) -> list[np.ndarray]:
    """One calibration sample: the luminance, and empty hints for a hint model's second input."""
    return [np.asarray(y, np.float32)] + [np.zeros(s.shape, np.float32) for s in specs[1:]]


def run_tflite(
    model_bytes: bytes | Path, inputs: np.ndarray, threads: int = 2, hints: np.ndarray | None = None
) -> list[np.ndarray]:
    """Run a .tflite on a batch of inputs, one at a time;
    returns each output stacked over the batch.

    hints: a hint model's hint grids, one per input (None: empty hints)."""
    from colorize_core.model import make_interpreter, split_inputs

    interp = make_interpreter(model_bytes, threads)
    inp, hint_in = split_inputs(interp.get_input_details(), (1,) + tuple(np.shape(inputs)[1:]))
    outs = sorted(interp.get_output_details(), key=lambda d: d["name"])
    results: list[list[np.ndarray]] = [[] for _ in outs]
    for i, x in enumerate(inputs):
        interp.set_tensor(inp["index"], np.asarray(x, np.float32)[None])
        if hint_in is not None:
            h = np.zeros(hint_in["shape"][1:], np.float32) if hints is None else hints[i]
            interp.set_tensor(hint_in["index"], np.asarray(h, np.float32)[None])
        interp.invoke()
        for r, d in zip(results, outs, strict=True):
            r.append(interp.get_tensor(d["index"])[0].copy())
    return [np.stack(r) for r in results]


def write_model(tflite: bytes, path: Path, **card: Any) -> dict:
    """Write `path` (.tflite) and its model card (.json) beside it, checked as the runtime reads it;
    returns the card. `card`: colorize_core.card.new_card's keyword arguments (name, sizes, ...)."""
    from colorize_core.card import new_card, write_card

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(tflite)
    written = new_card(tflite, path.name, **card)
    write_card(path, written)
    return written


def fidelity(
    float_model, tflite: bytes, luma_inputs: np.ndarray, hints: np.ndarray | None = None
) -> dict:
    """How far a converted model strays from the float Keras model on real inputs.

    Reports the UV RMSE and max error, and the PSNR (8-bit RGB) between the colorizations the
    two produce at the model's input size: a direct reading of "within 0.2 dB" style targets.
    hints: a hint model's hint grids for the inputs.
    """
    from colorize_core.color import merge

    ref = np.asarray(
        float_model.predict(luma_inputs if hints is None else [luma_inputs, hints], verbose=0)
    )
    got = run_tflite(tflite, luma_inputs, hints=hints)[0]

    def rgb(y, uv):
        return np.round(merge(y[..., 0], uv) * 255)

    mse = np.mean(
        [
            np.mean((rgb(y, a) - rgb(y, b)) ** 2)
            for y, a, b in zip(luma_inputs, ref, got, strict=True)
        ]
    )
    return {
        "uv_rmse": float(np.sqrt(np.mean((ref - got) ** 2))),
        "uv_max_error": float(np.abs(ref - got).max()),
        "psnr_vs_float_db": float(10 * np.log10(255**2 / mse)) if mse > 0 else float("inf"),
    }


def _add_quantization_arguments(ap: argparse.ArgumentParser) -> None:
    """Which quantization to write, which others to report, on how many photos: what the
    conversion does, apart from what the card says."""
    ap.add_argument(
        "--quantization", default="dynamic", choices=QUANTIZATIONS, help="the one to write"
    )
    ap.add_argument(
        "--compare",
        nargs="*",
        default=[],
        choices=QUANTIZATIONS,
        help="also convert and check these (report only)",
    )
    ap.add_argument(
        "--check-photos", type=int, default=32, help="tune photos for the fidelity check"
    )


def _add_readout_arguments(ap: argparse.ArgumentParser) -> None:
    """The card's fields: how the runtime reads the model's output (gain, hint spread, a
    classification run's temperature and prior correction), chosen on the tune split."""
    ap.add_argument(
        "--card-extra", type=Path, help="JSON with more card fields (architecture, terms, ...)"
    )
    ap.add_argument(
        "--output-gain",
        type=float,
        default=1.0,
        help="saturation calibration written to the card (uv = output * gain); "
        "choose it on the tune split",
    )
    ap.add_argument(
        "--hint-spread",
        type=float,
        nargs=2,
        metavar=("REACH", "EDGE"),
        help="a hint model: spread the hints' corrections at runtime with these parameters "
        "(colorize_core.hints.propagate; choose them on the tune split)",
    )
    ap.add_argument(
        "--temperature",
        type=float,
        help="annealed-mean temperature of a classification run "
        "(default 0.38; higher is less saturated)",
    )
    ap.add_argument(
        "--prior-correction",
        type=float,
        default=0.0,
        metavar="ALPHA",
        help="a classification run's read-out divides the predicted distribution by its "
        "rebalancing weights to this power first: 0 (default) none, 1 all (at temperature 1: "
        "the least-squares colour)",
    )


def _parser() -> argparse.ArgumentParser:
    """The command line: the run, where the model goes, which quantization,
    the read-out's settings."""
    ap = argparse.ArgumentParser(
        prog="python -m convert.export",
        description="Convert a trained run to .tflite in each quantization, check each "
        "against the float model on tune photos, write the chosen one with "
        "its model card.",
    )
    ap.add_argument("run_dir", type=Path, help="a run folder made by convert.train")
    ap.add_argument(
        "--weights", help="the ImageNet VGG16 .h5 the run was trained with (frozen-encoder runs)"
    )
    ap.add_argument(
        "--out",
        type=Path,
        required=True,
        help="the .tflite to write (its .json card goes beside it)",
    )
    ap.add_argument("--name", required=True, help="model name for the card")
    _add_quantization_arguments(ap)
    _add_readout_arguments(ap)
    return ap


def card_training(config: RunConfig, temperature: float | None, prior_correction: float) -> dict:
    """The card's record of how the model was made: the run's config.json and the read-out chosen
    at export, without machine paths (the cache is dropped, the runs a run started from named
    by folder)."""
    training = {k: v for k, v in config.to_json().items() if k != "cache"}
    if temperature:
        training["annealed_mean_temperature"] = temperature
    if prior_correction:
        training["prior_correction"] = prior_correction
    for key in ("finetune_from", "pruned_from", "distill_from"):
        if isinstance(training.get(key), list):
            training[key] = [Path(v).name for v in training[key]]
        elif training.get(key) is not None:
            training[key] = Path(training[key]).name
    return training


def check_inputs(
    model, config: RunConfig, photos: int
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """(the luminance of `photos` tune photos, a hint model's hints for them, 100 training photos'
    luminance for calibration), at the model's input size. A hint model is checked with the hints it
    trained on, drawn from the tune photos' chroma."""
    crops, index = dataset.load(Path(config.cache))
    tune = np.asarray(index["splits"]["tune"])[: max(photos, 1)]
    size = int(model.inputs[0].shape[1])
    tune_crops = np.asarray(crops[np.sort(tune)])
    hint_grids = (
        hints_module.simulate_batch(
            dataset.chroma_targets(tune_crops, config.chroma_size), np.random.default_rng(0)
        )
        if config.hints
        else None
    )
    calib = np.asarray(crops[np.asarray(index["splits"]["train"])[:100]])
    return dataset.lumas(tune_crops, size), hint_grids, dataset.lumas(calib, size)


def convert_and_check(
    model,
    quantizations: list[str],
    ys: np.ndarray,
    hint_grids: np.ndarray | None,
    calib_y: np.ndarray,
) -> tuple[dict, dict[str, bytes]]:
    """Each quantization converted once and checked against the float model:
    (report, .tflite bytes)."""
    import json
    import sys
    import time

    report, converted = {}, {}
    for q in dict.fromkeys(quantizations):
        t0 = time.time()
        converted[q] = to_tflite(model, q, representative=lambda: (y[None] for y in calib_y))
        report[q] = {
            "size_bytes": len(converted[q]),
            "convert_seconds": round(time.time() - t0, 1),
            **fidelity(model, converted[q], ys, hint_grids),
        }
        print(q, json.dumps(report[q]), file=sys.stderr)
    return report, converted


@reports_errors
def main(argv: list[str] | None = None) -> int:
    import json

    ap = _parser()
    args = ap.parse_args(argv)
    if args.temperature is not None and not (
        np.isfinite(args.temperature) and args.temperature > 0
    ):
        ap.error(f"--temperature must be a positive number, got {args.temperature}")
    if not 0.0 <= args.prior_correction <= 1.0:  # also refuses NaN
        ap.error(f"--prior-correction must be between 0 and 1, got {args.prior_correction}")
    try:
        model, config = runs.load_inference_model(
            args.run_dir, args.weights, args.temperature, args.prior_correction
        )
    except ValueError as e:
        ap.error(str(e))
    ys, hint_grids, calib_y = check_inputs(model, config, args.check_photos)
    report, converted = convert_and_check(
        model, [args.quantization] + args.compare, ys, hint_grids, calib_y
    )
    extra = json.loads(args.card_extra.read_text()) if args.card_extra else {}
    extra.setdefault("training", {}).update(
        card_training(config, args.temperature, args.prior_correction)
    )
    extra["quantization_check"] = report
    card = write_model(
        converted[args.quantization],
        args.out,
        name=args.name,
        input_size=int(model.inputs[0].shape[1]),
        chroma_size=config.chroma_size,
        quantization=args.quantization,
        output_gain=args.output_gain,
        hints=config.hints,
        hint_spread=tuple(args.hint_spread) if args.hint_spread else None,
        extra=extra,
    )
    print(
        json.dumps(
            {"wrote": str(args.out), "sha256": card["sha256"], "quantizations": report}, indent=2
        )
    )
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
