r"""Prune a trained run's VGG16 to fewer channels, layer by layer, with no training.

Usage:
  python -m convert.prune PRUNED_RUN --from RUN --cache CACHE --ratio 0.5
  python -m convert.train DISTILLED_RUN --cache CACHE --weights VGG16.h5 --finetune-all PRUNED_RUN \
         --distill 1 --epochs 1 --lr 5e-5 --cosine

VGG16 is most of the model's time (the decoder is about 1%), and its cost is the product of
neighbouring layers' widths, so halving the widths inside it quarters most of its layers. Each
conv layer keeps the `ratio` of its output channels that matter most to the next layer (mean
squared activation times the squared norm of the next layer's weights on that channel), and its
weights are solved again by least squares so that, fed the pruned layers before it, it still
gives the original layer's values on the kept channels (the channel-pruning reconstruction of
He et al. 2017, on a sample of training photos). block3_conv3 and block5_conv3 feed the decoder
and keep all their channels, so the run's decoder is reused unchanged. The result is a run folder
like convert.train's (config.json with the widths, model.weights.h5), ready for convert.export,
convert.evaluate, or `convert.train --finetune-all --distill 1` to recover what the pruning lost
(distilling from RUN worked where training on the photos' own chroma did not: docs/experiments.md).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from convert import command, dataset, losses, models, runs  # noqa: E402
from convert.errors import ConvertError, reports_errors  # noqa: E402
from convert.run_config import RunConfig  # noqa: E402

BATCH = 32  # photos per forward pass: bounds the memory of the widest activations


def pruned_widths(ratio: float) -> dict[str, int]:
    """VGG16's widths times `ratio` (a multiple of 8, at least 8),
    the decoder's two taps kept whole."""
    if not 0 < ratio <= 1:
        raise ValueError(f"ratio {ratio}: give a fraction of the channels to keep, in (0, 1]")
    widths = {n: max(8, int(round(w * ratio / 8)) * 8) for n, w in models.VGG16_WIDTHS.items()}
    widths.update(
        block3_conv3=models.VGG16_WIDTHS["block3_conv3"],
        block5_conv3=models.VGG16_WIDTHS["block5_conv3"],
    )
    return models.check_widths(widths)


def macs(widths: dict[str, int], input_size: int) -> int:
    """Multiply-accumulates of a VGG16 conv base with these widths on an input_size photo."""
    total, cin, side = 0, 3, input_size
    for n, w in widths.items():
        total += side * side * 9 * cin * w
        cin = w
        if n in models.BLOCK_ENDS:
            side //= 2
    return total


def _conv(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """3x3 'same' convolution of a batch, without activation, in batches of BATCH photos."""
    import tensorflow as tf

    out = np.empty(x.shape[:3] + (kernel.shape[-1],), np.float32)
    for i in range(0, len(x), BATCH):
        out[i : i + BATCH] = tf.nn.conv2d(x[i : i + BATCH], kernel, 1, "SAME").numpy() + bias
    return out


def _pool(x: np.ndarray) -> np.ndarray:
    n, h, w, c = x.shape
    return x.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def _patches(x: np.ndarray, rows: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """The 3x3 neighbourhoods (zero padded, as 'same') at (photo, i, j) rows,
    flattened as a kernel is."""
    b, i, j = rows
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    d = np.arange(3)
    block = padded[
        b[:, None, None], i[:, None, None] + d[None, :, None], j[:, None, None] + d[None, None, :]
    ]
    return block.reshape(len(b), -1)


def reconstruct(
    student_in: np.ndarray,
    target: np.ndarray,
    positions: int,
    rng: np.random.Generator,
    ridge: float = 1e-4,
) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares 3x3 kernel and bias mapping the pruned input to the original layer's values.

    student_in: (N, H, W, Cin) the pruned network's input to this layer; target: (N, H, W, Cout)
    the original layer's pre-activation values on its kept channels. Fitted on `positions` random
    pixels per photo; `ridge` (relative to the mean diagonal) keeps the solve stable.
    """
    n, h, w, cin = student_in.shape
    per = min(positions, h * w)
    b = np.repeat(np.arange(n), per)
    flat = np.concatenate([rng.choice(h * w, per, replace=False) for _ in range(n)])
    rows = (b, flat // w, flat % w)
    x = np.concatenate(
        [_patches(student_in, rows).astype(np.float64), np.ones((len(b), 1))], axis=1
    )
    y = target[rows].astype(np.float64)
    gram = x.T @ x
    gram[np.diag_indices_from(gram)] += ridge * np.mean(np.diag(gram))
    solved = np.linalg.solve(gram, x.T @ y)
    return solved[:-1].reshape(3, 3, cin, -1).astype(np.float32), solved[-1].astype(np.float32)


def prune_vgg(
    vgg_weights: dict[str, tuple[np.ndarray, np.ndarray]],
    x: np.ndarray,
    widths: dict[str, int],
    positions: int = 48,
    seed: int = 0,
    log=print,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Pruned weights for each conv layer, reconstructed on VGG16 inputs x (N, S, S, 3).

    vgg_weights: the original (kernel, bias) of each conv layer by VGG16 name, in order.
    """
    rng = np.random.default_rng(seed)
    names = list(vgg_weights)
    teacher, student = x, x
    keep_in = np.arange(x.shape[-1])
    pruned = {}
    for k, name in enumerate(names):
        kernel, bias = vgg_weights[name]
        z = _conv(teacher, kernel, bias)  # the original layer, fed the original network
        teacher = np.maximum(z, 0)
        if widths[name] < kernel.shape[-1]:
            nxt = vgg_weights[names[k + 1]][0]
            importance = np.mean(np.square(teacher), axis=(0, 1, 2)) * np.sum(
                np.square(nxt), axis=(0, 1, 3)
            )
            keep = np.sort(np.argsort(importance)[::-1][: widths[name]])
        else:
            keep = np.arange(kernel.shape[-1])
        if len(keep_in) == kernel.shape[2] and len(keep) == kernel.shape[-1]:
            # nothing pruned on either side: the layer stays as it was
            new_kernel, new_bias = (kernel, bias)
        else:
            new_kernel, new_bias = reconstruct(student, z[..., keep], positions, rng)
        out = np.maximum(_conv(student, new_kernel, new_bias), 0)
        err = np.sqrt(np.mean(np.square(out - teacher[..., keep]))) / (
            np.sqrt(np.mean(np.square(teacher[..., keep]))) + 1e-12
        )
        log(
            f"{name}: {kernel.shape[2]}->{kernel.shape[-1]} became {len(keep_in)}->{len(keep)}; "
            f"relative RMS error of its activations {err:.3f}"
        )
        pruned[name] = (new_kernel, new_bias)
        student, keep_in = out, keep
        # block5's pool is after the decoder's tap
        if name in models.BLOCK_ENDS and k < len(names) - 1:
            teacher, student = _pool(teacher), _pool(student)
    return pruned


def _load_prunable(out_dir: Path, from_run: Path) -> tuple[Any, RunConfig]:
    """The run to prune (its inference model holds all the weights, VGG16's too) and its config,
    refused before any work when the pruned run could not reuse its decoder or would overwrite
    a model, or when it is pruned already."""
    if (out_dir / "model.weights.h5").exists():
        raise ConvertError(f"{out_dir} already holds a model; prune into a new folder")
    # all its weights, VGG16's too, are in the run
    teacher, config = runs.load_inference_model(from_run)
    if config.loss not in losses.REGRESSION or config.model != "hyper":
        raise ConvertError(
            f"{from_run}: pruning needs a 'hyper' run with a regression loss "
            "(its decoder is reused)"
        )
    if config.widths:
        raise ConvertError(
            f"{from_run} is pruned already; prune its unpruned run at a smaller ratio instead"
        )
    return teacher, config


def _fit_lumas(crops: np.ndarray, index: dict, photos: int, seed: int, size: int) -> np.ndarray:
    """The luminance of a seeded sample of `photos` training photos, the reconstruction's data:
    training photos only, so the tune split still measures the pruned run fairly."""
    train_rows = np.sort(
        np.random.default_rng(seed).choice(
            np.asarray(index["splits"]["train"]),
            min(photos, len(index["splits"]["train"])),
            replace=False,
        )
    )
    return dataset.lumas(np.asarray(crops[train_rows]), size)


def _pruned_model(teacher: Any, config: RunConfig, widths: dict[str, int], pruned: dict) -> Any:
    """The narrower inference model with the pruned VGG16 weights and the teacher's decoder,
    unchanged: the decoder's taps kept all their channels, so it fits as it was."""
    head = "regression"
    encoder, decoder, _ = models.build(
        "hyper",
        weights=None,
        chroma_size=config.chroma_size,
        head=head,
        last_activation=config.last_activation,
        input_size=config.input_size,
        widths=widths,
    )
    model = models.build_inference_model(encoder, decoder, head)
    for n, kb in pruned.items():
        models.find_layer(model, n).set_weights(list(kb))
    decoder.set_weights(teacher.get_layer(f"hyper_{head}_decoder").get_weights())
    return model


def _uv_rmse_vs_unpruned(
    model: Any, teacher: Any, crops: np.ndarray, index: dict, size: int
) -> tuple[float, int]:
    """(chroma RMSE of the pruned model against the unpruned one, photos it was measured on): on
    up to 200 tune photos, what the pruning cost before any distillation recovers it."""
    tune = np.asarray(index["splits"]["tune"])[:200]
    tune_y = dataset.lumas(np.asarray(crops[np.sort(tune)]), size)
    uv_rmse = float(
        np.sqrt(
            np.mean(
                np.square(model.predict(tune_y, verbose=0) - teacher.predict(tune_y, verbose=0))
            )
        )
    )
    return uv_rmse, len(tune_y)


def prune_run(
    out_dir: Path,
    from_run: Path,
    cache: Path,
    ratio: float,
    photos: int = 800,
    positions: int = 48,
    seed: int = 0,
) -> RunConfig:
    """Prune `from_run`'s encoder into a new run folder `out_dir`;
    returns its config (the figures in its record)."""
    import keras

    started = time.time()
    out_dir = Path(out_dir)
    teacher, config = _load_prunable(out_dir, from_run)
    widths = pruned_widths(ratio)
    size = config.input_size
    crops, index = dataset.load(cache)
    ys = _fit_lumas(crops, index, photos, seed, size)
    y_in = keras.Input(ys.shape[1:])
    x = np.asarray(
        keras.Model(y_in, models.luma_to_vgg(y_in)).predict(ys, batch_size=BATCH, verbose=0),
        np.float32,
    )
    original = {n: tuple(models.find_layer(teacher, n).get_weights()) for n in models.VGG16_WIDTHS}
    print(
        f"pruning {from_run} at ratio {ratio} on {len(ys)} training photos at {size}x{size}",
        file=sys.stderr,
    )
    pruned = prune_vgg(
        original, x, widths, positions, seed, log=lambda m: print(m, file=sys.stderr)
    )

    model = _pruned_model(teacher, config, widths, pruned)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_weights(out_dir / "model.weights.h5")

    uv_rmse, tune_photos = _uv_rmse_vs_unpruned(model, teacher, crops, index, size)
    full = models.VGG16_WIDTHS
    pruned_config = dataclasses.replace(
        config, widths=widths, pruned_from=Path(from_run).resolve()
    ).with_record(
        prune_ratio=ratio,
        prune_photos=len(ys),
        prune_positions=positions,
        prune_seed=seed,
        prune_seconds=round(time.time() - started, 1),
        encoder_macs=macs(widths, size),
        unpruned_encoder_macs=macs(full, size),
        prune_uv_rmse_vs_unpruned=round(uv_rmse, 5),
    )
    runs.write_config(out_dir, pruned_config)
    print(
        f"encoder: {macs(widths, size) / 1e9:.2f} G multiply-adds "
        f"(unpruned {macs(full, size) / 1e9:.2f} G); "
        f"chroma RMSE against the unpruned model on {tune_photos} tune photos: {uv_rmse:.4f}",
        file=sys.stderr,
    )
    return pruned_config


@reports_errors
def main(argv: list[str] | None = None) -> int:
    ap = command.parser("convert.prune", __doc__)
    ap.add_argument("run_dir", type=Path, help="new folder for the pruned run")
    ap.add_argument(
        "--from",
        dest="from_run",
        type=Path,
        required=True,
        help="the trained run to prune ('hyper' model, regression loss)",
    )
    ap.add_argument(
        "--cache",
        type=Path,
        required=True,
        help="the dataset cache (convert.dataset): its training photos",
    )
    ap.add_argument(
        "--ratio",
        type=float,
        default=0.5,
        help="fraction of each inner layer's channels kept (default 0.5)",
    )
    ap.add_argument(
        "--photos", type=int, default=800, help="training photos the reconstruction is fitted on"
    )
    ap.add_argument(
        "--positions", type=int, default=48, help="pixels per photo per layer in the fit"
    )
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if not 0 < args.ratio <= 1:
        ap.error(f"--ratio {args.ratio}: give a fraction in (0, 1]")
    print(
        json.dumps(
            prune_run(
                args.run_dir,
                args.from_run,
                args.cache,
                args.ratio,
                args.photos,
                args.positions,
                args.seed,
            ).to_json()
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
